#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The built-in Java profiler (HotSpot attach + our JVMTI agent) on Debian's
OpenJDK 17, driven through tests/tools/javasample (java_runtime_ops.profile
on one pid, as the daemon's job thread runs it):
  - a known 3:1 CPU split comes out within a few percent, with
    async-profiler-style marked frames and the appid "java: ZClass";
  - several sessions against one JVM leave its threads, signal handlers and
    memory flat, and the JVM finishes its work and exits 0;
  - a JVM that exits mid-session gives its profile (normal exit) or an
    error (SIGKILL), a crash turns Java profiling off, and nothing hangs;
  - an agent whose daemon died stops itself, or is restarted cleanly;
  - JVMs in containers (own mount, pid and user namespaces), JDK 25,
    interpreted frames, dotted frames, and the application metadata."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                                "java"))
import gptest  # noqa: E402
import jvmtest  # noqa: E402
from jvmtest import Jvm, javasample  # noqa: E402

WORK = None
CLASSES = None


def test_split_3_to_1():
    jvm = Jvm(CLASSES, ["ZClass", "120", "2"])
    try:
        s = javasample(jvm.pid, freq=99, secs=4, sessions=2, extra=["-a"])
    finally:
        jvm.kill()
    assert s.appid == "java: ZClass", s.appid
    for i, sess in enumerate(s.sessions):
        assert sess.error is None, sess.error
        ratio, n = jvmtest.split_ratio(sess)
        print(f"session {i + 1}: slowPath share {ratio:.3f} of {n} samples")
        # warm-up session: JIT compiling; the second is the measurement
        if i == 1:
            assert 0.70 <= ratio <= 0.80, f"3:1 split measured as {ratio:.3f}"
        java = sess.total(lambda f: all(jvmtest.MARK.search(x) for x in f))
        assert java >= 0.9 * sess.total(), f"non-Java samples: {sess.stacks}"
    # async-profiler's annotated style, with gProfiler's "sig" descriptors
    leaves = {f[-1] for f, _ in s.sessions[1].stacks}
    assert any(x in leaves for x in ("ZClass.slowPath(J)J_[j]", "ZClass.slowPath(J)J_[i]")), leaves
    assert any("ZClass.work(JJ)J_[" in ";".join(f) for f, _ in s.sessions[1].stacks)
    assert any(f[0] == "java/lang/Thread.run()V_[j]" or f[0] == "java/lang/Thread.run()V_[0]"
               for f, _ in s.sessions[1].stacks)


def test_sessions_leave_nothing_behind():
    jvm = Jvm(CLASSES, ["ZClass", "25", "1"],
              jvm_args=["-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch",
                        "-XX:-UseDynamicNumberOfCompilerThreads"])
    time.sleep(1)
    before = jvm.threads()
    between = [jvm.settled()]  # (threads, rss_kb, SIGPROF handled, agent thread)
    p = subprocess.Popen(jvmtest.javasample_cmd(jvm.pid, freq=99, secs=1.5, sessions=6,
                                                pause=1),
                         stdout=subprocess.PIPE, text=True)
    out = []
    for line in p.stdout:
        out.append(line)
        if line.startswith("# pause"):
            between.append(jvm.settled())
    p.wait(timeout=120)
    s = jvmtest.Sample("".join(out))
    for sess in s.sessions:
        assert sess.error is None and sess.stacks, sess.error
    print("threads/rss between sessions:", [(t, r) for t, r, _, _ in between],
          "before any:", before)
    # the first attach starts HotSpot's "Attach Listener" thread, for good,
    # and the JVM settles during the first session: compare from the second
    threads = [t for t, _, _, _ in between[2:]]
    assert max(threads) == min(threads), (threads, jvm.thread_names())
    assert not any(h for _, _, h, _ in between), "SIGPROF handler left installed"
    assert not any(a for _, _, _, a in between), "agent thread left running"
    rss = [r for _, r, _, _ in between[2:]]
    assert max(rss) - min(rss) < 8 * 1024, f"RSS grew across sessions: {rss}"
    rc, stdout = jvm.wait()
    assert rc == 0 and "ZClass done" in stdout, (rc, stdout)


def test_jvm_exits_mid_session():
    # a normal exit: the agent writes what it has at the VM's death
    jvm = Jvm(CLASSES, ["ZClass", "2", "1"])
    s = javasample(jvm.pid, freq=99, secs=8, timeout=60)
    jvm.wait()
    sess = s.sessions[0]
    print("normal exit:", sess.error, sess.total())
    assert sess.error is None, sess.error
    assert sess.leaf_total("ZClass.") > 0, sess.stacks
    # killed: nothing was written
    jvm = Jvm(CLASSES, ["ZClass", "60", "1"])
    p = subprocess.Popen(jvmtest.javasample_cmd(jvm.pid, secs=8), stdout=subprocess.PIPE,
                         text=True)
    time.sleep(2)
    jvm.kill()
    out, _ = p.communicate(timeout=60)
    sess = jvmtest.Sample(out).sessions[0]
    print("killed:", sess.error)
    assert sess.error == "process exited before reading the output", out


def test_crash_disables_java():
    jvm = Jvm(CLASSES, ["ZClass", "2", "1", "crash"], jvm_args=["-XX:-CreateCoredumpOnCrash"],
              cwd=WORK.path)
    s = javasample(jvm.pid, secs=8, sessions=2, timeout=60)
    jvm.wait()
    first, second = s.sessions
    print("crash:", first.error, "| next:", second.skipped)
    assert first.error and "crashed" in first.error and "hs_err_pid" in first.error, first.error
    assert second.skipped == "disabled due to hserr", second.skipped


def test_agent_outlives_no_daemon():
    jvm = Jvm(CLASSES, ["ZClass", "60", "1"])
    try:
        # the "daemon" dies mid-session: the agent stops itself at its deadline
        p = subprocess.Popen(jvmtest.javasample_cmd(jvm.pid, secs=2,
                                                    opts=["java_agent_margin=1"]),
                             stdout=subprocess.DEVNULL)
        assert jvmtest.wait_until(lambda: jvmtest.handles_sigprof(jvm.pid), 20)
        p.kill()
        p.wait()
        assert jvmtest.handles_sigprof(jvm.pid), "agent gone before its deadline"
        assert jvmtest.wait_until(lambda: not jvmtest.handles_sigprof(jvm.pid) and
                                  "gprofiler-java-" not in jvm.thread_names(), 30), \
            "the agent did not stop itself"
        # and again, but a new session starts before that deadline
        p = subprocess.Popen(jvmtest.javasample_cmd(jvm.pid, secs=30), stdout=subprocess.DEVNULL)
        assert jvmtest.wait_until(lambda: jvmtest.handles_sigprof(jvm.pid), 20)
        p.kill()
        p.wait()
        s = javasample(jvm.pid, secs=2)
        assert s.sessions[0].error is None and s.sessions[0].leaf_total("ZClass.") > 0, s.text
        assert not jvmtest.handles_sigprof(jvm.pid)
        assert "gprofiler-java-" not in jvm.thread_names()
    finally:
        jvm.kill()


def test_container_namespaces():
    # its own mount, pid (it is pid 1) and user namespaces (root = host uid 100000)
    classes = jvmtest.compile_fixtures("/var/tmp/gp-java-classes-%d" % os.getpid())
    try:
        jvm = Jvm(classes, ["ZClass", "30", "1"],
                  wrapper=[sys.executable, os.path.join(jvmtest.HERE, "nsrun.py"), "--userns",
                           classes, "--"])
        try:
            assert jvmtest.status_field(jvm.pid, "Uid") == 100000
            s = javasample(jvm.pid, secs=3, extra=["-a", "-M"])
        finally:
            jvm.kill()
        sess = s.sessions[0]
        assert sess.error is None, sess.error
        assert sess.leaf_total("ZClass.slowPath") > 0, sess.stacks
        assert s.appid == "java: ZClass", s.appid
        assert s.metadata["java_version"].startswith('openjdk version "17'), s.metadata
    finally:
        subprocess.run(["rm", "-rf", classes])


def test_jdk25():
    if not os.path.exists(jvmtest.JDK25):
        print("no Temurin 25 here: skipping this case")
        return
    jvm = Jvm(CLASSES, ["ZClass", "30", "1"], java=jvmtest.JDK25)
    try:
        s = javasample(jvm.pid, secs=3, sessions=2, extra=["-a"])
    finally:
        jvm.kill()
    for sess in s.sessions:
        assert sess.error is None, sess.error
        assert sess.leaf_total("ZClass.slowPath") > 0, sess.stacks
    assert s.appid == "java: ZClass"


def test_interpreted_and_dotted():
    jvm = Jvm(CLASSES, ["ZClass", "30", "1"], jvm_args=["-Xint"])
    try:
        s = javasample(jvm.pid, secs=2)
        d = javasample(jvm.pid, secs=2, opts=["java_frames=dotted"])
    finally:
        jvm.kill()
    frames = [x for f, _ in s.sessions[0].stacks for x in f if not x.startswith("[")]
    assert frames and all(x.endswith("_[0]") for x in frames), frames
    frames = {x for f, _ in d.sessions[0].stacks for x in f}
    assert "ZClass.slowPath_[0]" in frames and "java.lang.Thread.run_[0]" in frames, frames


def test_metadata():
    jvm = Jvm(CLASSES, ["ZClass", "30", "1"], jvm_args=["-Xmx96m"])
    try:
        s = javasample(jvm.pid, secs=1, extra=["-M"])
    finally:
        jvm.kill()
    md = s.metadata
    java = subprocess.run(["java", "-version"], stderr=subprocess.PIPE, text=True).stderr
    assert md["java_version"] == java, md["java_version"]
    assert md["libjvm_elfid"].startswith("buildid:"), md
    flags = {k: v for d in md["jvm_flags"] for k, v in d.items()}
    assert flags["MaxHeapSize"] == {"type": "size_t", "value": str(96 << 20),
                                    "origin": "command line", "kind": ["product"]}, flags
    assert all(v["origin"] != "default" for v in flags.values())
    assert md["exe"].endswith("/bin/java") and md["arch"] == "x86_64", md


if __name__ == "__main__":
    jvmtest.require_java()
    WORK = gptest.Workdir("java")
    CLASSES = jvmtest.compile_fixtures(WORK.file("classes"))
    try:
        gptest.main([jvmtest.retry_when_disturbed(t) for t in (
            test_split_3_to_1, test_sessions_leave_nothing_behind,
            test_jvm_exits_mid_session, test_crash_disables_java,
            test_agent_outlives_no_daemon, test_container_namespaces, test_jdk25,
            test_interpreted_and_dotted, test_metadata)])
    finally:
        WORK.cleanup()
