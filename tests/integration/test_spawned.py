#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""--profile-spawned-processes: a Python process started in the middle of a
session gets Python frames for the rest of it; without the flag it only has
native frames (its runtime is discovered at the next session's start)."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402

SCRIPT = """
import sys
import time
def gp_spawned_busy():
    end = time.time() + float(sys.argv[1])
    while time.time() < end:
        pass
gp_spawned_busy()
"""
PYTHON = "/usr/bin/python3.11"


def run(flag):
    wd = gptest.Workdir("spawned")
    try:
        script = wd.file("spawned.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        # a copy with a name of its own, so other Python processes on the
        # host are not mistaken for it (its comm is "python3.11-gpsp")
        python = wd.file("python3.11-gpspawned")
        shutil.copy(PYTHON, python)
        out = wd.file("out")
        g = gptest.start_gprofiler(["-o", out, "-d", "7", "-f", "99", *flag])
        time.sleep(2)
        # outlives the session, so its job runs to the session's end
        w = subprocess.Popen([python, script, "7"])
        try:
            assert g.wait(timeout=60) == 0, g.stderr.read()
        finally:
            gptest.kill_quietly(w)
        col = gptest.last_col(out)
        return [(f, c) for f, c in col.stacks if f[2] == "python3.11-gpsp"]
    finally:
        wd.cleanup()


def test_spawned_python_gets_python_frames():
    if not os.path.exists(PYTHON):
        gptest.skip(f"{PYTHON} is not installed")
    stacks = run(["--profile-spawned-processes"])
    py = sum(c for f, c in stacks if any("gp_spawned_busy" in x and x.endswith("_[p]") for x in f))
    total = sum(c for f, c in stacks)
    print(f"{py}/{total} samples with Python frames")
    assert total and py / total > 0.8, stacks[:5]


def test_without_the_flag_native_only():
    if not os.path.exists(PYTHON):
        gptest.skip(f"{PYTHON} is not installed")
    stacks = run([])
    assert stacks, "the spawned process is missing"
    assert not any(x.endswith("_[p]") for f, c in stacks for x in f), stacks[:3]


if __name__ == "__main__":
    gptest.require_root()
    gptest.main([test_spawned_python_gets_python_frames, test_without_the_flag_native_only])
