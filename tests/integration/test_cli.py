#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The command line and the daemon's life cycle, as gProfiler users know
them: exit codes and one-line errors, the singleton lock, SIGINT/SIGTERM
finishing the current session, continuous mode with rotating output,
config files and environment variables."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402

wd = None


def test_argument_errors_exit_2():
    cases = [[], ["-o", wd.file("x"), "-d", "0"], ["-o", wd.file("x"), "--perf-mode", "bogus"],
             ["-u", "-o", wd.file("x")], ["-o", wd.file("x"), "--bogus-flag"]]
    for args in cases:
        p = gptest.run_gprofiler(args, check=False)
        lines = [x for x in p.stderr.splitlines() if x.strip()]
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert len(lines) == 1 and lines[0].startswith("gprofiler: error: "), (args, p.stderr)
    p = gptest.run_gprofiler([], check=False)
    assert "Must pass at least one output method (--upload-results / --output-dir)" in p.stderr


def test_version_and_help():
    p = gptest.run_gprofiler(["--version"])
    assert p.stdout.strip().startswith("1.51.0"), p.stdout
    p = gptest.run_gprofiler(["--help"])
    for flag in ("--output-dir", "--profiling-frequency", "--perf-mode", "--pids", "--continuous"):
        assert flag in p.stdout, flag


def test_unimplemented_flag_is_named():
    out = wd.file("unimpl")
    p = gptest.run_gprofiler(["-o", out, "-d", "1", "--java-async-profiler-safemode", "5"])
    assert "--java-async-profiler-safemode is not implemented yet" in p.stderr, p.stderr


def test_singleton_lock_exit_0():
    out = wd.file("lock")
    first = gptest.start_gprofiler(["-o", out, "-d", "30"])
    try:
        time.sleep(1.0)
        second = subprocess.run([gptest.BIN, "-o", out, "-d", "1", "--lock-name",
                                 gptest.lock_name(), "--log-file", ""],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                timeout=30)
        assert second.returncode == 0, second.stderr
        assert "Is it already running?" in second.stderr, second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0


def test_sigint_finishes_the_session():
    out = wd.file("sigint")
    g = gptest.start_gprofiler(["-o", out, "-d", "60", "-f", "99"])
    time.sleep(2.5)
    start = time.monotonic()
    g.send_signal(signal.SIGINT)
    rc = g.wait(timeout=30)
    assert rc == 0, g.stderr.read()
    assert time.monotonic() - start < 15, "did not stop promptly"
    col = gptest.last_col(out)
    assert col.total() > 0
    assert os.path.exists(os.path.join(out, "last_flamegraph.html"))


def test_continuous_rotating_output():
    out = wd.file("rot")
    g = gptest.start_gprofiler(["-o", out, "-d", "1", "-c", "--rotating-output"])
    time.sleep(4.5)
    g.send_signal(signal.SIGTERM)
    assert g.wait(timeout=30) == 0, g.stderr.read()
    cols = glob.glob(os.path.join(out, "profile_*.col"))
    htmls = glob.glob(os.path.join(out, "profile_*.html"))
    assert len(cols) == 1 and len(htmls) == 1, (cols, htmls)
    assert os.readlink(os.path.join(out, "last_profile.col")) == os.path.basename(cols[0])
    assert os.readlink(os.path.join(out, "last_flamegraph.html")) == os.path.basename(htmls[0])
    assert not glob.glob(os.path.join(out, ".*.tmp")), "temporary files left"


def test_continuous_keeps_every_session():
    out = wd.file("cont")
    g = gptest.start_gprofiler(["-o", out, "-d", "1", "-c", "--no-flamegraph"])
    time.sleep(3.7)
    g.send_signal(signal.SIGTERM)
    assert g.wait(timeout=30) == 0
    cols = sorted(glob.glob(os.path.join(out, "profile_*.col")))
    assert len(cols) >= 3, cols
    assert not glob.glob(os.path.join(out, "*.html"))
    for c in cols:
        assert gptest.Col(c).total() > 0, c


def test_session_cut_short_keeps_the_previous_file():
    out = wd.file("cut")
    g = gptest.start_gprofiler(["-o", out, "-d", "1", "-c", "--no-flamegraph"])
    # stop right after a session ended: the cut-short one ends in the same
    # second and must not overwrite it
    assert gptest.wait_for(lambda: glob.glob(os.path.join(out, "profile_*.col")), timeout=30)
    g.send_signal(signal.SIGTERM)
    stdout, _ = g.communicate(timeout=30)
    saved = stdout.count("Saved collapsed stacks to")
    cols = glob.glob(os.path.join(out, "profile_*.col"))
    assert saved == len(cols) >= 2, (saved, cols)


def test_config_file_and_environment():
    out_env = wd.file("envout")
    cfg = wd.file("gprofiler.ini")
    with open(cfg, "w") as f:
        f.write("[gprofiler]\nprofiling-duration = 1\nno-flamegraph = true\n")
    env = dict(os.environ, GPROFILER_OUTPUT_DIR=out_env)
    gptest.run_gprofiler(["--config", cfg], env=env)
    assert os.path.exists(os.path.join(out_env, "last_profile.col"))
    assert not os.path.exists(os.path.join(out_env, "last_flamegraph.html"))
    col = gptest.last_col(out_env)
    assert col.header["metadata"]["run_arguments"]["duration"] == 1


def test_pid_and_log_files():
    out = wd.file("files")
    pidf, logf = wd.file("g.pid"), wd.file("logs/g.log")
    gptest.run_gprofiler(["-o", out, "-d", "1", "--pid-file", pidf, "--log-file", logf])
    assert int(open(pidf).read()) > 0
    log = open(logf).read()
    assert "] INFO: gprofiler: Saved collapsed stacks to" in log, log


def test_external_metadata():
    busy = subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"])
    try:
        meta = wd.file("ext.json")
        with open(meta, "w") as f:
            json.dump({"static": {"team": "payments"},
                       "application": {str(busy.pid): {"owner": "alice"}}}, f)
        out = wd.file("ext")
        gptest.run_gprofiler(["-o", out, "-d", "2", "--external-metadata", meta])
        col = gptest.last_col(out)
        assert col.header["metadata"]["external_metadata"] == {"team": "payments"}
        apps = col.header["application_metadata"]
        idx = apps.index({"owner": "alice"})
        lines = [f for f, c in col.stacks if f[2] == "sh"]
        assert lines and all(f[0] == str(idx) for f in lines), lines[:3]
        # a file last written long ago is refused at start
        os.utime(meta, (time.time() - 3600, time.time() - 3600))
        p = gptest.run_gprofiler(["-o", out, "-d", "1", "--external-metadata", meta],
                                 check=False)
        assert p.returncode == 1 and "stale" in p.stdout + p.stderr, (p.returncode, p.stderr)
    finally:
        gptest.kill_quietly(busy)


def main():
    global wd
    gptest.require_root()
    wd = gptest.Workdir("cli")
    try:
        gptest.main([test_argument_errors_exit_2, test_version_and_help,
                     test_unimplemented_flag_is_named, test_singleton_lock_exit_0,
                     test_sigint_finishes_the_session, test_continuous_rotating_output,
                     test_continuous_keeps_every_session,
                     test_session_cut_short_keeps_the_previous_file,
                     test_config_file_and_environment,
                     test_pid_and_log_files, test_external_metadata])
    finally:
        wd.cleanup()


if __name__ == "__main__":
    main()
