// SPDX-License-Identifier: Apache-2.0
/*
 * Container runtime clients over unix sockets with libcurl. Docker: GET
 * /containers/<id>/json, the name is "Name" without its leading '/'. CRI
 * (containerd, CRI-O: what Kubernetes runs): the gRPC call
 * runtime.v1.RuntimeService/ContainerStatus over HTTP/2, with a minimal
 * protobuf reader for the few fields needed; the name is rebuilt as
 * dockershim did, k8s_<container>_<pod>_<namespace>_<pod uid>_<restarts>,
 * as gProfiler does.
 */
#include "containers.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "xalloc.h"

#define MAX_ENTRIES 1024
#define RETRY_DOWN_S 60

struct entry {
	char id[65];
	char *name;
	time_t when;
};

struct containers {
	char **sockets;
	char **cri_sockets;
	struct entry *e;
	size_t n;
	time_t down_until;
	char **seen;
	size_t nseen, seen_cap;
};

static const char *const default_sockets[] = {
	"/var/run/docker.sock",
	"/run/docker.sock",
	"/proc/1/root/var/run/docker.sock",
	NULL,
};

static const char *const default_cri_sockets[] = {
	"/run/containerd/containerd.sock",
	"/var/run/crio/crio.sock",
	"/proc/1/root/run/containerd/containerd.sock",
	"/proc/1/root/var/run/crio/crio.sock",
	NULL,
};

static char **copy_list(const char *const *paths, const char *env)
{
	const char *one[2] = { env, NULL };
	size_t n = 0;
	char **out;

	if (env && env[0])
		paths = one;
	while (paths[n])
		n++;
	out = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(paths[i]);
	return out;
}

struct containers *containers__new(const char *const *paths)
{
	struct containers *c = xcalloc(1, sizeof(*c));

	/* GPROFILER_DOCKER_SOCKET / GPROFILER_CRI_SOCKET: runtimes listening
	 * elsewhere (rootless Docker, k3s...) */
	c->sockets = copy_list(paths ? paths : default_sockets,
			       paths ? NULL : getenv("GPROFILER_DOCKER_SOCKET"));
	c->cri_sockets = copy_list(paths ? (const char *const[]){ NULL } : default_cri_sockets,
				   paths ? NULL : getenv("GPROFILER_CRI_SOCKET"));
	c->e = xcalloc(MAX_ENTRIES, sizeof(*c->e));
	return c;
}

struct containers *containers__free(struct containers *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; c->sockets[i]; i++)
		free(c->sockets[i]);
	free(c->sockets);
	for (size_t i = 0; c->cri_sockets[i]; i++)
		free(c->cri_sockets[i]);
	free(c->cri_sockets);
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].name);
	free(c->e);
	for (size_t i = 0; i < c->nseen; i++)
		free(c->seen[i]);
	free(c->seen);
	free(c);
	return NULL;
}

struct buf {
	char *p;
	size_t n;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t len = size * nmemb;

	if (b->n + len > (1 << 20))
		return 0;	/* a container's JSON is small: refuse floods */
	b->p = xrealloc(b->p, b->n + len + 1);
	memcpy(b->p + b->n, ptr, len);
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

/* Returns the name (malloc'd), "" when the runtime does not know the id,
 * or NULL when no runtime answered. */
static char *ask_docker(struct containers *c, const char *id)
{
	for (size_t i = 0; c->sockets[i]; i++) {
		struct stat st;
		struct buf b = { NULL, 0 };
		char url[128];
		long code = 0;
		CURL *h;
		CURLcode rc;

		if (stat(c->sockets[i], &st) || !S_ISSOCK(st.st_mode))
			continue;
		h = curl_easy_init();
		if (!h)
			return NULL;
		snprintf(url, sizeof(url), "http://localhost/containers/%s/json", id);
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sockets[i]);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
		rc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(h);
		if (rc != CURLE_OK) {
			free(b.p);
			continue;
		}
		char *name = NULL;

		if (code == 200 && b.p) {
			json_t *js = json_loads(b.p, 0, NULL);
			const char *n = json_string_value(json_object_get(js, "Name"));

			if (n)
				name = xstrdup(n[0] == '/' ? n + 1 : n);
			json_decref(js);
		}
		free(b.p);
		return name ? name : xstrdup("");
	}
	return NULL;
}

/* ---- CRI: gRPC over HTTP/2, protobuf by hand ---- */

struct pb {
	const uint8_t *p, *end;
};

static bool pb_varint(struct pb *b, uint64_t *ret)
{
	uint64_t v = 0;

	for (int shift = 0; b->p < b->end && shift < 64; shift += 7) {
		uint8_t byte = *b->p++;

		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

/* Next field: its number, wire type, and for length-delimited fields the
 * bytes. Returns false at the end or on malformed input. */
static bool pb_next(struct pb *b, uint32_t *ret_field, struct pb *ret_bytes, uint64_t *ret_v)
{
	uint64_t key, len;

	if (b->p >= b->end || !pb_varint(b, &key))
		return false;
	*ret_field = (uint32_t)(key >> 3);
	ret_bytes->p = ret_bytes->end = NULL;
	switch (key & 7) {
	case 0:
		return pb_varint(b, ret_v);
	case 1:
		if (b->end - b->p < 8)
			return false;
		b->p += 8;
		return true;
	case 5:
		if (b->end - b->p < 4)
			return false;
		b->p += 4;
		return true;
	case 2:
		if (!pb_varint(b, &len) || len > (uint64_t)(b->end - b->p))
			return false;
		ret_bytes->p = b->p;
		ret_bytes->end = b->p + len;
		b->p += len;
		return true;
	default:
		return false;
	}
}

static bool pb_str_eq(const struct pb *s, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(s->end - s->p) == n && !memcmp(s->p, lit, n);
}

/* Value of key in a map<string,string> entry list's entry e. */
static bool map_entry(struct pb e, const char *key, struct pb *ret_value)
{
	struct pb k = { NULL, NULL }, v = { NULL, NULL }, f;
	uint32_t field;
	uint64_t x;

	while (pb_next(&e, &field, &f, &x)) {
		if (field == 1)
			k = f;
		else if (field == 2)
			v = f;
	}
	if (!k.p || !pb_str_eq(&k, key))
		return false;
	*ret_value = v;
	return true;
}

/* ContainerStatus -> the dockershim-style name, or NULL. */
static char *cri_name(struct pb status)
{
	static const char *const keys[] = { "io.kubernetes.container.name", "io.kubernetes.pod.name",
					    "io.kubernetes.pod.namespace", "io.kubernetes.pod.uid",
					    "io.kubernetes.container.restartCount" };
	struct pb vals[5] = { { NULL, NULL } }, f;
	uint32_t field;
	uint64_t x;
	char *name;
	size_t len = 4;

	while (pb_next(&status, &field, &f, &x)) {
		if (field != 12 && field != 13)	/* labels, annotations */
			continue;
		for (int i = 0; i < 5; i++)
			if (!vals[i].p)
				map_entry(f, keys[i], &vals[i]);
	}
	for (int i = 0; i < 5; i++) {
		if (!vals[i].p)
			return NULL;	/* not a Kubernetes container */
		len += (size_t)(vals[i].end - vals[i].p) + 1;
	}
	name = xmalloc(len + 1);
	strcpy(name, "k8s");
	for (int i = 0; i < 5; i++) {
		size_t n = strlen(name);

		name[n] = '_';
		memcpy(name + n + 1, vals[i].p, (size_t)(vals[i].end - vals[i].p));
		name[n + 1 + (vals[i].end - vals[i].p)] = '\0';
	}
	return name;
}

/* gRPC puts its status in the trailers: "grpc-status: 12" (UNIMPLEMENTED)
 * means this API version is not served. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	int *status = arg;
	size_t len = size * nmemb;

	if (len > 12 && !strncasecmp(ptr, "grpc-status:", 12))
		*status = atoi(ptr + 12);
	return len;
}

static char *ask_cri_at(const char *sock, const char *api, const char *id, bool *ret_answered)
{
	int grpc_status = -1;
	uint8_t req[5 + 2 + 64];
	size_t idlen = strlen(id);
	struct buf b = { NULL, 0 };
	struct curl_slist *hdr = NULL;
	char url[128], *name = NULL;
	long code = 0;
	CURL *h;
	CURLcode rc;

	*ret_answered = false;
	if (idlen > 64)
		return NULL;
	/* gRPC frame: uncompressed, big-endian length, then
	 * ContainerStatusRequest{container_id = 1} */
	req[0] = 0;
	req[1] = req[2] = req[3] = 0;
	req[4] = (uint8_t)(2 + idlen);
	req[5] = 0x0a;
	req[6] = (uint8_t)idlen;
	memcpy(req + 7, id, idlen);
	h = curl_easy_init();
	if (!h)
		return NULL;
	snprintf(url, sizeof(url), "http://localhost/runtime.%s.RuntimeService/ContainerStatus", api);
	hdr = curl_slist_append(hdr, "Content-Type: application/grpc");
	hdr = curl_slist_append(hdr, "TE: trailers");
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(7 + idlen));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &grpc_status);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	if (rc == CURLE_OK && code == 200 && grpc_status != 12) {
		*ret_answered = true;
		if (b.n > 5) {
			struct pb msg = { (uint8_t *)b.p + 5, (uint8_t *)b.p + b.n }, f;
			uint32_t field;
			uint64_t x;

			while (pb_next(&msg, &field, &f, &x))
				if (field == 1)	/* status */
					name = cri_name(f);
		}
	}
	free(b.p);
	return name;
}

/* Like ask_docker, for the CRI runtimes. */
static char *ask_cri(struct containers *c, const char *id)
{
	bool any = false;

	for (size_t i = 0; c->cri_sockets[i]; i++) {
		struct stat st;

		if (stat(c->cri_sockets[i], &st) || !S_ISSOCK(st.st_mode))
			continue;
		for (int v = 0; v < 2; v++) {
			bool answered;
			char *name = ask_cri_at(c->cri_sockets[i], v ? "v1alpha2" : "v1", id, &answered);

			any |= answered;
			if (name)
				return name;
			if (answered)
				break;
		}
	}
	return any ? xstrdup("") : NULL;
}

static void note_seen(struct containers *c, const char *name)
{
	if (!name[0])
		return;
	for (size_t i = 0; i < c->nseen; i++)
		if (!strcmp(c->seen[i], name))
			return;
	xgrow((void **)&c->seen, &c->seen_cap, c->nseen + 2, sizeof(char *));
	c->seen[c->nseen++] = xstrdup(name);
	c->seen[c->nseen] = NULL;
}

const char *containers__name(struct containers *c, const char *id)
{
	time_t now = time(NULL);
	struct entry *slot = NULL;
	char *name;

	if (!id || strlen(id) != 64)
		return "";
	for (size_t i = 0; i < c->n; i++) {
		if (!strcmp(c->e[i].id, id)) {
			/* unknown names are asked again after a while */
			if (c->e[i].name[0] || now - c->e[i].when < RETRY_DOWN_S) {
				note_seen(c, c->e[i].name);
				return c->e[i].name;
			}
			slot = &c->e[i];
			break;
		}
	}
	if (now < c->down_until)
		return "";
	name = ask_docker(c, id);
	if (!name || !name[0]) {
		char *cri = ask_cri(c, id);

		if (cri) {
			free(name);
			name = cri;
		}
	}
	if (!name) {
		c->down_until = now + RETRY_DOWN_S;
		return "";
	}
	if (!slot) {
		if (c->n < MAX_ENTRIES) {
			slot = &c->e[c->n++];
		} else {
			slot = &c->e[0];
			for (size_t i = 1; i < c->n; i++)
				if (c->e[i].when < slot->when)
					slot = &c->e[i];
		}
	}
	free(slot->name);
	memcpy(slot->id, id, 65);
	slot->name = name;
	slot->when = now;
	note_seen(c, name);
	return name;
}

const char *const *containers__seen(struct containers *c, size_t *ret_n)
{
	static const char *const none[] = { NULL };

	*ret_n = c->nseen;
	return c->seen ? (const char *const *)c->seen : none;
}

void containers__reset_seen(struct containers *c)
{
	for (size_t i = 0; i < c->nseen; i++)
		free(c->seen[i]);
	c->nseen = 0;
	if (c->seen)
		c->seen[0] = NULL;
}
