# SPDX-License-Identifier: Apache-2.0
"""A Python process in its own mount and pid namespaces, as in a container:
its interpreter binary exists only inside (a tmpfs mounted in its mount
namespace), so the sampler must reach the ELF through /proc/PID/map_files
or /proc/PID/root, and the appid must resolve the script under
/proc/PID/root. The process is pid 1 of its namespace."""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptest  # noqa: E402
import pyhelp  # noqa: E402

PYTHON = "/usr/bin/python3.11"


def child_of(pid):
    for _ in range(100):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
        except FileNotFoundError:
            kids = []
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    raise AssertionError("unshare started no child")


def test_container_like_process():
    wd = gptest.Workdir("pyns")
    mnt = wd.file("mnt")
    os.mkdir(mnt)
    with open(wd.file("split.py"), "w") as f:
        f.write(pyhelp.SPLIT)
    script = (f"mount -t tmpfs gp {mnt} && cp {PYTHON} {wd.file('split.py')} {mnt}/ && "
              f"cd {mnt} && exec ./python3.11 split.py")
    u = subprocess.Popen(["unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c", script])
    pid = None
    try:
        pid = child_of(u.pid)
        time.sleep(0.6)
        assert not os.path.exists(os.path.join(mnt, "python3.11")), "tmpfs leaked to the host"
        with open(f"/proc/{pid}/status") as f:
            nspid = [line.split()[1:] for line in f if line.startswith("NSpid:")][0]
        assert nspid[-1] == "1", f"not pid 1 in its namespace: {nspid}"

        out = pyhelp.pysample(pid, "-f", "300", "-d", "2").stdout
        st = pyhelp.stacks(out)
        assert sum(c for _, c in st) > 300, out
        inside = os.path.join(mnt, "split.py")
        heavy = pyhelp.share(st, lambda f: f[-2] == f"heavy ({inside}:7)_[p]")
        light = pyhelp.share(st, lambda f: f[-2] == f"light ({inside}:10)_[p]")
        assert abs(heavy / (heavy + light) - 0.75) < 0.05, out

        appid = pyhelp.pysample(pid, "--appid").stdout.strip()
        assert appid == f"python: split.py ({inside})", appid
        md = pyhelp.pysample(pid, "--meta").stdout
        assert '"python_version": "Python 3.11' in md, md
        assert f'"exe": "{mnt}/python3.11"' in md and '"execfn": "./python3.11"' in md, md
        assert '"exe_elfid": "buildid:' in md and '"arch": "x86_64"' in md, md
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)  # pid 1 of a namespace ignores SIGTERM
        u.wait()
        wd.cleanup()


def main():
    pyhelp.require_pysample()
    if not os.path.exists(PYTHON):
        gptest.skip(f"{PYTHON} is not installed")
    if not shutil.which("unshare"):
        gptest.skip("unshare (util-linux) is not installed")
    gptest.main([test_container_like_process])


if __name__ == "__main__":
    main()
