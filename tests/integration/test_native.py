#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Native system-wide profiling with real BPF, end to end.

A C program built here with frame pointers spends a known 3:1 split of its
CPU between two functions plus a function that makes system calls; the
.col must show main;...;function stacks in that proportion, kernel frames
under the syscall function, binary+offset frames for a stripped copy, a
short-lived process with names, and nothing else under --pids.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402

WORKLOAD = r"""
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
/* Each function burns a fixed time of its thread's CPU clock, so the true
 * split is 3:1 whatever the compiler does with the loop bodies and however
 * busy the machine is (a wall-clock budget is not, under contention). */
volatile unsigned long sink;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double cpu_now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec / 1e9; }
__attribute__((noinline)) void slow_function(void) { double end = cpu_now() + 0.003; while (cpu_now() < end) for (int i = 0; i < 2000; i++) sink += i; }
__attribute__((noinline)) void fast_function(void) { double end = cpu_now() + 0.001; while (cpu_now() < end) for (int i = 0; i < 2000; i++) sink += i; }
/* the system call is made here, not in libc's syscall() (a leaf without a
 * frame pointer), so the kernel frames sit right under this function */
static inline __attribute__((always_inline)) long raw_getppid(void) {
    long r;
#if defined(__x86_64__)
    __asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = SYS_getppid, x0 __asm__("x0");
    __asm__ volatile("svc 0" : "=r"(x0) : "r"(x8) : "memory");
    r = x0;
#else
    r = syscall(SYS_getppid);
#endif
    return r;
}
__attribute__((noinline)) void syscall_function(void) { double end = now() + 0.001; while (now() < end) sink += raw_getppid(); }
int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 10, t0 = now();
    while (now() - t0 < secs) { slow_function(); fast_function(); syscall_function(); }
    return 0;
}
"""
FP_FLAGS = ["-O1", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer", "-fno-inline"]

wd = None
# The engine every case runs on; test_perf_engine.py runs them on "perf".
ENGINE = "bpf"


def busy(argv):
    """Starts a workload at nice -10: the test machine is shared, and the
    sample counts asserted here need the workload to get its CPU."""
    return subprocess.Popen(argv, preexec_fn=lambda: os.nice(-10))


def build(name, strip=False):
    exe = gptest.compile_c(WORKLOAD, wd.file(name), FP_FLAGS)
    if strip:
        subprocess.run(["strip", exe], check=True)
    return exe


def profile(args, duration=4, freq=250):
    out = wd.file(f"out-{time.monotonic_ns()}")
    gptest.run_gprofiler(["-o", out, "-d", str(duration), "-f", str(freq),
                          "--perf-engine", ENGINE, *args])
    col = gptest.last_col(out)
    assert col.header["metadata"]["sampler_stats"]["engine"] == ENGINE
    return col


def leaf_share(stacks, name):
    total = sum(c for f, c in stacks)
    return sum(c for f, c in stacks if name in f) / total if total else 0.0


def test_split_main_and_kernel_frames():
    exe = build("gpnative_split")
    w = busy([exe, "8"])
    try:
        time.sleep(0.3)
        col = profile([])
    finally:
        gptest.kill_quietly(w)
    stacks = col.comm("gpnative_split")
    assert stacks, "the workload does not appear in the profile"
    slow = sum(c for f, c in stacks if "slow_function" in f)
    fast = sum(c for f, c in stacks if "fast_function" in f)
    assert slow + fast > 300, f"too few samples: {slow} + {fast}"
    share = slow / (slow + fast)
    print(f"slow/fast = {slow}/{fast} -> {share:.3f} (expected 0.750)")
    assert abs(share - 0.75) < 0.05, f"split {share:.3f} is not 3:1"
    # root first: ...;main;slow_function
    for f, c in stacks:
        if "slow_function" in f:
            assert f.index("main") < f.index("slow_function"), f
    assert all("main" in f for f, c in stacks if "slow_function" in f or "fast_function" in f)
    # kernel frames under the syscall function, marked _[k]
    sys_stacks = [f for f, c in stacks if "syscall_function" in f]
    assert sys_stacks, "no samples in syscall_function"
    kernel = [f for f in sys_stacks if any(x.endswith("_[k]") for x in f)]
    assert kernel, "no _[k] frames under syscall_function"
    for f in kernel:
        k = [i for i, x in enumerate(f) if x.endswith("_[k]")]
        assert min(k) > f.index("syscall_function"), f
    assert any(x.endswith("_[k]") and "getppid" in x for f in kernel for x in f), kernel[:3]
    # header as gProfiler writes it
    assert list(col.header) == ["containers", "container_names_enabled", "metadata", "metrics",
                                "application_metadata", "application_metadata_enabled",
                                "profiling_mode"], list(col.header)
    md = col.header["metadata"]
    for key in ("hostname", "kernel_release", "processors", "memory_capacity_mb", "agent_version",
                "spawn_time", "current_time", "run_arguments", "cloud_provider", "pid"):
        assert key in md, key
    assert md["cloud_provider"] in ("unknown", "aws", "gcp", "azure")
    stats = md["sampler_stats"]
    assert stats["samples"] > 0 and stats["stacks_dropped"] == 0, stats
    assert col.header["application_metadata"][0] is None
    assert set(col.header["metrics"]) == {"cpu_avg", "mem_avg"}
    # every stack line is idx;container;comm;...
    for f, c in col.stacks:
        assert f[0].isdigit() and c > 0, f


def test_stripped_binary_shows_offsets():
    exe = build("gpnative_strip", strip=True)
    w = busy([exe, "6"])
    try:
        time.sleep(0.3)
        col = profile(["--pids", str(w.pid)], duration=3)
    finally:
        gptest.kill_quietly(w)
    stacks = col.comm("gpnative_strip")
    assert stacks, "the stripped workload does not appear"
    frames = {x for f, c in stacks for x in f[3:]}
    offs = [x for x in frames if re.fullmatch(r"gpnative_strip\+0x[0-9a-f]+", x)]
    print("binary+offset frames:", sorted(offs)[:5])
    assert offs, f"no binary+offset frames in {sorted(frames)[:20]}"
    assert not any(re.fullmatch(r"(0x)?[0-9a-f]{6,}", x) for x in frames), "bare addresses"
    # libc still has its dynamic symbols
    assert any(x.startswith("__libc_start") for x in frames), sorted(frames)


def test_pids_filter_only_that_process():
    exe = build("gpnative_pids")
    a = busy([exe, "6"])
    b = busy([build("gpnative_other"), "6"])
    try:
        time.sleep(0.3)
        col = profile(["--pids", str(a.pid)], duration=3)
    finally:
        gptest.kill_quietly(a)
        gptest.kill_quietly(b)
    comms = {f[2] for f, c in col.stacks}
    assert comms == {"gpnative_pids"}, comms


def test_short_lived_process_has_names():
    exe = build("gpnative_short")
    out = wd.file("short")
    g = gptest.start_gprofiler(["-o", out, "-d", "8", "-f", "250", "--perf-engine", ENGINE])
    try:
        time.sleep(2.5)
        assert busy([exe, "2"]).wait() == 0  # lives 2 s, then exits
        assert g.wait(timeout=60) == 0, g.stderr.read()
    finally:
        gptest.kill_quietly(g)
    stacks = gptest.last_col(out).comm("gpnative_short")
    assert stacks, "the short-lived process is missing"
    named = sum(c for f, c in stacks if "main" in f and "[unknown]" not in f)
    total = sum(c for f, c in stacks)
    print(f"short-lived: {named}/{total} samples symbolized through main")
    assert named / total > 0.95, stacks[:5]
    assert sum(c for f, c in stacks if "slow_function" in f) > 0


TESTS = [test_split_main_and_kernel_frames, test_stripped_binary_shows_offsets,
         test_pids_filter_only_that_process, test_short_lived_process_has_names]


def main():
    global wd
    gptest.require_root()
    wd = gptest.Workdir("native")
    try:
        gptest.main(TESTS)
    finally:
        wd.cleanup()


if __name__ == "__main__":
    main()
