// SPDX-License-Identifier: Apache-2.0
/* /proc/kallsyms reader: text symbols only, module names dropped. */
#include "kallsyms.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symtab.h"
#include "xalloc.h"

struct kallsyms {
	struct symtab tab;
};

struct kallsyms *kallsyms__load(const char *path)
{
	struct kallsyms *k;
	char *line = NULL;
	size_t cap = 0;
	bool any_addr = false;
	FILE *f = fopen(path, "re");	/* e: O_CLOEXEC */

	if (!f)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	while (getline(&line, &cap, f) > 0) {
		char *end, *name, type;
		uint64_t addr = strtoull(line, &end, 16);
		size_t len;

		if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		name = end + 3;
		len = strcspn(name, " \t\n");
		if (!len)
			continue;
		any_addr |= addr != 0;
		symtab__add(&k->tab, addr, 0, name, len);
	}
	free(line);
	fclose(f);
	if (!any_addr) {
		kallsyms__free(k);
		errno = EPERM;
		return NULL;
	}
	symtab__finish(&k->tab, 4096);
	return k;
}

struct kallsyms *kallsyms__free(struct kallsyms *k)
{
	if (k) {
		symtab__release(&k->tab);
		free(k);
	}
	return NULL;
}

const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr)
{
	long i = k ? symtab__find(&k->tab, addr) : -1;

	return i < 0 ? NULL : symtab__name(&k->tab, i);
}

size_t kallsyms__count(const struct kallsyms *k)
{
	return k ? k->tab.n : 0;
}

size_t kallsyms__bytes(const struct kallsyms *k)
{
	return k ? sizeof(*k) + symtab__bytes(&k->tab) : 0;
}
