# SPDX-License-Identifier: Apache-2.0
"""The py-spy driver with a fake py-spy (py-spy is not installable here):
a script written by this test that checks it got gProfiler's exact
command line, then writes py-spy's raw grammar (Granulate's fork and
upstream forms), fails, or hangs, as the test asks. Also --python-mode
auto falling back to py-spy for an interpreter the built-in sampler does
not support (pyenv 3.7/3.6 when present)."""
import glob
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptest  # noqa: E402
import pyhelp  # noqa: E402

FAKE = r'''#!%(python)s
import json, os, re, signal, sys, time
mode = os.environ.get("FAKE_PYSPY_MODE", "ok")
log = os.environ["FAKE_PYSPY_LOG"]
a = sys.argv
with open(log, "w") as f:
    json.dump({"argv": a, "pid": os.getpid()}, f)
want = ["record", "-r", None, "-d", None, "--nonblocking", "--format", "raw", "-F",
        "--output", None, "-p", None, "--full-filenames", "--gil"]
if len(a) != len(want) + 1 or any(w is not None and w != x for w, x in zip(want, a[1:])):
    print("fake py-spy: unexpected argv %%r" %% (a,), file=sys.stderr)
    sys.exit(64)
rate, dur, out, pid = int(a[3]), int(a[5]), a[11], int(a[13])
if mode == "hang":
    while True:
        time.sleep(1)
if mode == "fail":
    print("Error: something else went wrong", file=sys.stderr)
    sys.exit(1)
if mode == "target-gone":
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    sys.stderr.write("Error: Failed to get process executable name. Check that the process is running.\n")
    sys.exit(1)
time.sleep(0.2)
with open(out, "w") as f:
    # Granulate's fork (frames end in _[p]) ...
    f.write("<module> (/app/x.py:1)_[p];main (/app/x.py:13)_[p];heavy (/app/x.py:7)_[p] %%d\n" %% (3 * rate))
    # ... and upstream's forms: no line, bare name
    f.write("<module> (/app/x.py:1);main (/app/x.py:13);light (/app/x.py) %%d\n" %% rate)
    f.write("<module> (/app/x.py:1);<native> 2\n")
    # a standard-library frame: tagged as gProfiler does
    f.write("<module> (/app/x.py:1);dumps (/usr/lib/python3.11/json/__init__.py:183) 1\n")
'''


class Fake:
    def __init__(self, wd):
        self.path = wd.file("py-spy")
        self.log = wd.file("fake.json")
        with open(self.path, "w") as f:
            f.write(FAKE % {"python": sys.executable})
        os.chmod(self.path, 0o755)

    def run(self, pid, mode="ok", args=(), check=True):
        env = dict(os.environ, FAKE_PYSPY_MODE=mode, FAKE_PYSPY_LOG=self.log)
        if os.path.exists(self.log):
            os.unlink(self.log)
        import subprocess
        p = subprocess.run([pyhelp.PYSAMPLE, "-s", self.path, *args, str(pid)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        assert p.returncode >= 0, f"pysample died of signal {-p.returncode}"
        if check:
            assert p.returncode == 0, f"exit {p.returncode}: {p.stdout} {p.stderr}"
        return p

    def called(self):
        if not os.path.exists(self.log):
            return None
        with open(self.log) as f:
            return json.load(f)


def debian_version():
    import subprocess
    return subprocess.run(["/usr/bin/python3.11", "-c", "import platform; print(platform.python_version())"],
                          stdout=subprocess.PIPE, text=True, check=True).stdout.strip()


def target(wd, python="/usr/bin/python3.11"):
    return pyhelp.start(python, wd, "split.py", pyhelp.SPLIT)[0]


def test_fake_pyspy_command_line_and_output():
    wd = gptest.Workdir("pyspy")
    fake, p = Fake(wd), target(wd)
    tmp = wd.file("tmp")
    os.mkdir(tmp)
    try:
        r = fake.run(p.pid, args=["-m", "pyspy", "-f", "200", "-d", "2", "-t", tmp])
    finally:
        gptest.kill_quietly(p)
    argv = fake.called()["argv"]
    assert argv[0] == fake.path
    assert argv[1:11] == ["record", "-r", "50", "-d", "2", "--nonblocking", "--format", "raw",
                          "-F", "--output"], argv  # rate capped at 50
    assert re.fullmatch(re.escape(tmp) + r"/pyspy\.[0-9a-f]{16}\.%d\.col" % p.pid, argv[11]), argv[11]
    assert argv[12:] == ["-p", str(p.pid), "--full-filenames", "--gil"], argv
    assert not os.listdir(tmp), "py-spy's output file was left behind"
    assert r.stdout.splitlines() == [
        "<module> (/app/x.py:1)_[p];main (/app/x.py:13)_[p];heavy (/app/x.py:7)_[p] 150",
        "<module> (/app/x.py:1)_[p];main (/app/x.py:13)_[p];light (/app/x.py)_[p] 50",
        "<module> (/app/x.py:1)_[p];<native>_[p] 2",
        "<module> (/app/x.py:1)_[p];dumps (/usr/lib/python3.11/json/__init__.py:183 "
        f"[standard-library=={debian_version()}])_[p] 1",
    ], r.stdout
    wd.cleanup()


def test_fake_pyspy_mode_alias_and_low_rate():
    wd = gptest.Workdir("pyspy")
    fake, p = Fake(wd), target(wd)
    try:
        fake.run(p.pid, args=["-m", "py-spy", "-f", "11", "-d", "1"])
    finally:
        gptest.kill_quietly(p)
    argv = fake.called()["argv"]
    assert argv[3] == "11" and argv[5] == "1", argv
    wd.cleanup()


def test_fake_pyspy_failures():
    wd = gptest.Workdir("pyspy")
    fake, p = Fake(wd), target(wd)
    try:
        r = fake.run(p.pid, mode="fail", args=["-m", "pyspy", "-d", "1"], check=False)
        assert (r.returncode, r.stdout.strip()) == (3, "ERROR: exception CalledProcessError"), r.stdout
        r = fake.run(p.pid, mode="target-gone", args=["-m", "pyspy", "-d", "1"], check=False)
        assert (r.returncode, r.stdout.strip()) == (3, "ERROR: process exited before py-spy started"), \
            r.stdout
    finally:
        gptest.kill_quietly(p)
    wd.cleanup()


def test_fake_pyspy_hang_is_killed():
    wd = gptest.Workdir("pyspy")
    fake, p = Fake(wd), target(wd)
    try:
        r = fake.run(p.pid, mode="hang", args=["-m", "pyspy", "-d", "1"], check=False)
    finally:
        gptest.kill_quietly(p)
    assert (r.returncode, r.stdout.strip()) == (3, "ERROR: exception CalledProcessTimeoutError"), r.stdout
    child = fake.called()["pid"]
    assert not os.path.exists(f"/proc/{child}"), "the hung py-spy was not killed and reaped"
    wd.cleanup()


def test_fake_pyspy_auto_fallback():
    old = sorted(glob.glob("/root/.pyenv/versions/3.7*/bin/python3") +
                 glob.glob("/root/.pyenv/versions/3.6*/bin/python3"))
    wd = gptest.Workdir("pyspy")
    fake = Fake(wd)
    # a supported interpreter: auto uses the built-in sampler, not py-spy
    p = target(wd)
    try:
        r = fake.run(p.pid, args=["-m", "auto", "-d", "1"])
    finally:
        gptest.kill_quietly(p)
    assert fake.called() is None, "auto ran py-spy for a supported version"
    assert "heavy (" in r.stdout and "/app/x.py" not in r.stdout, r.stdout
    if not old:
        print("  (no pyenv 3.6/3.7 here: fallback for old versions not exercised)")
        wd.cleanup()
        return
    p = target(wd, old[-1])
    try:
        r = fake.run(p.pid, args=["-m", "auto", "-d", "1"])
        assert fake.called() is not None and "heavy (/app/x.py:7)_[p] 150" in r.stdout, r.stdout
        # without py-spy, auto reports the version as skipped
        r = fake.run(p.pid, args=["-m", "auto", "-d", "1", "-s", "/nonexistent/py-spy"], check=False)
        assert r.returncode == 4, r.stdout
        assert re.match(r"SKIPPED: (unsupported Python version 3\.[67]|no CPython)", r.stdout), r.stdout
        # builtin never falls back
        r = fake.run(p.pid, args=["-m", "builtin", "-d", "1"], check=False)
        assert r.returncode == 4 and fake.called() is None, r.stdout
    finally:
        gptest.kill_quietly(p)
    wd.cleanup()


def main():
    pyhelp.require_pysample()
    if not os.path.exists("/usr/bin/python3.11"):
        gptest.skip("/usr/bin/python3.11 is not installed")
    gptest.main([test_fake_pyspy_command_line_and_output, test_fake_pyspy_mode_alias_and_low_rate,
                 test_fake_pyspy_failures, test_fake_pyspy_hang_is_killed,
                 test_fake_pyspy_auto_fallback])


if __name__ == "__main__":
    main()
