// SPDX-License-Identifier: Apache-2.0
/*
 * Console + rotating file log. Rotation is gProfiler's (Python's
 * RotatingFileHandler): when the file would pass max_bytes it becomes
 * path.1 (path.1 -> path.2 ...), keeping `backups` old files.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool verbose;
static FILE *file;
static char *file_path;
static size_t max_bytes;
static int backups;
static unsigned long errors;

static const char *const names[] = { "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL" };

static int mkdir_parents(const char *path)
{
	char *dir = strdup(path), *p;

	if (!dir)
		return -ENOMEM;
	for (p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			int e = -errno;

			free(dir);
			return e;
		}
		*p = '/';
	}
	free(dir);
	return 0;
}

static FILE *open_append(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}

int log_open(bool v, const char *path, size_t maxb, int nbackups)
{
	int r;

	pthread_mutex_lock(&lock);
	verbose = v;
	max_bytes = maxb;
	backups = nbackups;
	if (path && path[0]) {
		r = mkdir_parents(path);
		if (!r) {
			file = open_append(path);
			r = file ? 0 : -errno;
		}
		if (!r)
			file_path = strdup(path);
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

void log_close(void)
{
	pthread_mutex_lock(&lock);
	if (file)
		fclose(file);
	file = NULL;
	free(file_path);
	file_path = NULL;
	pthread_mutex_unlock(&lock);
}

static void rotate(void)
{
	size_t n = strlen(file_path) + 16;
	char *from = malloc(n), *to = malloc(n);

	if (!from || !to)
		goto out;
	fclose(file);
	file = NULL;
	for (int i = backups - 1; i >= 1; i--) {
		snprintf(from, n, "%s.%d", file_path, i);
		snprintf(to, n, "%s.%d", file_path, i + 1);
		rename(from, to);
	}
	if (backups > 0) {
		snprintf(to, n, "%s.1", file_path);
		rename(file_path, to);
	} else {
		unlink(file_path);
	}
	file = open_append(file_path);
out:
	free(from);
	free(to);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char stamp[40], *msg = NULL;
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - n, ",%03ld", ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);

	pthread_mutex_lock(&lock);
	if (lvl >= LOG_LVL_ERROR)
		errors++;
	if (lvl >= LOG_LVL_INFO || verbose) {
		fprintf(lvl >= LOG_LVL_WARNING ? stderr : stdout, "[%s] %s: gprofiler: %s\n", stamp,
			names[lvl], msg ? msg : fmt);
		fflush(lvl >= LOG_LVL_WARNING ? stderr : stdout);
	}
	if (file) {
		if (max_bytes && ftell(file) > 0 && (size_t)ftell(file) >= max_bytes)
			rotate();
		if (file) {
			fprintf(file, "[%s] %s: gprofiler: %s\n", stamp, names[lvl], msg ? msg : fmt);
			fflush(file);
		}
	}
	pthread_mutex_unlock(&lock);
	free(msg);
}

unsigned long log_errors(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = errors;
	pthread_mutex_unlock(&lock);
	return n;
}
