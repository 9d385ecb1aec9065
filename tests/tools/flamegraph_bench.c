// SPDX-License-Identifier: Apache-2.0
/*
 * Times the flamegraph page writer against the .col writer on the same
 * profile, in one process, for scripts/bench.d/flamegraph:
 *   flamegraph_bench FILE.col OUT_DIR [REPS]
 * loads FILE.col once, then writes OUT_DIR/bench.col and OUT_DIR/bench.html
 * REPS times each (alternating) and prints one JSON object: the best and
 * median milliseconds of each, and the page's size and tree. The page of
 * the last run is left in OUT_DIR for the render measurement.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col.h"
#include "flamegraph.h"
#include "procinfo.h"
#include "xalloc.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	char err[256], *text, *col_path, *html_path;
	struct col_file *cf;
	struct flamegraph_stats st = { 0 };
	size_t len;
	long reps = argc > 3 ? strtol(argv[3], NULL, 10) : 7;
	double *tc, *th, t;

	if (argc < 3 || reps < 1 || reps > 1000) {
		fprintf(stderr, "usage: %s FILE.col OUT_DIR [REPS]\n", argv[0]);
		return 2;
	}
	text = proc_read_file(argv[1], (size_t)1 << 31, &len);
	if (!text) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	t = now_ms();
	if (col__parse(text, len, &cf, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	double parse_ms = now_ms() - t;
	struct col_options co = {
		.app_metadata_idx =
			json_is_true(json_object_get(cf->header, "application_metadata_enabled")),
		.container_frame = true,
		.appids = true,
	};
	struct flamegraph_meta fm = { .hostname = "bench", .service = "bench",
				      .start_time = "2024-10-20T15:02:47",
				      .end_time = "2024-10-20T15:03:47" };

	col_path = xasprintf("%s/bench.col", argv[2]);
	html_path = xasprintf("%s/bench.html", argv[2]);
	tc = xcalloc(reps, sizeof(*tc));
	th = xcalloc(reps, sizeof(*th));
	for (long i = 0; i < reps; i++) {
		FILE *f = fopen(col_path, "we");

		if (!f)
			goto io;
		t = now_ms();
		if (col__write(f, cf->header, cf->prof, &co) < 0 || fclose(f))
			goto io;
		tc[i] = now_ms() - t;
		f = fopen(html_path, "we");
		if (!f)
			goto io;
		t = now_ms();
		if (flamegraph__write_stats(f, cf->prof, &fm, &st) || fclose(f))
			goto io;
		th[i] = now_ms() - t;
	}
	qsort(tc, reps, sizeof(*tc), cmp_double);
	qsort(th, reps, sizeof(*th), cmp_double);
	printf("{\"reps\": %ld, \"parse_ms\": %.3f, \"col_best_ms\": %.3f, \"col_median_ms\": %.3f, "
	       "\"html_best_ms\": %.3f, \"html_median_ms\": %.3f, \"html_bytes\": %llu, "
	       "\"nodes\": %llu, \"strings\": %llu, \"max_depth\": %u, \"samples\": %llu, "
	       "\"lines\": %zu, \"html\": \"%s\"}\n",
	       reps, parse_ms, tc[0], tc[reps / 2], th[0], th[reps / 2],
	       (unsigned long long)st.bytes, (unsigned long long)st.nodes,
	       (unsigned long long)st.strings, st.max_depth, (unsigned long long)st.total,
	       cf->lines, html_path);
	free(tc);
	free(th);
	free(col_path);
	free(html_path);
	free(text);
	col_file__free(cf);
	return 0;
io:
	fprintf(stderr, "writing in %s: %s\n", argv[2], strerror(errno));
	return 1;
}
