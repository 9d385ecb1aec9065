#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Java end to end: `gprofiler -o DIR -d 5` while a JVM runs a known 3:1
split. The .col has the JVM's Java stacks (async-profiler-style marked
frames, under its comm and the appid "java: ZClass"), its application
metadata, roughly the 3:1 split, and the JVM carries on and exits 0."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                                "java"))
import gptest  # noqa: E402
import jvmtest  # noqa: E402
from jvmtest import Jvm  # noqa: E402

WORK = None
CLASSES = None


def test_gprofiler_profiles_a_jvm():
    out = WORK.file("out")
    jvm = Jvm(CLASSES, ["ZClass", "15", "2"])
    try:
        p = gptest.run_gprofiler(["-o", out, "-d", "5", "-f", "99", "--pids", str(jvm.pid)], timeout=120)
        rc, stdout = jvm.wait()
    finally:
        jvm.kill()
    assert rc == 0 and "ZClass done" in stdout, (rc, stdout)
    col = gptest.last_col(out)
    mine = [(f, c) for f, c in col.stacks if len(f) > 3 and f[2] == "java"]
    assert mine, f"no stacks for the JVM:\n{col.text[:3000]}\n{p.stdout[-2000:]}"
    assert all(f[3] == "appid: java: ZClass" for f, _ in mine), {f[3] for f, _ in mine}
    errors = [f for f, _ in mine if any(x.startswith("[Profiling") for x in f)]
    assert not errors, f"{errors}\n{p.stdout[-2000:]}"
    slow = sum(c for f, c in mine if f[-1].startswith("ZClass.slowPath") and jvmtest.MARK.search(f[-1]))
    fast = sum(c for f, c in mine if f[-1].startswith("ZClass.fastPath") and jvmtest.MARK.search(f[-1]))
    assert slow + fast > 0.8 * sum(c for _, c in mine), mine
    ratio = slow / (slow + fast)
    print(f"slowPath share {ratio:.3f} of {slow + fast} samples (scaled to the native count)")
    # the first session of a fresh JVM includes its warm-up: a looser bound
    assert 0.65 <= ratio <= 0.85, ratio
    idx = int(mine[0][0][0])
    md = col.header["application_metadata"][idx]
    assert md and md["java_version"].startswith("openjdk version"), md
    assert md["libjvm_elfid"].startswith("buildid:") and isinstance(md["jvm_flags"], list), md


if __name__ == "__main__":
    jvmtest.require_java()
    gptest.require_root()
    WORK = gptest.Workdir("javad")
    CLASSES = jvmtest.compile_fixtures(WORK.file("classes"))
    try:
        gptest.main([jvmtest.retry_when_disturbed(test_gprofiler_profiles_a_jvm)])
    finally:
        WORK.cleanup()
