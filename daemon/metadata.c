// SPDX-License-Identifier: Apache-2.0
/*
 * Host metadata. Where gProfiler reads a fact from the host namespaces
 * (os-release, hostname) we read it through /proc/1 so the answer is the
 * host's even when we run in a container with --pid=host.
 */
#include "metadata.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "procinfo.h"
#include "xalloc.h"

#ifndef GPROFILER_VERSION
#define GPROFILER_VERSION "0"
#endif

static char hostname[256] = "<unknown>";
static bool hostname_read;

void iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

static void read_host_hostname(void);

const char *metadata_hostname(void)
{
	if (!hostname_read)
		read_host_hostname();
	return hostname;
}

static void read_host_hostname(void)
{
	hostname_read = true;
	int self = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	int host = open("/proc/1/ns/uts", O_RDONLY | O_CLOEXEC);

	if (self >= 0 && host >= 0 && !setns(host, CLONE_NEWUTS)) {
		gethostname(hostname, sizeof(hostname) - 1);
		setns(self, CLONE_NEWUTS);
	} else {
		gethostname(hostname, sizeof(hostname) - 1);
	}
	if (self >= 0)
		close(self);
	if (host >= 0)
		close(host);
}

/* Value of KEY=value in an os-release text, unquoted; caller frees. */
static char *os_release_value(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) || l[klen] != '=')
			continue;
		const char *v = l + klen + 1, *e = strchr(v, '\n');
		size_t n = e ? (size_t)(e - v) : strlen(v);

		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v++;
			n -= 2;
		}
		return xstrndup(v, n);
	}
	return NULL;
}

static char *cpuinfo_value(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen))
			continue;
		const char *c = strchr(l, ':'), *e = strchr(l, '\n');

		if (!c || (e && c > e))
			continue;
		c++;
		while (*c == ' ' || *c == '\t')
			c++;
		return xstrndup(c, e ? (size_t)(e - c) : strlen(c));
	}
	return NULL;
}

static json_t *str_or(char *s, const char *fallback)
{
	json_t *j = json_string(s ? s : fallback);

	if (!j)
		j = json_string(fallback);	/* not UTF-8 */
	free(s);
	return j;
}

/* First non-loopback interface's MAC and IPv4 address. */
static void net_identity(json_t *m)
{
	struct ifaddrs *ifs, *i;
	char mac[32] = "unknown", ip[INET_ADDRSTRLEN] = "unknown";

	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
				continue;
			if (i->ifa_addr->sa_family == AF_PACKET && !strcmp(mac, "unknown")) {
				struct sockaddr_ll *ll = (struct sockaddr_ll *)i->ifa_addr;

				if (ll->sll_halen == 6)
					snprintf(mac, sizeof(mac), "%02X:%02X:%02X:%02X:%02X:%02X",
						 ll->sll_addr[0], ll->sll_addr[1], ll->sll_addr[2],
						 ll->sll_addr[3], ll->sll_addr[4], ll->sll_addr[5]);
			} else if (i->ifa_addr->sa_family == AF_INET && !strcmp(ip, "unknown")) {
				inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip,
					  sizeof(ip));
			}
		}
		freeifaddrs(ifs);
	}
	json_object_set_new(m, "mac_address", json_string(mac));
	json_object_set_new(m, "private_ip", json_string(ip));
}

/* aws / gcp / azure from the DMI strings the hypervisor sets, else unknown:
 * no network request is made. */
static const char *cloud_provider(void)
{
	static const char *const files[] = { "/sys/class/dmi/id/sys_vendor",
					     "/sys/class/dmi/id/bios_vendor",
					     "/sys/class/dmi/id/product_name",
					     "/sys/class/dmi/id/chassis_asset_tag" };
	const char *r = "unknown";

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *s = proc_read_file(files[i], 4096, NULL);

		if (!s)
			continue;
		if (strstr(s, "Amazon") || strstr(s, "amazon"))
			r = "aws";
		else if (strstr(s, "Google"))
			r = "gcp";
		else if (strstr(s, "7783-7084-3265-9085-8269-3286-77") ||
			 strstr(s, "Microsoft Corporation"))
			r = "azure";
		free(s);
		if (strcmp(r, "unknown"))
			break;
	}
	return r;
}

json_t *metadata_static(const struct args *a, time_t spawn_time, json_t *external_static)
{
	json_t *m = json_object();
	struct utsname u;
	char buf[64], *osr, *cpuinfo, *meminfo;
	long long memkb = 0;
	struct timespec mono;
	bool k8s = getenv("GPROFILER_IN_K8S") != NULL;
	bool container = getenv("GPROFILER_IN_CONTAINER") != NULL;

	read_host_hostname();
	uname(&u);
	osr = proc_read_file("/proc/1/root/etc/os-release", 1 << 16, NULL);
	if (!osr)
		osr = proc_read_file("/etc/os-release", 1 << 16, NULL);
	cpuinfo = proc_read_file("/proc/cpuinfo", 1 << 22, NULL);
	meminfo = proc_read_file("/proc/meminfo", 1 << 16, NULL);
	if (meminfo) {
		char *p = strstr(meminfo, "MemTotal:");

		if (p)
			memkb = strtoll(p + 9, NULL, 10);
	}

	json_object_set_new(m, "cloud_provider", json_string(cloud_provider()));
	json_object_set_new(m, "agent_version", json_string(GPROFILER_VERSION));
	iso_time(spawn_time, buf, sizeof(buf));
	json_object_set_new(m, "spawn_time", json_string(buf));
	json_object_set_new(m, "python_version", json_string("N/A (gprofiler-c is written in C)"));
	json_object_set_new(m, "run_mode", json_string(k8s ? "k8s" : container ? "container"
									: "standalone_executable"));
	json_object_set_new(m, "deployment_type", json_string(k8s ? "k8s" : container ? "containers"
										  : "instances"));
	json_object_set_new(m, "kernel_release", json_string(u.release));
	json_object_set_new(m, "kernel_version", json_string(u.version));
	json_object_set_new(m, "system_name", json_string(u.sysname));
	json_object_set_new(m, "processors", json_integer(sysconf(_SC_NPROCESSORS_CONF)));
	json_object_set_new(m, "cpu_model_name",
			    str_or(cpuinfo ? cpuinfo_value(cpuinfo, "model name") : NULL, "unknown"));
	json_object_set_new(m, "cpu_flags",
			    str_or(cpuinfo ? cpuinfo_value(cpuinfo, "flags") : NULL, ""));
	json_object_set_new(m, "memory_capacity_mb", json_integer((memkb + 512) / 1024));
	json_object_set_new(m, "hostname", json_string(hostname));
	json_object_set_new(m, "system", json_string(u.sysname));
	json_object_set_new(m, "os_name", str_or(osr ? os_release_value(osr, "NAME") : NULL, "unknown"));
	json_object_set_new(m, "os_release",
			    str_or(osr ? os_release_value(osr, "VERSION_ID") : NULL, "unknown"));
	json_object_set_new(m, "os_codename",
			    str_or(osr ? os_release_value(osr, "VERSION_CODENAME") : NULL, ""));
	json_object_set_new(m, "libc_type", json_string("glibc"));
	json_object_set_new(m, "libc_version", json_string(gnu_get_libc_version()));
	json_object_set_new(m, "hardware_type", json_string(u.machine));
	json_object_set_new(m, "pid", json_integer(getpid()));
	net_identity(m);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	json_object_set_new(m, "spawn_uptime_ms",
			    json_integer((json_int_t)mono.tv_sec * 1000 + mono.tv_nsec / 1000000));
	json_object_set_new(m, "run_arguments", args_to_json(a));
	json_object_set_new(m, "big_data", json_object());
	json_object_set_new(m, "external_metadata",
			    external_static ? json_incref(external_static) : json_object());
	free(osr);
	free(cpuinfo);
	free(meminfo);
	return m;
}

json_t *metadata_current(const json_t *static_meta, bool enabled, const char *mode)
{
	json_t *m;
	char buf[64];

	if (enabled && static_meta) {
		m = json_deep_copy(static_meta);
		iso_time(time(NULL), buf, sizeof(buf));
		json_object_set_new(m, "current_time", json_string(buf));
	} else {
		m = json_object();
		json_object_set_new(m, "hostname", json_string(hostname));
	}
	json_object_set_new(m, "profiling_mode", json_string(mode));
	return m;
}
