// SPDX-License-Identifier: Apache-2.0
/* External metadata file; see extmeta.h. */
#include "extmeta.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int extmeta__load(const char *path, json_t **ret_static, json_t **ret_app, char *err,
		  size_t errlen)
{
	json_error_t je;
	struct stat st;
	json_t *root, *s, *a;

	if (stat(path, &st)) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	if (time(NULL) - st.st_mtime > EXTMETA_MAX_AGE_S) {
		snprintf(err, errlen, "%s is stale (written more than %d s ago)", path,
			 EXTMETA_MAX_AGE_S);
		return -ESTALE;
	}
	root = json_load_file(path, 0, &je);
	if (!root || !json_is_object(root)) {
		snprintf(err, errlen, "%s is not a JSON object: %s", path, root ? "" : je.text);
		json_decref(root);
		return -EINVAL;
	}
	s = json_object_get(root, "static");
	a = json_object_get(root, "application");
	if ((s && !json_is_object(s)) || (a && !json_is_object(a))) {
		snprintf(err, errlen, "%s: \"static\" and \"application\" must be objects", path);
		json_decref(root);
		return -EINVAL;
	}
	*ret_static = s ? json_incref(s) : json_object();
	*ret_app = a ? json_incref(a) : json_object();
	json_decref(root);
	return 0;
}
