/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native sampler without BPF (native_perf_ops in collector.h): one
 * cpu-clock perf event per online CPU with an mmap'd ring buffer, read in
 * user space. Frame-pointer mode takes the kernel's callchains; DWARF mode
 * the user registers and a copy of the user stack, unwound by ustacks.c;
 * smart mode both, using per process what smart mode judged. Samples are
 * counted in user space by {pid, comm, stacks} and give the same profile
 * as the BPF engine. Also the helpers both engines use to open events.
 */
#ifndef GP_PERFEVENTS_H
#define GP_PERFEVENTS_H

#include <stdint.h>

/* Online CPUs from /sys ("0-3,5"). Returns the count (caller frees *ret)
 * or -errno. */
int perfevents_online_cpus(int **ret);

#endif
