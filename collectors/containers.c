// SPDX-License-Identifier: Apache-2.0
/*
 * Docker API client over a unix socket with libcurl: GET
 * /containers/<id>/json, and the name is "Name" without its leading '/'.
 */
#include "containers.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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

struct containers *containers__new(const char *const *paths)
{
	struct containers *c = xcalloc(1, sizeof(*c));
	size_t n = 0;

	if (!paths)
		paths = default_sockets;
	while (paths[n])
		n++;
	c->sockets = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c->sockets[i] = xstrdup(paths[i]);
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
