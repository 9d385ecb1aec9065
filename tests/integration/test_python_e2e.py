# SPDX-License-Identifier: Apache-2.0
"""gprofiler end to end on Python processes: `gprofiler -o DIR -d 5` with a
3:1 split script under Debian's static python3.11 and pyenv's shared
libpython 3.11 gives .col lines like
  idx;;python3.11;appid: python: /path/split.py (/path/split.py);<module> (/path/split.py:1)_[p];...
with the split right, only Python frames for those pids (their native
stacks are replaced) and gProfiler's application metadata; a script that
exits mid-session shows the error stack.

The merged total of a pid must equal its native sample count. The .col
does not carry that count, so a second gprofiler runs at the same time
with --python-mode disabled (native only, same rate and duration): both
sample the same CPU time, so the totals agree up to sampling noise. The
workloads run under unique comms (exec through a symlink, argv[0] kept)
so other processes on the machine cannot blur the sums."""
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptest  # noqa: E402
import pyhelp  # noqa: E402

RATE = 199
DURATION = 5


def start_as(python, wd, comm, text):
    """Runs python on a script with argv[0] "python3.11" and comm `comm`."""
    path = wd.file("split.py")
    with open(path, "w") as f:
        f.write(text)
    link = wd.file(comm)
    os.symlink(python, link)
    p = subprocess.Popen(["python3.11", path], executable=link, cwd=wd.path)
    time.sleep(0.4)
    assert p.poll() is None
    return p, path


def native_only(out, pidfile):
    """A concurrent gprofiler without runtime profilers."""
    return subprocess.Popen([gptest.BIN, "-o", out, "-d", str(DURATION), "-f", str(RATE),
                             "--python-mode", "disabled", "--lock-name", gptest.lock_name() + "_native",
                             "--pid-file", pidfile, "--log-file", ""],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_split_appid_metadata_and_totals():
    pythons = [("debian", "/usr/bin/python3.11")]
    shared = sorted(glob.glob("/root/.pyenv/versions/3.11*/bin/python3.11"))
    if shared:
        pythons.append(("pyenv", shared[-1]))
    procs, out, nat = [], gptest.Workdir("pye2e"), gptest.Workdir("pye2e-native")
    try:
        for label, python in pythons:
            wd = gptest.Workdir(f"pye2e-{label}")
            comm = f"gpe2e{os.getpid() % 10000}{label[:3]}"
            p, path = start_as(python, wd, comm, pyhelp.SPLIT)
            procs.append((label, python, wd, p, path, comm))
        n = native_only(nat.path, nat.file("pid"))
        gptest.run_gprofiler(["-o", out.path, "-d", str(DURATION), "-f", str(RATE),
                              "--pid-file", out.file("pid")])
        n.communicate(timeout=120)
        assert n.returncode == 0, "the native-only gprofiler failed"
    finally:
        for _, _, _, p, _, _ in procs:
            gptest.kill_quietly(p)
    col = gptest.last_col(out.path)
    native = gptest.last_col(nat.path)
    metas = col.header["application_metadata"]
    for label, python, wd, p, path, comm in procs:
        appid = f"appid: python: {path} ({path})"
        mine = [(f, c) for f, c in col.stacks if len(f) > 4 and f[2] == comm]
        assert mine, f"{label}: no stacks of {comm}:\n{col.text[:3000]}"
        idx = {f[0] for f, _ in mine}
        assert len(idx) == 1, idx
        for f, _ in mine:
            assert f[1] == "" and f[3] == appid, f[:4]
            assert f[4] == f"<module> ({path}:1)_[p]", f
            assert all(x.endswith("_[p]") for x in f[4:]), f"{label}: native frame left: {f}"
        total = sum(c for _, c in mine)
        heavy = sum(c for f, c in mine if f[-2:] == [f"heavy ({path}:7)_[p]", f"burn ({path}:1)_[p]"])
        light = sum(c for f, c in mine if f[-2:] == [f"light ({path}:10)_[p]", f"burn ({path}:1)_[p]"])
        ratio = heavy / (heavy + light)
        nat_total = native.total(lambda f: len(f) > 2 and f[2] == comm)
        print(f"  {label}: merged {total} samples, native-only run {nat_total}, heavy share {ratio:.3f}")
        assert abs(ratio - 0.75) < 0.06, f"{label}: split {ratio:.3f}"
        assert nat_total > 100, f"{label}: native run saw {nat_total} samples"
        assert abs(total - nat_total) <= 0.1 * nat_total + 5, f"{label}: merged {total} vs native {nat_total}"
        md = metas[int(next(iter(idx)))]
        version = os.popen(f"{python} -V").read().strip()
        assert md["python_version"] == version, (md, version)
        assert md["exe"] == os.path.realpath(python) and md["arch"] == "x86_64", md
        assert md["exe_elfid"].startswith("buildid:") and md["sys_maxunicode"] is None, md
        if label == "debian":
            assert md["libpython_elfid"] is None, md
        else:
            assert md["libpython_elfid"].startswith("buildid:"), md
        wd.cleanup()
    out.cleanup()
    nat.cleanup()


def test_exit_mid_session():
    wd, out = gptest.Workdir("pye2e-exit"), gptest.Workdir("pye2e-out")
    path = wd.file("exits.py")
    with open(path, "w") as f:
        f.write(pyhelp.EXITS.replace("spin(1.0)", "spin(2.0)"))
    p = subprocess.Popen(["/usr/bin/python3.11", path], cwd=wd.path)
    time.sleep(0.3)
    try:
        gptest.run_gprofiler(["-o", out.path, "-d", str(DURATION), "-f", str(RATE)])
    finally:
        p.wait()
    col = gptest.last_col(out.path)
    appid = f"appid: python: {path} ({path})"
    mine = [(f, c) for f, c in col.stacks if appid in f]
    assert mine, f"no stacks for the exited script:\n{col.text[:3000]}"
    assert all("[Profiling error: process went down during profiling]" in f for f, _ in mine), mine
    wd.cleanup()
    out.cleanup()


def main():
    gptest.require_root()
    if not os.path.exists("/usr/bin/python3.11"):
        gptest.skip("/usr/bin/python3.11 is not installed")
    gptest.main([test_split_appid_metadata_and_totals, test_exit_mid_session])


if __name__ == "__main__":
    main()
