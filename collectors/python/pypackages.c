// SPDX-License-Identifier: Apache-2.0
/*
 * Package tags for Python files; see pypackages.h. Follows what gProfiler
 * reads through pkg_resources: a distribution's name from the "Name:"
 * header of METADATA (dist-info) or PKG-INFO (egg-info; without metadata
 * the distribution is skipped), its version from the directory name
 * ("requests-2.31.0.dist-info") or else the "Version:" header, its files
 * from RECORD (first CSV column) or installed-files.txt (relative to the
 * egg-info directory), each normalized as pathlib does and joined to the
 * packages directory. Lookups go through one hash table per directory.
 */
#include "pypackages.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procinfo.h"
#include "pyappid.h"
#include "xalloc.h"

#define MAX_DIRS 32
#define MAX_FILES_PER_DIR (1u << 18)
#define MAX_META_FILE (16u << 20)
#define MAX_BYTES (64u << 20)	/* all tables of one pypackages */

struct entry {
	char *path;		/* NULL: free slot */
	uint32_t tag;		/* index into dir.tags */
};

struct pkgdir {
	char *dir;		/* as the process sees it, ending in '/' */
	struct entry *tab;	/* open addressing, cap a power of two */
	size_t cap, n;
	char **tags;
	size_t ntags, tags_cap;
};

struct pypackages {
	int pid;
	char *stdlib_tag;
	struct pkgdir dirs[MAX_DIRS];
	size_t ndirs;
	size_t bytes;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct pypackages *pypackages__new(int pid, const char *python_version)
{
	struct pypackages *p = xcalloc(1, sizeof(*p));

	p->pid = pid;
	if (python_version && *python_version)
		p->stdlib_tag = xasprintf("standard-library==%s", python_version);
	return p;
}

struct pypackages *pypackages__free(struct pypackages *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->ndirs; i++) {
		struct pkgdir *d = &p->dirs[i];

		for (size_t k = 0; k < d->cap; k++)
			free(d->tab[k].path);
		free(d->tab);
		for (size_t k = 0; k < d->ntags; k++)
			free(d->tags[k]);
		free(d->tags);
		free(d->dir);
	}
	free(p->stdlib_tag);
	free(p);
	return NULL;
}

static void table_put(struct pypackages *p, struct pkgdir *d, char *path, uint32_t tag)
{
	size_t i;

	if (d->n >= MAX_FILES_PER_DIR || p->bytes > MAX_BYTES) {
		free(path);
		return;
	}
	if ((d->n + 1) * 2 > d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 1024;
		struct entry *nt = xcalloc(ncap, sizeof(*nt));

		for (size_t k = 0; k < d->cap; k++) {
			if (!d->tab[k].path)
				continue;
			for (i = hash_str(d->tab[k].path) & (ncap - 1); nt[i].path; i = (i + 1) & (ncap - 1))
				;
			nt[i] = d->tab[k];
		}
		p->bytes += (ncap - d->cap) * sizeof(*nt);
		free(d->tab);
		d->tab = nt;
		d->cap = ncap;
	}
	for (i = hash_str(path) & (d->cap - 1); d->tab[i].path; i = (i + 1) & (d->cap - 1))
		if (!strcmp(d->tab[i].path, path)) {
			/* a later distribution listing the file wins, as dict.update */
			d->tab[i].tag = tag;
			free(path);
			return;
		}
	d->tab[i].path = path;
	d->tab[i].tag = tag;
	d->n++;
	p->bytes += strlen(path) + 1;
}

static const char *table_get(const struct pkgdir *d, const char *path)
{
	if (!d->cap)
		return NULL;
	for (size_t i = hash_str(path) & (d->cap - 1); d->tab[i].path; i = (i + 1) & (d->cap - 1))
		if (!strcmp(d->tab[i].path, path))
			return d->tags[d->tab[i].tag];
	return NULL;
}

/* pathlib's str(Path(s)): no empty or "." components, no trailing '/'
 * ("" becomes "."). ".." is kept. Caller frees. */
static char *normalize(const char *s, size_t n)
{
	char *out = xmalloc(n + 2);
	size_t o = 0;
	bool abs = n && s[0] == '/';

	if (abs)
		out[o++] = '/';
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && s[j] != '/')
			j++;
		if (j > i && !(j - i == 1 && s[i] == '.')) {
			if (o && out[o - 1] != '/')
				out[o++] = '/';
			memcpy(out + o, s + i, j - i);
			o += j - i;
		}
		i = j + 1;
	}
	if (!o)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

/* The value of header name ("Name") in RFC 822 metadata text; caller
 * frees; NULL when absent. Only the header block (up to a blank line). */
static char *header(const char *text, const char *name)
{
	size_t nl = strlen(name);

	for (const char *line = text; *line && *line != '\n';) {
		const char *end = strchrnul(line, '\n');

		if ((size_t)(end - line) > nl && !strncasecmp(line, name, nl) && line[nl] == ':') {
			const char *v = line + nl + 1;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			size_t len = end - v;

			while (len && (v[len - 1] == '\r' || v[len - 1] == ' '))
				len--;
			return xstrndup(v, len);
		}
		line = *end ? end + 1 : end;
	}
	return NULL;
}

static char *read_meta(const char *host_dir, const char *dist, const char *file)
{
	char *path = xasprintf("%s/%s/%s", host_dir, dist, file);
	char *text = proc_read_file(path, MAX_META_FILE, NULL);

	free(path);
	return text;
}

/* Adds the files of one distribution directory. */
static void load_dist(struct pypackages *p, struct pkgdir *d, const char *host_dir, const char *dist)
{
	size_t len = strlen(dist);
	bool distinfo = len > 10 && !strcasecmp(dist + len - 10, ".dist-info");
	char *meta, *name = NULL, *version = NULL, *files;
	bool legacy = false;
	const char *dash;
	uint32_t tag;

	meta = read_meta(host_dir, dist, distinfo ? "METADATA" : "PKG-INFO");
	if (!meta && distinfo)
		meta = read_meta(host_dir, dist, "PKG-INFO");
	if (!meta)
		return;		/* no metadata: gProfiler skips it */
	name = header(meta, "Name");
	/* "<name>-<version>[-pyX.Y[-plat]].<ext>" */
	dash = memchr(dist, '-', len);
	if (dash && dash > dist) {
		const char *v = dash + 1, *e = v;

		while (*e && *e != '-' && e < dist + len - (distinfo ? 10 : 9))
			e++;
		if (e > v)
			version = xstrndup(v, e - v);
	}
	if (!version)
		version = header(meta, "Version");
	if (!name) {
		/* no Name: header: pkg_resources' project name (before '-') */
		name = xstrndup(dist, dash ? (size_t)(dash - dist) : len - (distinfo ? 10 : 9));
	}
	free(meta);
	if (!version || !*name) {
		free(name);
		free(version);
		return;
	}
	files = read_meta(host_dir, dist, "RECORD");
	if (!files) {
		files = read_meta(host_dir, dist, "installed-files.txt");
		legacy = files != NULL;
	}
	if (!files) {
		free(name);
		free(version);
		return;
	}
	xgrow((void **)&d->tags, &d->tags_cap, d->ntags + 1, sizeof(char *));
	tag = d->ntags;
	d->tags[d->ntags++] = xasprintf("%s==%s", name, version);
	free(name);
	free(version);
	for (char *line = files; *line;) {
		char *end = strchrnul(line, '\n'), *field = line, *rel, *full;
		size_t n;

		if (legacy) {
			n = end - line;
			while (n && line[n - 1] == '\r')
				n--;
		} else if (*line == '"') {
			/* a quoted CSV field ("" is a quote) */
			char *q = xmalloc(end - line + 1);
			size_t o = 0;
			const char *s = line + 1;

			for (; s < end; s++) {
				if (*s == '"' && s + 1 < end && s[1] == '"')
					q[o++] = '"', s++;
				else if (*s == '"')
					break;
				else
					q[o++] = *s;
			}
			q[o] = '\0';
			field = q;
			n = o;
		} else {
			char *comma = memchr(line, ',', end - line);

			n = (comma ? comma : end) - line;
		}
		if (n) {
			if (legacy) {
				/* relative to the egg-info directory: a leading ".."
				 * climbs out of it into the packages directory */
				rel = normalize(field, n);
				if (!strncmp(rel, "../", 3)) {
					char *t = xstrdup(rel + 3);

					free(rel);
					rel = t;
				} else {
					char *t = xasprintf("%s/%s", dist, rel);

					free(rel);
					rel = t;
				}
			} else {
				rel = normalize(field, n);
			}
			full = rel[0] == '/' ? xstrdup(rel) : xasprintf("%s%s", d->dir, rel);
			free(rel);
			table_put(p, d, full, tag);
		}
		if (field != line)
			free(field);
		line = *end ? end + 1 : end;
	}
	free(files);
}

static struct pkgdir *load_dir(struct pypackages *p, const char *dir)
{
	struct pkgdir *d;
	char *resolved, *host;
	DIR *dd;
	struct dirent *de;

	for (size_t i = 0; i < p->ndirs; i++)
		if (!strcmp(p->dirs[i].dir, dir))
			return &p->dirs[i];
	if (p->ndirs == MAX_DIRS)
		return NULL;
	d = &p->dirs[p->ndirs++];
	memset(d, 0, sizeof(*d));
	d->dir = xstrdup(dir);
	resolved = proc_root_resolve(p->pid, dir);
	if (!resolved)
		return d;
	host = xasprintf("/proc/%d/root%s", p->pid, resolved);
	free(resolved);
	dd = opendir(host);
	if (dd) {
		while ((de = readdir(dd))) {
			size_t n = strlen(de->d_name);

			if ((n > 10 && !strcasecmp(de->d_name + n - 10, ".dist-info")) ||
			    (n > 9 && !strcasecmp(de->d_name + n - 9, ".egg-info")))
				load_dist(p, d, host, de->d_name);
		}
		closedir(dd);
	}
	free(host);
	return d;
}

/* "/x/lib/python3.11/" not followed anywhere by site- or dist-packages */
static bool is_stdlib(const char *path)
{
	for (const char *s = strstr(path, "/python"); s; s = strstr(s + 1, "/python")) {
		const char *q = s + 7;

		if (!isdigit((unsigned char)q[0]) || q[1] != '.' || !isdigit((unsigned char)q[2]))
			continue;
		q += 3;
		if (isdigit((unsigned char)*q))
			q++;
		if (*q != '/')
			continue;
		if (!strstr(q, "site-packages") && !strstr(q, "dist-packages"))
			return true;
	}
	return false;
}

const char *pypackages__tag(struct pypackages *p, const char *path)
{
	const char *cut;
	char *dir;
	struct pkgdir *d;
	const char *tag = NULL;

	if (!p || path[0] != '/')
		return NULL;
	/* the last "/site-packages/", else the last "/dist-packages/" */
	cut = NULL;
	for (const char *s = strstr(path, "/site-packages/"); s; s = strstr(s + 1, "/site-packages/"))
		cut = s + 15;
	if (!cut)
		for (const char *s = strstr(path, "/dist-packages/"); s; s = strstr(s + 1, "/dist-packages/"))
			cut = s + 15;
	if (cut) {
		dir = xstrndup(path, cut - path);
		d = load_dir(p, dir);
		free(dir);
		tag = d ? table_get(d, path) : NULL;
		if (tag)
			return tag;
	}
	return p->stdlib_tag && is_stdlib(path) ? p->stdlib_tag : NULL;
}

char *pypackages__annotate(struct pypackages *p, const char *frame, size_t len)
{
	/* \((?P<filename>[^)]+?\.py):\d+\) : the first one */
	for (const char *open = memchr(frame, '(', len); open;
	     open = memchr(open + 1, '(', frame + len - open - 1)) {
		const char *e = open + 1, *digits, *end = frame + len;
		char *file;
		const char *tag;
		char *r;

		for (; e + 3 < end && *e != ')'; e++) {
			if (memcmp(e, ".py:", 4))
				continue;
			digits = e + 4;
			const char *q = digits;

			while (q < end && isdigit((unsigned char)*q))
				q++;
			if (q > digits && q < end && *q == ')')
				break;
		}
		if (e + 3 >= end || *e == ')')
			continue;
		digits = e + 4;
		while (isdigit((unsigned char)*digits))
			digits++;
		file = xstrndup(open + 1, e + 3 - (open + 1));
		tag = pypackages__tag(p, file);
		free(file);
		if (!tag)
			return NULL;
		r = xasprintf("%.*s [%s]%.*s", (int)(digits - frame), frame, tag,
			      (int)(end - digits), digits);
		return r;
	}
	return NULL;
}
