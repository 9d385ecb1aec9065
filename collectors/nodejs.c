// SPDX-License-Identifier: Apache-2.0
/* NodeJS appids; see nodejs.h. */
#include "nodejs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

char *appid_join_path(const char *cwd, const char *path)
{
	char *joined = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", cwd ? cwd : "", path);
	char **parts = xcalloc(strlen(joined) + 1, sizeof(char *)), *save = NULL, *out;
	size_t n = 0, len = 1;

	for (char *t = strtok_r(joined, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			if (n)
				n--;
			continue;
		}
		parts[n++] = t;
	}
	for (size_t i = 0; i < n; i++)
		len += strlen(parts[i]) + 1;
	out = xmalloc(len + 1);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(out, "/");
		strcat(out, parts[i]);
	}
	if (!n)
		strcpy(out, "/");
	free(parts);
	free(joined);
	return out;
}

char *nodejs_appid(const struct procinfo *pi)
{
	bool is_node = pi->argc > 0 && (!strcmp(base(pi->argv[0]), "node") ||
					 !strcmp(base(pi->argv[0]), "nodejs"));

	if (!is_node)
		return NULL;
	for (int i = 1; i < pi->argc; i++) {
		const char *a = pi->argv[i];
		size_t len = strlen(a);

		if (!strcmp(a, "-r") || !strcmp(a, "--require")) {
			i++;
			continue;
		}
		if (len > 3 && !strcmp(a + len - 3, ".js")) {
			char *path = appid_join_path(pi->cwd, a);
			char *id = xasprintf("nodejs: %s (%s)", a, path);

			free(path);
			return id;
		}
	}
	return NULL;
}
