#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Nothing lost, nothing twice: uploads against a Studio double that goes
down, fails, rejects, answers slowly, and outlives a SIGKILLed daemon.

Every test runs the daemon in continuous mode with -o as well as -u, so
each session leaves a .col file and a "Saved collapsed stacks" line; the
Studio's `profile` text is that file byte for byte, which lets a test check
that every session's profile was accepted exactly once (the double counts a
profile as received only when its 200 answer reached the client). The last
session, cut short by the stop signal, can end in the same second as the
one before and overwrite its .col file: so the sessions are counted from
the log, and the files that remain must each have arrived.
"""
import glob
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402
import upsrv  # noqa: E402

TOKEN = "fault-token"
SERVICE = "faults"
wd = None


def args_for(srv, name, *extra):
    return ["-u", "--token", TOKEN, "--service-name", SERVICE, "--server-host", srv.url,
            "--spool-dir", wd.file(name + "-spool"), "-o", wd.file(name + "-out"), "-c", "-d",
            "1", *extra]


def cols(name):
    out = []
    for p in sorted(glob.glob(os.path.join(wd.file(name + "-out"), "profile_*.col"))):
        with open(p, encoding="utf-8") as f:
            out.append(f.read().rstrip("\n"))
    return out


def spooled(name):
    d = wd.file(name + "-spool")
    return [n for n in os.listdir(d) if not n.startswith(".")] if os.path.isdir(d) else []


def accepted(srv):
    return [r.json["profile"] for r in srv.posts(accepted_only=True)]


def stop(g, sig=signal.SIGTERM):
    g.send_signal(sig)
    rc = g.wait(timeout=120)
    out, err = g.stdout.read(), g.stderr.read()
    return rc, out, err


def sessions(*stdouts):
    return sum(o.count("Saved collapsed stacks to ") for o in stdouts)


def assert_exactly_once(srv, name, nsessions, allow_missing=()):
    got = accepted(srv)
    dups = {t[:120] for t in got if got.count(t) > 1}
    assert not dups, f"profiles accepted more than once: {dups}"
    files = cols(name)
    missing = [t for t in files if t not in got and t not in allow_missing]
    assert not missing, f"{len(missing)} of {len(files)} sessions never arrived"
    # one per session (less the ones a test allows to be missing)
    assert nsessions - len(allow_missing) <= len(got) <= nsessions, (len(got), nsessions)
    for r in srv.posts(accepted_only=True):
        upsrv.check_upload(r, TOKEN, SERVICE, socket.gethostname())


def test_server_down_then_back_every_profile_once():
    srv = upsrv.Server()
    g = gptest.start_gprofiler(args_for(srv, "down"))
    try:
        assert srv.wait(lambda: len(accepted(srv)) >= 2)
        srv.stop()      # refused connections from now on
        assert gptest.wait_for(lambda: len(spooled("down")) >= 3, timeout=60), spooled("down")
        srv.restart()   # same port
        n = len(cols("down"))
        assert srv.wait(lambda: len(accepted(srv)) >= n)
    finally:
        rc, out, err = stop(g)
        srv.stop()
    assert rc == 0, err
    assert "retrying in" in err, err[-2000:]
    assert spooled("down") == [], "sent profiles left in the spool"
    assert_exactly_once(srv, "down", sessions(out))


def test_500_is_retried_with_the_same_profile():
    srv = upsrv.Server()
    srv.plan = [500, 500, 503]
    g = gptest.start_gprofiler(args_for(srv, "r500"))
    try:
        assert srv.wait(lambda: len(accepted(srv)) >= 3)
    finally:
        rc, out, err = stop(g)
        srv.stop()
    assert rc == 0, err
    posts = srv.posts()
    assert [p.status for p in posts[:4]] == [500, 500, 503, 200], [p.status for p in posts]
    # the retries carry the oldest profile, unchanged
    first = posts[0].json["profile"]
    assert all(p.json["profile"] == first for p in posts[:4])
    assert "HTTP 500: planned failure 500" in err, err[-2000:]
    assert_exactly_once(srv, "r500", sessions(out))


def test_401_is_dropped_not_retried():
    srv = upsrv.Server()
    srv.plan = [(401, {"detail": {"message": "Invalid token"}})]
    g = gptest.start_gprofiler(args_for(srv, "r401"))
    try:
        assert srv.wait(lambda: len(accepted(srv)) >= 3)
    finally:
        rc, out, err = stop(g)
        srv.stop()
    assert rc == 0, err
    posts = srv.posts()
    rejected = posts[0].json["profile"]
    assert posts[0].status == 401
    assert [p.json["profile"] for p in posts].count(rejected) == 1, "a 401 was retried"
    assert "rejected the profile (HTTP 401: Invalid token)" in err, err[-2000:]
    assert spooled("r401") == []
    assert_exactly_once(srv, "r401", sessions(out), allow_missing=(rejected,))
    assert rejected not in accepted(srv)


def upload_socket_flags(pid, port):
    """fdinfo flags of the daemon's TCP sockets connected to port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                cols = line.split()
                if int(cols[2].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    flags = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                flags += [int(x.split()[1], 8) for x in f if x.startswith("flags:")]
    return flags


def test_held_upload_does_not_hold_up_sessions():
    # The first upload is held by the server (the client's timeout is
    # longer): sessions go on ending meanwhile; then it is answered.
    srv = upsrv.Server()
    srv.delay_s = 600
    g = gptest.start_gprofiler(args_for(srv, "held", "--server-upload-timeout", "300"))
    try:
        assert srv.wait(lambda: len(srv.posts()) >= 1)
        assert gptest.wait_for(lambda: len(cols("held")) >= 4, timeout=60)
        assert len(srv.posts()) == 1 and not srv.posts()[0].answered, \
            "a second upload started while the first was still in flight"
        # the upload's socket is not inherited by runtime profilers we start
        flags = upload_socket_flags(g.pid, srv.port)
        assert flags and all(f & 0o2000000 for f in flags), flags
        srv.release.set()
        n = len(cols("held"))
        assert srv.wait(lambda: len(accepted(srv)) >= n)
    finally:
        rc, out, err = stop(g)
        srv.stop()
    assert rc == 0, err
    assert_exactly_once(srv, "held", sessions(out))


def test_slower_than_timeout_is_retried_and_sessions_go_on():
    srv = upsrv.Server()
    srv.delay_s = 4     # longer than --server-upload-timeout 1: the client gives up
    g = gptest.start_gprofiler(args_for(srv, "slow", "--server-upload-timeout", "1"))
    try:
        assert srv.wait(lambda: len(srv.posts()) >= 2)
        assert gptest.wait_for(lambda: len(cols("slow")) >= 4, timeout=60)
        assert not accepted(srv)
        srv.delay_s = 0
        n = len(cols("slow"))
        assert srv.wait(lambda: len(accepted(srv)) >= n)
    finally:
        rc, out, err = stop(g)
        srv.stop()
    assert rc == 0, err
    assert "timed out" in err, err[-2000:]
    assert_exactly_once(srv, "slow", sessions(out))


def test_sigkill_with_spooled_profiles_then_restart_sends_them():
    srv = upsrv.Server()
    g = gptest.start_gprofiler(args_for(srv, "kill"))
    try:
        assert srv.wait(lambda: len(accepted(srv)) >= 1)
        srv.stop()
        # wait until every session so far is either accepted or spooled
        assert gptest.wait_for(lambda: len(spooled("kill")) >= 2 and
                               len(spooled("kill")) + len(accepted(srv)) == len(cols("kill")),
                               timeout=60)
    finally:
        rc, out1, _ = stop(g, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    records = upsrv.spool_records(wd.file("kill-spool"))
    assert len(records) >= 2 and all(m["target"] == "studio" for _, m, _ in records)
    # the session that ended just before the SIGKILL may be unspooled
    newest = cols("kill")[-1]
    srv.restart()
    g = gptest.start_gprofiler(args_for(srv, "kill"))
    try:
        assert srv.wait(lambda: all(p in accepted(srv) for _, _, p in records))
    finally:
        rc, out, err = stop(g)
        srv.stop()
    assert rc == 0, err
    assert f"Sending {len(records)} profile(s) for the Performance Studio spooled by an " \
           "earlier run" in out, out
    # oldest first: the spooled ones go before this run's own
    got = accepted(srv)
    order = [got.index(p) for _, _, p in records]
    assert order == sorted(order), "spooled profiles were not sent oldest first"
    assert_exactly_once(srv, "kill", sessions(out1, out), allow_missing=(newest,))


def test_sigterm_keeps_the_spool():
    srv = upsrv.Server()
    g = gptest.start_gprofiler(args_for(srv, "term"))
    try:
        assert srv.wait(lambda: len(accepted(srv)) >= 1)
        srv.stop()
        assert gptest.wait_for(lambda: len(spooled("term")) >= 2, timeout=60)
    finally:
        rc, out, err = stop(g)
    assert rc == 0, err
    assert "stay in the spool" in out, out[-2000:]
    # the last session's profile is spooled too: nothing was lost
    assert len(spooled("term")) + len(accepted(srv)) == sessions(out), (
        len(spooled("term")), len(accepted(srv)), sessions(out))


def main():
    global wd
    gptest.require_root()
    for v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        os.environ.pop(v, None)
    wd = gptest.Workdir("upload-faults")
    burner = upsrv.start_burner(wd)
    try:
        gptest.main([test_server_down_then_back_every_profile_once,
                     test_500_is_retried_with_the_same_profile,
                     test_401_is_dropped_not_retried,
                     test_held_upload_does_not_hold_up_sessions,
                     test_slower_than_timeout_is_retried_and_sessions_go_on,
                     test_sigkill_with_spooled_profiles_then_restart_sends_them,
                     test_sigterm_keeps_the_spool])
    finally:
        gptest.kill_quietly(burner)
        wd.cleanup()


if __name__ == "__main__":
    main()
