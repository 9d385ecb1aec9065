// SPDX-License-Identifier: Apache-2.0
/* Host CPU and memory metrics; see metrics.h. */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procinfo.h"

static int read_cpu(uint64_t *busy, uint64_t *total)
{
	char *s = proc_read_file("/proc/stat", 1 << 16, NULL);
	unsigned long long v[10] = { 0 };
	int n;

	if (!s)
		return -1;
	n = sscanf(s, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	free(s);
	if (n < 4)
		return -1;
	*total = 0;
	/* guest time is already counted in user */
	for (int i = 0; i < 8 && i < n; i++)
		*total += v[i];
	*busy = *total - v[3] - (n > 4 ? v[4] : 0);	/* minus idle and iowait */
	return 0;
}

static double mem_percent(void)
{
	char *s = proc_read_file("/proc/meminfo", 1 << 16, NULL), *p;
	double total = 0, avail = -1;

	if (!s)
		return -1;
	if ((p = strstr(s, "MemTotal:")))
		total = strtod(p + 9, NULL);
	if ((p = strstr(s, "MemAvailable:")))
		avail = strtod(p + 13, NULL);
	free(s);
	if (total <= 0 || avail < 0)
		return -1;
	return (total - avail) / total * 100.0;
}

void metrics__start(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	read_cpu(&m->busy0, &m->total0);
}

void metrics__tick(struct metrics *m, uint64_t now_ns)
{
	double p;

	if (m->mem_n && now_ns - m->last_mem_ns < 5000000000ULL)
		return;
	m->last_mem_ns = now_ns;
	p = mem_percent();
	if (p >= 0) {
		m->mem_sum += p;
		m->mem_n++;
	}
}

static json_t *rounded(double v)
{
	return json_real(round(v * 10.0) / 10.0);
}

json_t *metrics__json(struct metrics *m)
{
	json_t *j = json_object();
	uint64_t busy, total;

	if (!read_cpu(&busy, &total) && total > m->total0)
		json_object_set_new(j, "cpu_avg",
				    rounded((double)(busy - m->busy0) * 100.0 / (double)(total - m->total0)));
	else
		json_object_set_new(j, "cpu_avg", json_null());
	json_object_set_new(j, "mem_avg", m->mem_n ? rounded(m->mem_sum / m->mem_n) : json_null());
	return j;
}
