#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The BPF-less engine (--perf-engine perf), and --perf-mode disabled.

The perf engine must give what the BPF engine gives, so test_native.py's
cases run here unchanged on it: the 3:1 split with main;... stacks and
kernel frames under the syscall function, binary+offset frames for a
stripped copy, --pids, a short-lived process with names. Then: the start-up
line says which engine runs and why; and with --perf-mode disabled (and its
aliases) nothing native is sampled while runtime profiles still come out,
as gProfiler's perf-less mode.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402
import test_native  # noqa: E402

PY_WORKLOAD = r"""
import sys, time
def busy_python_function(deadline):
    n = 0
    while time.time() < deadline:
        n += sum(i * i for i in range(2000))
    return n
busy_python_function(time.time() + float(sys.argv[1]))
"""


def test_engine_line_says_which_and_why():
    wd = test_native.wd
    p = gptest.run_gprofiler(["-o", wd.file("why-perf"), "-d", "1", "--perf-engine", "perf",
                              "--python-mode", "disabled", "--java-mode", "disabled"])
    lines = [x for x in (p.stdout + p.stderr).splitlines() if "Native sampling engine:" in x]
    print(lines)
    assert len(lines) == 1 and "engine: perf, chosen by --perf-engine" in lines[0], lines
    p = gptest.run_gprofiler(["-o", wd.file("why-auto"), "-d", "1", "--perf-mode", "dwarf",
                              "--python-mode", "disabled", "--java-mode", "disabled"])
    lines = [x for x in (p.stdout + p.stderr).splitlines() if "Native sampling engine:" in x]
    print(lines)
    assert len(lines) == 1 and "engine: bpf, the default" in lines[0] and "dwarf mode" in lines[0]


def test_perf_mode_disabled_runtime_only():
    wd = test_native.wd
    exe = test_native.build("gpnative_noperf")
    script = wd.file("noperf_work.py")
    with open(script, "w") as f:
        f.write(PY_WORKLOAD)
    c = subprocess.Popen([exe, "8"])
    py = subprocess.Popen([sys.executable, script, "8"])
    try:
        time.sleep(0.5)
        for flags in (["--perf-mode", "disabled"], ["--perf-mode", "none"], ["--no-perf"]):
            out = wd.file(f"noperf-{flags[-1]}")
            p = gptest.run_gprofiler(["-o", out, "-d", "2", "-f", "49", *flags])
            col = gptest.last_col(out)
            assert "Native sampling is disabled" in p.stdout + p.stderr
            comms = {f[2] for f, n in col.stacks}
            py_stacks = [f for f, n in col.stacks if any("busy_python_function" in x for x in f)]
            print(flags, "comms:", sorted(comms)[:8], "python stacks:", len(py_stacks))
            assert py_stacks, "no Python stacks: runtime profiles are missing"
            assert all(x.endswith("_[p]") for f in py_stacks for x in f[3:]
                       if not x.startswith("appid:")), py_stacks[:2]
            assert "gpnative_noperf" not in comms, "a native-only process was sampled"
            assert not any(x.endswith("_[k]") for f, n in col.stacks for x in f), \
                "kernel frames without native sampling"
            assert "sampler_stats" not in col.header["metadata"]
            # runtime profiles are concatenated unscaled: counts are the
            # runtime profiler's own samples (at 49 Hz over 2 s, < 200)
            assert sum(n for f, n in col.stacks if f in py_stacks) < 400
    finally:
        gptest.kill_quietly(c)
        gptest.kill_quietly(py)


def main():
    gptest.require_root()
    test_native.wd = gptest.Workdir("perf-engine")
    test_native.ENGINE = "perf"
    try:
        gptest.main([*test_native.TESTS, test_engine_line_says_which_and_why,
                     test_perf_mode_disabled_runtime_only])
    finally:
        test_native.wd.cleanup()


if __name__ == "__main__":
    main()
