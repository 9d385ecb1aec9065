// SPDX-License-Identifier: Apache-2.0
/*
 * VM.flags parser; see jvmflags.h. A small hand parser that follows
 * gProfiler's regex (granulate_utils JvmFlag.vm_flags_pattern) token by
 * token: the kind group ends at the first '}', the origin group at the
 * last, and ":=" selects JDK 8's origin rule even when an origin follows.
 */
#include "jvmflags.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct flag {
	char *name, *type, *value, *origin;
	char **kinds;
	size_t nkinds;
};

static void flag_free(struct flag *f)
{
	free(f->name);
	free(f->type);
	free(f->value);
	free(f->origin);
	for (size_t i = 0; i < f->nkinds; i++)
		free(f->kinds[i]);
	free(f->kinds);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_flag(const void *a, const void *b)
{
	return strcmp(((const struct flag *)a)->name, ((const struct flag *)b)->name);
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *token_end(const char *p, const char *end)
{
	while (p < end && !isspace((unsigned char)*p))
		p++;
	return p;
}

static bool parse_line(const char *p, const char *end, struct flag *ret)
{
	const char *type, *type_end, *name, *name_end, *val, *val_end, *kind, *kind_end;
	const char *origin = NULL, *origin_end = NULL, *q;
	bool colon = false;
	struct flag f = { 0 };

	type = skip_ws(p, end);
	type_end = token_end(type, end);
	if (type == type_end || type_end == end)
		return false;
	name = skip_ws(type_end, end);
	name_end = token_end(name, end);
	if (name == name_end || name_end == end)
		return false;
	q = skip_ws(name_end, end);
	if (q < end && *q == ':') {
		colon = true;
		q++;
	}
	if (q + 1 >= end || q[0] != '=' || q[1] != ' ')
		return false;
	val = q + 2;
	val_end = token_end(val, end);
	q = skip_ws(val_end, end);
	if (q == val_end || q >= end || *q != '{')
		return false;
	kind = q + 1;
	kind_end = memchr(kind, '}', end - kind);
	if (!kind_end || kind_end == kind)
		return false;
	q = skip_ws(kind_end + 1, end);
	if (q < end && *q == '{') {
		for (const char *r = end; r > q; r--) {
			if (r[-1] == '}') {
				origin = q + 1;
				origin_end = r - 1;
				break;
			}
		}
	}

	f.type = xstrndup(type, type_end - type);
	f.name = xstrndup(name, name_end - name);
	f.value = xstrndup(val, val_end - val);
	if (colon || !origin)
		f.origin = xstrdup(colon ? "non-default" : "default");
	else
		f.origin = xstrndup(origin, origin_end - origin);
	for (const char *k = kind; k < kind_end;) {
		const char *ke;

		k = skip_ws(k, kind_end);
		ke = token_end(k, kind_end);
		if (ke == k)
			break;
		f.kinds = xrealloc(f.kinds, (f.nkinds + 1) * sizeof(*f.kinds));
		f.kinds[f.nkinds++] = xstrndup(k, ke - k);
		k = ke;
	}
	qsort(f.kinds, f.nkinds, sizeof(*f.kinds), cmp_str);
	*ret = f;
	return true;
}

static bool has_kind(const struct flag *f, const char *k)
{
	for (size_t i = 0; i < f->nkinds; i++)
		if (!strcmp(f->kinds[i], k))
			return true;
	return false;
}

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		const char *e = strchrnul(p, ',');
		const char *a = p, *b = e;

		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if ((size_t)(b - a) == n && !memcmp(a, name, n))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

static bool keep(const struct flag *f, const char *filter)
{
	/* always: values we cannot parse, and values that change */
	if (!strcmp(f->type, "ccstr") || !strcmp(f->type, "ccstrlist") ||
	    has_kind(f, "manageable"))
		return false;
	if (!strcmp(filter, "all"))
		return true;
	if (!strcmp(filter, "default"))
		return strcmp(f->origin, "default") && !has_kind(f, "notproduct") &&
		       !has_kind(f, "pd") && !has_kind(f, "develop");
	return in_list(filter, f->name);
}

json_t *jvm_flags_parse(const char *text, const char *filter)
{
	json_t *list = json_array();
	struct flag *flags = NULL;
	size_t n = 0, cap = 0;

	if (!filter)
		filter = "default";
	if (!filter[0] || !strcmp(filter, "none") || !text)
		return list;
	for (const char *p = text; *p;) {
		const char *end = strchrnul(p, '\n');
		struct flag f;

		if (parse_line(p, end, &f)) {
			if (keep(&f, filter)) {
				xgrow((void **)&flags, &cap, n + 1, sizeof(*flags));
				flags[n++] = f;
			} else {
				flag_free(&f);
			}
		}
		p = *end ? end + 1 : end;
	}
	qsort(flags, n, sizeof(*flags), cmp_flag);
	for (size_t i = 0; i < n; i++) {
		json_t *kinds = json_array(), *d = json_object(), *o = json_object();

		for (size_t k = 0; k < flags[i].nkinds; k++)
			json_array_append_new(kinds, json_string(flags[i].kinds[k]));
		json_object_set_new(d, "type", json_string(flags[i].type));
		json_object_set_new(d, "value", json_string(flags[i].value));
		json_object_set_new(d, "origin", json_string(flags[i].origin));
		json_object_set_new(d, "kind", kinds);
		json_object_set_new(o, flags[i].name, d);
		json_array_append_new(list, o);
		flag_free(&flags[i]);
	}
	free(flags);
	return list;
}
