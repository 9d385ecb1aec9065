// SPDX-License-Identifier: Apache-2.0
/*
 * Java appids and application metadata, gProfiler's way, through the attach
 * channel: the appid from "VM.command_line", jvm_flags from "VM.flags
 * -all", java_version from the JVM's own `java -version` (run inside its
 * pid and mount namespaces as its user, 5 s at most) or else "VM.version",
 * libjvm_elfid from the mapped libjvm.so. The daemon asks before every
 * session, so answers are cached per process (pid + start time, bounded,
 * oldest evicted); a JVM whose attach failed is asked again after a minute.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "java.h"
#include "jvm.h"
#include "jvmflags.h"
#include "procinfo.h"
#include "python/pymeta.h"
#include "xalloc.h"

#define META_CACHE_MAX 256
#define META_RETRY_NS (60ull * 1000000000ull)
#define META_ATTACH_MS 3000
#define VERSION_TIMEOUT_MS 5000

struct meta_entry {
	int pid;
	uint64_t start;
	uint64_t used;		/* LRU tick */
	uint64_t appid_at, meta_at;	/* when asked (0: never) */
	char *appid;
	json_t *meta;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct meta_entry g_cache[META_CACHE_MAX];
static uint64_t g_tick;
static char *g_flags_filter;
static char **g_appid_filters;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void java_configure(const char *const *options)
{
	size_t n = 0;

	pthread_mutex_lock(&g_lock);
	for (size_t i = 0; options && options[i] && options[i + 1]; i += 2) {
		if (!strcmp(options[i], "java_collect_jvm_flags")) {
			free(g_flags_filter);
			g_flags_filter = xstrdup(options[i + 1]);
		} else if (!strcmp(options[i], "app_id_args_filter") && options[i + 1][0]) {
			g_appid_filters = xrealloc(g_appid_filters, (n + 2) * sizeof(char *));
			g_appid_filters[n++] = xstrdup(options[i + 1]);
			g_appid_filters[n] = NULL;
		}
	}
	pthread_mutex_unlock(&g_lock);
}

/* ---- the appid ---- */

static bool matches_any(const char *arg, const char *const *filters)
{
	for (size_t i = 0; filters && filters[i]; i++) {
		regex_t re;
		bool m;

		if (regcomp(&re, filters[i], REG_EXTENDED | REG_NOSUB))
			continue;
		m = !regexec(&re, arg, 0, NULL, 0);
		regfree(&re);
		if (m)
			return true;
	}
	return false;
}

char *java_appid_from_command_line(const char *text, const char *const *filters)
{
	char *command = NULL, *args = NULL, *r;
	size_t alen = 0;

	for (const char *p = text; p && *p;) {
		const char *end = strchrnul(p, '\n');

		if (!strncmp(p, "jvm_args:", 9) && filters && filters[0]) {
			/* gProfiler splits on single spaces */
			for (const char *a = p + 9; a < end;) {
				const char *ae;
				char *arg;

				while (a < end && (*a == ' ' || *a == '\t'))
					a++;
				ae = a;
				while (ae < end && *ae != ' ')
					ae++;
				if (ae == a)
					break;
				arg = xstrndup(a, ae - a);
				if (matches_any(arg, filters)) {
					args = xrealloc(args, alen + (ae - a) + 2);
					if (alen)
						args[alen++] = ' ';
					memcpy(args + alen, a, ae - a);
					alen += ae - a;
					args[alen] = '\0';
				}
				free(arg);
				a = ae;
			}
		} else if (!strncmp(p, "java_command:", 13)) {
			const char *c = p + 13, *ce;

			while (c < end && (*c == ' ' || *c == '\t'))
				c++;
			ce = c;
			while (ce < end && *ce != ' ')
				ce++;
			free(command);
			command = xstrndup(c, ce - c);
		}
		p = *end ? end + 1 : end;
	}
	if (!command || !command[0]) {
		free(command);
		free(args);
		return NULL;
	}
	r = args ? xasprintf("java: %s (%s)", command, args) : xasprintf("java: %s", command);
	free(command);
	free(args);
	return r;
}

/* ---- java -version ---- */

struct version_job {
	char exe[4096];		/* its executable's path, as it sees it */
	char proc_exe[48];	/* /proc/<nspid>/exe, as its pid namespace sees it */
	uint64_t deadline;
};

static int version_child(const struct jvm *j, void *arg, int out)
{
	static char *const argv[] = { "java", "-version", NULL };
	static char *const envp[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL
	};
	const struct version_job *v = arg;
	int status;
	pid_t c;

	/* children of this one are born in the JVM's pid namespace, where
	 * /proc/<nspid>/exe and the launcher's /proc/self/exe resolve */
	if (!j->own_pidns && setns(j->pidns_fd, CLONE_NEWPID))
		return -errno;
	c = fork();
	if (c < 0)
		return -errno;
	if (c == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigset_t none;
		int nul;

		if (jvm_child_become(j))
			_exit(126);
		nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		for (int s = 1; s < 32; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sigaction(s, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* the path first: /proc/N/exe needs ptrace access, which a user
		 * namespace may deny */
		if (v->exe[0])
			execve(v->exe, argv, envp);
		execve(v->proc_exe, argv, envp);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(c, &status, WNOHANG);
		struct timespec ms20 = { 0, 20000000 };

		if (w == c)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (jvm_child_now() >= v->deadline) {
			kill(c, SIGKILL);
			while (waitpid(c, &status, 0) < 0 && errno == EINTR)
				;
			return -ETIMEDOUT;
		}
		nanosleep(&ms20, NULL);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static bool is_java_exe(const char *exe)
{
	const char *base = strrchr(exe, '/');

	return !strcmp(base ? base + 1 : exe, "java");
}

/* "java -version" text, else VM.version's; NULL if neither answers. */
static char *java_version(const struct jvm *j, const char *exe)
{
	struct version_job *v = xcalloc(1, sizeof(*v));
	char *text = NULL;

	if (is_java_exe(exe)) {
		if (exe[0] == '/' && strlen(exe) < sizeof(v->exe))
			strcpy(v->exe, exe);
		snprintf(v->proc_exe, sizeof(v->proc_exe), "/proc/%d/exe",
			 j->own_pidns ? j->pid : j->nspid);
		v->deadline = mono_ns() + (uint64_t)VERSION_TIMEOUT_MS * 1000000ull;
		if (!jvm__run(j, version_child, v, VERSION_TIMEOUT_MS + 1000, 1 << 16, &text,
			      NULL) && text[0]) {
			free(v);
			return text;
		}
		free(text);
		text = NULL;
	}
	free(v);
	if (jattach__jcmd(j, "VM.version", META_ATTACH_MS, &text)) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- libjvm ---- */

bool java_maps_libjvm(const char *maps, char **ret_path, char **ret_range)
{
	for (const char *line = maps; line && *line;) {
		const char *nl = strchrnul(line, '\n'), *slash, *dash;
		const char *lib = "/libjvm.so";
		size_t len;

		slash = memchr(line, '/', nl - line);
		len = slash ? (size_t)(nl - slash) : 0;
		if (len > 10 && !strncmp(slash + len - 10, " (deleted)", 10))
			len -= 10;
		if (len >= 10 && !memcmp(slash + len - 10, lib, 10)) {
			dash = memchr(line, ' ', nl - line);
			if (ret_path)
				*ret_path = xstrndup(slash, len);
			if (ret_range)
				*ret_range = xstrndup(line, dash ? (size_t)(dash - line) : 0);
			return true;
		}
		line = *nl ? nl + 1 : nl;
	}
	return false;
}

static json_t *libjvm_elfid(int pid)
{
	char path[96], *maps, *lib = NULL, *range = NULL, *id = NULL;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = proc_read_file(path, 64u << 20, NULL);
	if (maps && java_maps_libjvm(maps, &lib, &range)) {
		/* map_files reaches the mapped file even if replaced on disk */
		snprintf(path, sizeof(path), "/proc/%d/map_files/%s", pid, range);
		id = elf_id_of(path);
		if (!id) {
			char *p = xasprintf("/proc/%d/root%s", pid, lib);

			id = elf_id_of(p);
			free(p);
		}
	}
	free(maps);
	free(lib);
	free(range);
	if (!id)
		return json_null();
	json_t *r = json_string(id);

	free(id);
	return r ? r : json_null();
}

static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);

	return j ? j : json_string("error: UnicodeDecodeError");
}

static json_t *make_metadata(const struct procinfo *pi, const struct jvm *j)
{
	json_t *md = json_object();
	char *text = NULL, *version, *execfn, *exe, *filter;
	int err;

	version = java_version(j, pi->exe);
	json_object_set_new(md, "java_version", jstr(version ? version : "/java not found"));
	free(version);
	json_object_set_new(md, "libjvm_elfid", libjvm_elfid(pi->pid));

	pthread_mutex_lock(&g_lock);
	filter = xstrdup(g_flags_filter ? g_flags_filter : "default");
	pthread_mutex_unlock(&g_lock);
	if (!strcmp(filter, "none") || !filter[0]) {
		json_object_set_new(md, "jvm_flags", json_array());
	} else {
		err = jattach__jcmd(j, "VM.flags -all", META_ATTACH_MS, &text);
		if (err)
			json_object_set_new(md, "jvm_flags", json_string("error JattachException"));
		else
			json_object_set_new(md, "jvm_flags", jvm_flags_parse(text, filter));
		free(text);
	}
	free(filter);

	exe = xstrdup(pi->exe);
	if (strlen(exe) > 10 && !strcmp(exe + strlen(exe) - 10, " (deleted)"))
		exe[strlen(exe) - 10] = '\0';
	json_object_set_new(md, "exe", jstr(exe[0] ? exe : "error: MissingExePath"));
	free(exe);
	execfn = proc_execfn(pi->pid);
	json_object_set_new(md, "execfn", jstr(execfn ? execfn : "error: ValueError"));
	free(execfn);
	{
		char path[64];
		unsigned char eh[20];
		const char *arch = NULL;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/exe", pi->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && pread(fd, eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
		    !memcmp(eh, "\177ELF", 4))
			arch = elf_machine_arch(eh[18] | eh[19] << 8);
		if (fd >= 0)
			close(fd);
		json_object_set_new(md, "arch", json_string(arch ? arch : "error: ELFError"));
	}
	return md;
}

/* ---- the cache ---- */

/* With g_lock held: the entry of pi, created (evicting the least recently
 * used) if missing. */
static struct meta_entry *entry_of(const struct procinfo *pi)
{
	struct meta_entry *e = NULL, *victim = &g_cache[0];

	for (size_t i = 0; i < META_CACHE_MAX; i++) {
		if (g_cache[i].pid == pi->pid && g_cache[i].start == pi->start_time) {
			e = &g_cache[i];
			break;
		}
		if (g_cache[i].used < victim->used)
			victim = &g_cache[i];
	}
	if (!e) {
		e = victim;
		free(e->appid);
		json_decref(e->meta);
		memset(e, 0, sizeof(*e));
		e->pid = pi->pid;
		e->start = pi->start_time;
	}
	e->used = ++g_tick;
	return e;
}

static bool fresh(uint64_t at, bool have)
{
	return at && (have || mono_ns() - at < META_RETRY_NS);
}

char *java_appid(const struct procinfo *pi)
{
	struct meta_entry *e;
	char *text = NULL, *appid = NULL;
	struct jvm *j;

	pthread_mutex_lock(&g_lock);
	e = entry_of(pi);
	if (fresh(e->appid_at, e->appid != NULL)) {
		appid = e->appid ? xstrdup(e->appid) : NULL;
		pthread_mutex_unlock(&g_lock);
		return appid;
	}
	pthread_mutex_unlock(&g_lock);

	j = jvm__open(pi->pid, pi->start_time);
	if (!j)
		return NULL;
	if (!jattach__jcmd(j, "VM.command_line", META_ATTACH_MS, &text)) {
		pthread_mutex_lock(&g_lock);
		appid = java_appid_from_command_line(text, (const char *const *)g_appid_filters);
		pthread_mutex_unlock(&g_lock);
	}
	free(text);
	jvm__free(j);

	pthread_mutex_lock(&g_lock);
	e = entry_of(pi);
	free(e->appid);
	e->appid = appid ? xstrdup(appid) : NULL;
	e->appid_at = mono_ns();
	pthread_mutex_unlock(&g_lock);
	return appid;
}

json_t *java_app_metadata(const struct procinfo *pi)
{
	struct meta_entry *e;
	json_t *md = NULL;
	struct jvm *j;

	pthread_mutex_lock(&g_lock);
	e = entry_of(pi);
	if (fresh(e->meta_at, e->meta != NULL)) {
		md = e->meta ? json_deep_copy(e->meta) : NULL;
		pthread_mutex_unlock(&g_lock);
		return md;
	}
	pthread_mutex_unlock(&g_lock);

	j = jvm__open(pi->pid, pi->start_time);
	if (!j)
		return NULL;
	md = make_metadata(pi, j);
	jvm__free(j);

	pthread_mutex_lock(&g_lock);
	e = entry_of(pi);
	json_decref(e->meta);
	e->meta = json_deep_copy(md);
	e->meta_at = mono_ns();
	pthread_mutex_unlock(&g_lock);
	return md;
}
