/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The header's "metrics": the host's CPU use over the session (from
 * /proc/stat, as psutil.cpu_percent) and the mean memory use polled every
 * 5 s (as psutil.virtual_memory().percent: (total - available) / total).
 */
#ifndef GP_METRICS_H
#define GP_METRICS_H

#include <jansson.h>
#include <stdint.h>

struct metrics {
	uint64_t busy0, total0;
	double mem_sum;
	unsigned int mem_n;
	uint64_t last_mem_ns;
};

void metrics__start(struct metrics *m);
/* Call often (each drain); samples memory every 5 s. */
void metrics__tick(struct metrics *m, uint64_t now_ns);
/* {"cpu_avg": x, "mem_avg": y} for the session so far (null when unknown). */
json_t *metrics__json(struct metrics *m);

#endif
