# SPDX-License-Identifier: Apache-2.0
"""The built-in CPython sampler on real interpreters: Debian's static
/usr/bin/python3.11 and every pyenv CPython 3.8-3.13 here (shared
libpython). For each: a 3:1 CPU split comes out 3:1 within a few percent,
with gProfiler's frame format; only the thread on CPU (holding the GIL) is
sampled; current-line mode gives lines inside the running function; a
stack deeper than 512 frames keeps its root; standard-library and pip
frames carry gProfiler's [pkg==version] tags; a process that exits
mid-session gives gProfiler's error, not a crash."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptest  # noqa: E402
import pyhelp  # noqa: E402

TOLERANCE = 0.04  # absolute, on a share of ~1200 samples (sd ~1.3%)


def frame(func, path, line):
    return f"{func} ({path}:{line})_[p]"


def check_split(label, python):
    wd = gptest.Workdir("pysplit")
    p, path = pyhelp.start(python, wd, "split.py", pyhelp.SPLIT)
    try:
        out = pyhelp.pysample(p.pid, "-f", "400", "-d", "3").stdout
    finally:
        gptest.kill_quietly(p)
    st = pyhelp.stacks(out)
    assert sum(c for _, c in st) > 600, f"{label}: too few samples:\n{out}"
    # gProfiler's py-spy -F: each frame shows its function's first line
    heavy_stack = [frame("<module>", path, 1), frame("main", path, 13), frame("heavy", path, 7),
                   frame("burn", path, 1)]
    for f, _ in st:
        assert all(x.endswith("_[p]") for x in f), f"{label}: not all Python frames: {f}"
        assert f[0].startswith("<module> ("), f"{label}: root is not <module>: {f}"
    heavy = pyhelp.share(st, lambda f: f == heavy_stack)
    light = pyhelp.share(st, lambda f: len(f) == 4 and f[2] == frame("light", path, 10))
    assert heavy + light > 0.95, f"{label}: unexpected stacks:\n{out}"
    ratio = heavy / (heavy + light)
    print(f"  {label}: heavy {heavy:.3f} light {light:.3f} -> {ratio:.3f} of burn time in heavy")
    assert abs(ratio - 0.75) < TOLERANCE, f"{label}: split {ratio:.3f}, wanted 0.75\n{out}"
    wd.cleanup()


def check_current_line(label, python):
    wd = gptest.Workdir("pyline")
    p, path = pyhelp.start(python, wd, "split.py", pyhelp.SPLIT)
    try:
        out = pyhelp.pysample(p.pid, "-f", "300", "-d", "1", "-l", "current").stdout
    finally:
        gptest.kill_quietly(p)
    st = pyhelp.stacks(out)
    assert st, f"{label}: no samples"
    for f, _ in st:
        # the calls sit on their lines; burn runs its loop (lines 2-5)
        assert f[0] == frame("<module>", path, 18), f"{label}: {f}"
        assert f[1] in (frame("main", path, 15), frame("main", path, 16)), f"{label}: {f}"
        if len(f) == 4:
            assert f[3].startswith("burn (") and f[3].rsplit(":", 1)[1] in ("1)_[p]", "2)_[p]", "3)_[p]",
                                                                          "4)_[p]", "5)_[p]"), f"{label}: {f}"
    lines = {f[3] for f, _ in st if len(f) == 4}
    assert frame("burn", path, 4) in lines, f"{label}: the loop body never seen: {lines}"


def check_threads(label, python):
    wd = gptest.Workdir("pythreads")
    p, _ = pyhelp.start(python, wd, "threads.py", pyhelp.THREADED)
    try:
        out = pyhelp.pysample(p.pid, "-f", "200", "-d", "2").stdout
    finally:
        gptest.kill_quietly(p)
    st = pyhelp.stacks(out)
    total = sum(c for _, c in st)
    assert total > 100, f"{label}: too few samples:\n{out}"
    assert not any("sleeper" in x for f, _ in st for x in f), f"{label}: sleeping thread sampled:\n{out}"
    spin = pyhelp.share(st, lambda f: any(x.startswith("spinner (") for x in f))
    assert spin > 0.9, f"{label}: busy thread only {spin:.2f} of samples:\n{out}"


def check_deep(label, python):
    wd = gptest.Workdir("pydeep")
    p, path = pyhelp.start(python, wd, "deep.py", pyhelp.DEEP, args=["700"])
    try:
        out = pyhelp.pysample(p.pid, "-f", "50", "-d", "1").stdout
    finally:
        gptest.kill_quietly(p)
    st = pyhelp.stacks(out)
    assert st, f"{label}: no samples"
    for f, _ in st:
        # 702 frames: the 512 kept are the outermost ones
        assert len(f) == 512, f"{label}: depth {len(f)}"
        assert f[0] == frame("<module>", path, 1) and f[1] == frame("rec", path, 3), f[:2]
    wd.cleanup()


def check_package_tags(label, python):
    wd = gptest.Workdir("pypkgs")
    p, _ = pyhelp.start(python, wd, "pkgs.py", pyhelp.PACKAGES)
    try:
        version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                                 stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
        pip = subprocess.run([python, "-c", "import pip; print(pip.__version__, pip.__file__)"],
                             stdout=subprocess.PIPE, text=True).stdout.split()
        out = pyhelp.pysample(p.pid, "-f", "300", "-d", "1").stdout
        plain = pyhelp.pysample(p.pid, "-f", "100", "-d", "1", "-n").stdout
    finally:
        gptest.kill_quietly(p)
    frames = {x for f, _ in pyhelp.stacks(out) for x in f}
    enc = [x for x in frames if x.startswith("encode (") and "/json/encoder.py:" in x]
    assert enc and all(x.endswith(f" [standard-library=={version}])_[p]") for x in enc), enc
    if pip and "site-packages" in pip[1]:
        ver = [x for x in frames if "/pip/_vendor/packaging/version.py:" in x]
        assert ver and all(x.endswith(f" [pip=={pip[0]}])_[p]") for x in ver), (pip, ver)
    assert "[standard-library==" not in plain and "[pip==" not in plain, plain
    wd.cleanup()


def check_exit(label, python):
    wd = gptest.Workdir("pyexit")
    p, _ = pyhelp.start(python, wd, "exits.py", pyhelp.EXITS)
    try:
        r = pyhelp.pysample(p.pid, "-f", "100", "-d", "3", check=False)
    finally:
        p.wait()
    assert r.returncode == 3, f"{label}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    assert r.stdout.strip() == "ERROR: process went down during profiling", r.stdout
    wd.cleanup()


def make(check, label, python):
    def t():
        check(label, python)
    t.__name__ = f"{check.__name__}[{label}]"
    return t


def main():
    pyhelp.require_pysample()
    found = pyhelp.interpreters()
    if not found:
        gptest.skip("no CPython 3.8+ on this machine (neither /usr/bin/python3.11 nor pyenv)")
    print("interpreters:", ", ".join(label for label, _ in found))
    tests = []
    for label, python in found:
        for check in (check_split, check_current_line, check_threads, check_deep, check_package_tags,
                      check_exit):
            tests.append(make(check, label, python))
    gptest.main(tests)


if __name__ == "__main__":
    main()
