#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The async-profiler path of the Java profiler, against a fake
async-profiler (tests/fixtures/java/fake_ap.c, built here): a JVMTI agent
library that accepts only gProfiler's exact start/stop strings, keeps
async-profiler's started/stopped state and writes its collapsed grammar.
Checked: the strings the JVM received, the stacks we parse from its
output, recovery from "[ERROR] Profiler already started" (a daemon that
died mid-session), and --java-mode ap falling back to the built-in
sampler when no async-profiler is installed."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                                "java"))
import gptest  # noqa: E402
import jvmtest  # noqa: E402
from jvmtest import Jvm, javasample  # noqa: E402

WORK = None
CLASSES = None
FAKE = None

EXPECTED = [
    (["ZClass.main([Ljava/lang/String|)V_[j]", "ZClass.work(JJ)J_[j]", "ZClass.slowPath(J)J_[i]"],
     75),
    (["ZClass.main([Ljava/lang/String|)V_[j]", "ZClass.work(JJ)J_[j]", "ZClass.fastPath(J)J_[i]"],
     25),
    (["java/lang/Thread.run()V_[j]", "java/io/FileOutputStream.write([BII)V_[i]",
      "java/io/FileOutputStream.writeBytes([BIIZ)V_[j]", "Java_java_io_FileOutputStream_writeBytes",
      "writeBytes", "__libc_write", "entry_SYSCALL_64_after_hwframe_[k]"], 3),
    (["java/util/HashMap.get(Ljava/lang/Object|)Ljava/lang/Object|_[0]"], 2),
    (["[unknown_Java]"], 1),
]


def fake_jvm(record):
    env = dict(os.environ, FAKE_AP_RECORD=record)
    return Jvm(CLASSES, ["ZClass", "60", "1"], env=env)


def test_fake_async_profiler_strings_and_output():
    record = WORK.file("args-1.txt")
    jvm = fake_jvm(record)
    try:
        s = javasample(jvm.pid, freq=11, secs=2, sessions=2, mode="ap",
                       opts=[f"ap_path={FAKE}"], extra=["-b"])
    finally:
        jvm.kill()
    assert s.backend == f"Java: async-profiler {FAKE}", s.backend
    for sess in s.sessions:
        assert sess.error is None, sess.error
        assert sorted(sess.stacks) == sorted(EXPECTED), sess.stacks
    with open(record) as f:
        lines = f.read().splitlines()
    assert len(lines) == 4, lines
    base = "/tmp/gprofiler_tmp"
    out = f"{base}/async-profiler-{jvm.pid}-"  # + the daemon's pid
    for start, stop in (lines[0:2], lines[2:4]):
        # gProfiler's exact strings: interval 1e9/11 ns, timeout = duration + 30 s
        assert start.startswith(f"start,event=itimer,file={out}"), start
        fields = start.split(",")
        assert fields[3:6] == ["collapsed", "ann", "sig"], start
        assert fields[6] == "interval=90909090", start
        assert fields[7].startswith(f"log={out}") and fields[7].endswith(".log"), start
        assert fields[8:12] == ["safemode=0", "", "features=probesp+vtable", "timeout=32"], start
        outfile = fields[2][len("file="):]
        assert stop == (f"stop,log={fields[7][4:]},mcache=30,file={outfile},collapsed,ann,sig,"
                        "meminfolog"), stop


def test_fake_async_profiler_already_started():
    record = WORK.file("args-2.txt")
    jvm = fake_jvm(record)
    try:
        # a "daemon" dies mid-session: the fake stays started
        p = subprocess.Popen(jvmtest.javasample_cmd(jvm.pid, secs=30, mode="ap",
                                                    opts=[f"ap_path={FAKE}"]),
                             stdout=subprocess.DEVNULL)
        assert jvmtest.wait_until(lambda: os.path.exists(record) and
                                  open(record).read().startswith("start,"), 20)
        p.kill()
        p.wait()
        # the next one gets code 200 + "Profiler already started": stop, start again
        s = javasample(jvm.pid, secs=1, mode="ap", opts=[f"ap_path={FAKE}"])
    finally:
        jvm.kill()
    assert s.sessions[0].error is None, s.sessions[0].error
    assert sorted(s.sessions[0].stacks) == sorted(EXPECTED)
    with open(record) as f:
        kinds = [line.split(",")[0] + ("+file" if ",file=" in line and line.startswith("stop")
                                       else "") for line in f.read().splitlines()]
    # start (killed daemon), start (refused), stop without output, start, stop with output
    assert kinds == ["start", "start", "stop", "start", "stop+file"], kinds


def test_fake_async_profiler_refuses_bad_strings():
    # extra arguments the fake does not accept: a clean error with its log line
    jvm = fake_jvm(WORK.file("args-3.txt"))
    try:
        s = javasample(jvm.pid, secs=1, mode="ap", opts=[f"ap_path={FAKE}", "ap_args=bogus=1"])
    finally:
        jvm.kill()
    err = s.sessions[0].error
    assert err and "async-profiler failed to start (code 100)" in err and \
        "[ERROR] unexpected arguments" in err, err


def test_ap_mode_falls_back_to_builtin():
    jvm = Jvm(CLASSES, ["ZClass", "60", "1"])
    try:
        s = javasample(jvm.pid, secs=2, mode="ap", extra=["-b"])
    finally:
        jvm.kill()
    assert s.backend.startswith("Java: async-profiler not found"), s.backend
    assert "using the built-in sampler" in s.backend
    assert s.sessions[0].error is None and s.sessions[0].leaf_total("ZClass.") > 0, s.text


if __name__ == "__main__":
    jvmtest.require_java()
    for p in ("/opt/async-profiler/lib/libasyncProfiler.so", "/usr/local/lib/libasyncProfiler.so",
              "/usr/lib/libasyncProfiler.so"):
        if os.path.exists(p):
            gptest.skip(f"a real async-profiler is installed ({p}): the fallback case "
                        "cannot be checked")
    WORK = gptest.Workdir("javaap")
    CLASSES = jvmtest.compile_fixtures(WORK.file("classes"))
    FAKE = WORK.file("libfakeap.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-o", FAKE,
                    os.path.join(jvmtest.HERE, "fake_ap.c")], check=True)
    os.chmod(WORK.path, 0o755)
    try:
        gptest.main([jvmtest.retry_when_disturbed(t) for t in (
            test_fake_async_profiler_strings_and_output,
            test_fake_async_profiler_already_started,
            test_fake_async_profiler_refuses_bad_strings,
            test_ap_mode_falls_back_to_builtin)])
    finally:
        WORK.cleanup()
