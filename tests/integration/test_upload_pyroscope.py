#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""--pyroscope-server against a loopback Pyroscope /ingest double.

The request line (name with URL-encoded tags, from/until, format=folded,
sampleRate, spyName), basic auth and X-Scope-OrgID, and a body whose lines
are exactly the .col stacks without the metadata index and container
frames (the comm is the root, as in gProfiler's flamegraph). Pyroscope
alone, and together with -o and -u; retried on 5xx like the Studio; bad
names refused at start.
"""
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402
import upsrv  # noqa: E402

wd = None


def ingests(srv, accepted_only=False):
    return [r for r in srv.posts(accepted_only) if r.path == "/ingest"]


def test_ingest_request_line_auth_and_body():
    srv = upsrv.Server()
    try:
        gptest.run_gprofiler(["--pyroscope-server", srv.url + "/", "--pyroscope-application-name",
                              "my-app.cpu_1", "--pyroscope-tags", "env=test,region=eu-1",
                              "--pyroscope-user", "alice", "--pyroscope-password", "s3cr3t",
                              "--pyroscope-tenant-id", "team-a", "-d", "2", "-f", "49",
                              "--spool-dir", wd.file("spool-one")])
        assert not srv.gets(), "no health check without -u"
        reqs = ingests(srv)
        assert len(reqs) == 1 and len(srv.requests) == 1, [r.raw_path for r in srv.requests]
        r = reqs[0]
        assert "name=my-app.cpu_1%7Benv%3Dtest%2Cregion%3Deu-1%7D&" in r.raw_query, r.raw_query
        stacks = upsrv.check_ingest(r, "my-app.cpu_1{env=test,region=eu-1}", 49)
        assert upsrv.decode_basic(r) == "alice:s3cr3t"
        assert r.headers.get("X-Scope-OrgID") == "team-a"
        burn = [(f, c) for f, c in stacks if f[0] == "upburner"]
        assert burn and any("upload_burn" in f for f, _ in burn), stacks[:10]
        assert not any(f[0].isdigit() for f, _ in stacks), "a metadata index frame was sent"
    finally:
        srv.stop()


def test_with_output_dir_and_studio_the_same_stacks():
    srv = upsrv.Server()
    out = wd.file("all")
    try:
        gptest.run_gprofiler(["-o", out, "-u", "--token", "t0k", "--service-name", "svc",
                              "--server-host", srv.url, "--pyroscope-server", srv.url,
                              "-d", "1", "--spool-dir", wd.file("spool-all")])
        studio = [r for r in srv.posts(True) if r.json]
        py = ingests(srv, True)
        assert len(studio) == 1 and len(py) == 1, [r.raw_path for r in srv.requests]
        upsrv.check_upload(studio[0], "t0k", "svc", socket.gethostname(), gpid="")
        # the default application name is the service name
        stacks = upsrv.check_ingest(py[0], "svc", 11)
        col = gptest.last_col(out)
        # .col "idx;container;comm;frames count" is "comm;frames count" here
        want = sorted((f[2:], c) for f, c in col.stacks)
        assert sorted(stacks) == want, (len(stacks), len(want))
        assert col.text.rstrip("\n") == studio[0].json["profile"]
    finally:
        srv.stop()


def test_default_application_names():
    srv = upsrv.Server()
    try:
        gptest.run_gprofiler(["--pyroscope-server", srv.url, "--service-name", "web shop/1",
                              "-d", "1", "--spool-dir", wd.file("spool-n1")])
        gptest.run_gprofiler(["--pyroscope-server", srv.url, "-d", "1",
                              "--spool-dir", wd.file("spool-n2")])
        names = [r.q("name") for r in ingests(srv)]
        assert names == ["web_shop_1", "gprofiler"], names
    finally:
        srv.stop()


def test_5xx_retried_4xx_dropped():
    srv = upsrv.Server()
    srv.plan = [502, (400, {"code": "invalid_argument", "message": "bad name"})]
    g = gptest.start_gprofiler(["--pyroscope-server", srv.url, "-c", "-d", "1",
                                "--spool-dir", wd.file("spool-retry")])
    try:
        assert srv.wait(lambda: len(ingests(srv, True)) >= 2)
    finally:
        g.send_signal(signal.SIGTERM)
        assert g.wait(timeout=60) == 0
        err = g.stderr.read()
        srv.stop()
    reqs = ingests(srv)
    assert [r.status for r in reqs[:3]] == [502, 400, 200], [r.status for r in reqs]
    # the 502 is retried: the same window and body; the 400 is dropped, so the next
    # request is a later window (two quiet windows may well have the same body)
    window = [(r.q("from"), r.q("until")) for r in reqs]
    assert window[0] == window[1] and reqs[0].text == reqs[1].text
    assert window[2] != window[1]
    assert "Pyroscope rejected the profile (HTTP 400: bad name)" in err, err[-2000:]
    windows = [(r.q("from"), r.q("until")) for r in ingests(srv, True)]
    assert len(set(windows)) == len(windows), "a profile was sent twice"


def test_bad_pyroscope_flags_exit_2():
    base = ["--pyroscope-server", "http://127.0.0.1:9", "-d", "1"]
    cases = [
        (["--pyroscope-tags", "env"], "the tag 'env' is not key=value"),
        (["--pyroscope-tags", "__name__=x"], "reserved"),
        (["--pyroscope-tags", "a=1,a=2"], "given twice"),
        (["--pyroscope-tags", "9a=1"], "must start with a letter"),
        (["--pyroscope-tags", "k=a b"], "blank"),
        (["--pyroscope-application-name", "my app"], "holds ' '"),
        (["--pyroscope-user", "a:b"], "must not hold ':'"),
    ]
    for extra, msg in cases:
        p = gptest.run_gprofiler(base + extra, check=False)
        assert p.returncode == 2, (extra, p.returncode, p.stderr)
        assert msg in p.stderr and p.stderr.startswith("gprofiler: error: "), (extra, p.stderr)
    p = gptest.run_gprofiler(["--pyroscope-server", "ftp://x", "-d", "1"], check=False)
    assert p.returncode == 2 and "http:// or https://" in p.stderr, p.stderr


def main():
    global wd
    gptest.require_root()
    for v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        os.environ.pop(v, None)
    wd = gptest.Workdir("upload-pyroscope")
    burner = upsrv.start_burner(wd)
    try:
        gptest.main([test_ingest_request_line_auth_and_body,
                     test_with_output_dir_and_studio_the_same_stacks,
                     test_default_application_names,
                     test_5xx_retried_4xx_dropped,
                     test_bad_pyroscope_flags_exit_2])
    finally:
        gptest.kill_quietly(burner)
        wd.cleanup()


if __name__ == "__main__":
    main()
