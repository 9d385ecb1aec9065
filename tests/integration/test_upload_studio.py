#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""-u/--upload-results against a loopback Performance Studio double.

Checks what the Studio and gProfiler's client agree on: the health check
at start (headers, four query parameters; a failure is fatal), every
profiles POST (headers, query with version, gzip, Content-Length, the 8
body keys, the .col text with the AgentMetadata fields the Studio
validates), the gpid round trip, the v1 path, -o and -u together giving
the same bytes, and secrets kept out of logs, run_arguments and ps.
"""
import glob
import json
import os
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402
import upsrv  # noqa: E402

TOKEN = "tok-Secret-4711"
SERVICE = "upload-test.svc"
wd = None
burner = None


def studio_args(server, spool, *extra):
    return ["-u", "--token", TOKEN, "--service-name", SERVICE, "--server-host", server.url,
            "--spool-dir", spool, *extra]


def col_files(outdir):
    return sorted(glob.glob(os.path.join(outdir, "profile_*.col")))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_health_check_then_upload_matches_col_file():
    srv = upsrv.Server()
    out = wd.file("one")
    host = socket.gethostname()
    try:
        gptest.run_gprofiler(studio_args(srv, wd.file("spool-one"), "-o", out, "-d", "1"))
        gets, posts = srv.gets(), srv.posts()
        assert len(gets) == 1 and len(posts) == 1, [r.raw_path for r in srv.requests]
        assert srv.requests[0] is gets[0], "the health check must come first"
        upsrv.check_health(gets[0], TOKEN, SERVICE, host)
        header = upsrv.check_upload(posts[0], TOKEN, SERVICE, host, gpid="")
        # -o and -u together: the upload is the .col file, byte for byte
        cols = col_files(out)
        assert len(cols) == 1, cols
        assert read(cols[0]).rstrip("\n") == posts[0].json["profile"]
        meta = header["metadata"]
        assert meta["run_arguments"]["service_name"] == SERVICE
        assert meta["run_arguments"]["server_token"] == "<redacted>"
        text = posts[0].json["profile"]
        assert ";upburner;" in text and "upload_burn" in text, text[:2000]
        assert os.listdir(wd.file("spool-one")) == [".lock"], "a sent profile left its spool file"
    finally:
        srv.stop()


def test_gpid_round_trip_and_continuous_uploads():
    srv = upsrv.Server()
    host = socket.gethostname()
    g = gptest.start_gprofiler(studio_args(srv, wd.file("spool-gpid"), "-d", "1", "-c"))
    try:
        assert srv.wait(lambda: len([r for r in srv.requests if r.method == "POST" and
                                     r.answered]) >= 3), g.stderr.read()
    finally:
        g.send_signal(signal.SIGTERM)
        assert g.wait(timeout=60) == 0
        srv.stop()
    posts = srv.posts(accepted_only=True)
    assert len(posts) >= 3
    upsrv.check_upload(posts[0], TOKEN, SERVICE, host, gpid="")
    for prev, cur in zip(posts, posts[1:]):
        # the gpid the server returned is sent with the next upload
        upsrv.check_upload(cur, TOKEN, SERVICE, host, gpid=prev.gpid_sent)
    texts = [p.json["profile"] for p in posts]
    assert len(set(texts)) == len(texts), "a profile was sent twice"


def test_profile_api_version_v1():
    srv = upsrv.Server()
    host = socket.gethostname()
    try:
        gptest.run_gprofiler(studio_args(srv, wd.file("spool-v1"), "-d", "1",
                                         "--profile-api-version", "v1"))
        upsrv.check_health(srv.gets()[0], TOKEN, SERVICE, host)
        post = srv.posts()[0]
        upsrv.check_upload(post, TOKEN, SERVICE, host, version="v1", gpid="")
        # v1: no metadata index, no container frame: comm first
        lines = post.json["profile"].split("\n")[1:]
        assert any(line.startswith("upburner;") for line in lines), lines[:5]
    finally:
        srv.stop()


def test_health_check_failures_are_fatal():
    srv = upsrv.Server()
    srv.health_status = (400, {"message": "Invalid token"})
    try:
        p = gptest.run_gprofiler(studio_args(srv, wd.file("spool-h1"), "-d", "1"), check=False)
        assert p.returncode == 1, (p.returncode, p.stderr)
        assert "Server error: HTTP 400: Invalid token" in p.stderr, p.stderr
        assert not srv.posts(), "profiled although the health check failed"
        srv.health_status = (503, {"message": "down"})
        p = gptest.run_gprofiler(studio_args(srv, wd.file("spool-h1"), "-d", "1"), check=False)
        assert p.returncode == 1 and "Failed to connect to server" in p.stderr, p.stderr
    finally:
        srv.stop()
    # nothing listening: connection refused
    p = gptest.run_gprofiler(studio_args(srv, wd.file("spool-h2"), "-d", "1"), check=False)
    assert p.returncode == 1, p.stderr
    assert "Failed to connect to server" in p.stderr and "Proxy used: none" in p.stderr, p.stderr


def test_secrets_stay_out_of_logs_metadata_and_ps():
    srv = upsrv.Server()
    log = wd.file("secret.log")
    password = "pyro-Passw0rd-99"
    args = studio_args(srv, wd.file("spool-secret"), "-d", "1", "-c", "-v", "--log-file", log,
                       "--pyroscope-server", srv.url, "--pyroscope-password=" + password,
                       "--pyroscope-user", "bob")
    # not gptest.start_gprofiler(): it would add --log-file ""
    g = subprocess.Popen([gptest.BIN, *args, "--lock-name", gptest.lock_name()],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert srv.wait(lambda: len(srv.posts(accepted_only=True)) >= 2)
        with open(f"/proc/{g.pid}/cmdline", "rb") as f:
            cmdline = f.read().decode(errors="replace")
        assert "--token" in cmdline and TOKEN not in cmdline, cmdline
        assert password not in cmdline, cmdline
    finally:
        g.send_signal(signal.SIGTERM)
        rc = g.wait(timeout=60)
        srv.stop()
    out, err = g.stdout.read(), g.stderr.read()
    assert rc == 0, err
    assert "<redacted>" in out, out[:500]
    for text, what in ((out, "stdout"), (err, "stderr"), (read(log), "log file")):
        assert TOKEN not in text and password not in text, what
    studio = [r for r in srv.posts() if r.json]
    assert studio
    for r in studio:
        header = json.loads(r.json["profile"].split("\n")[0][2:])
        run = header["metadata"]["run_arguments"]
        assert run["server_token"] == "<redacted>" and run["pyroscope_password"] == "<redacted>"
        assert password not in r.json["profile"]
    ingest = [r for r in srv.posts() if r.path == "/ingest"]
    assert ingest and upsrv.decode_basic(ingest[0]) == "bob:" + password


def test_upload_alone_without_output_dir():
    srv = upsrv.Server()
    try:
        p = gptest.run_gprofiler(studio_args(srv, wd.file("spool-alone"), "-d", "1"))
        assert "Successfully uploaded profiling data to the server" in p.stdout, p.stdout
        assert len(srv.posts(accepted_only=True)) == 1
    finally:
        srv.stop()


def test_proxy_from_the_environment():
    # libcurl takes http_proxy/https_proxy from the environment, as requests
    # does for gProfiler: the double answers as the proxy (absolute URIs)
    srv = upsrv.Server()
    env = dict(os.environ, http_proxy=srv.url)
    try:
        gptest.run_gprofiler(["-u", "--token", TOKEN, "--service-name", SERVICE,
                              "--server-host", "http://studio.invalid:8080", "-d", "1",
                              "--spool-dir", wd.file("spool-proxy")], env=env)
        assert len(srv.requests) == 2 and all(r.proxied for r in srv.requests), \
            [r.raw_path for r in srv.requests]
        assert srv.requests[0].raw_path.startswith("http://studio.invalid:8080/api/v1/health_check?")
        upsrv.check_upload(srv.posts()[0], TOKEN, SERVICE, socket.gethostname(), gpid="")
    finally:
        srv.stop()
    # an unreachable https proxy is named (without its password) in the error
    env = dict(os.environ, https_proxy="http://puser:ppass@127.0.0.1:1")
    p = gptest.run_gprofiler(["-u", "--token", TOKEN, "--service-name", SERVICE,
                              "--server-host", "https://studio.invalid", "-d", "1",
                              "--spool-dir", wd.file("spool-proxy")], env=env, check=False)
    assert p.returncode == 1, p.stderr
    assert "Proxy used: http://<redacted>@127.0.0.1:1" in p.stderr, p.stderr
    assert "127.0.0.1 port 1" in p.stderr and "ppass" not in p.stderr, p.stderr


def test_tls_verify_and_no_verify():
    key, cert = wd.file("key.pem"), wd.file("cert.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], capture_output=True)
    if r.returncode:
        print("test_tls_verify_and_no_verify: no openssl to make a certificate; not run",
              file=sys.stderr)
        return
    srv = upsrv.Server(tls=(cert, key))
    try:
        args = studio_args(srv, wd.file("spool-tls"), "-d", "1")
        p = gptest.run_gprofiler(args, check=False)
        assert p.returncode == 1 and "Failed to connect to server" in p.stderr, p.stderr
        assert "certificate" in p.stderr, p.stderr
        assert not srv.requests
        gptest.run_gprofiler(args + ["--no-verify"])
        assert len(srv.gets()) == 1 and len(srv.posts(accepted_only=True)) == 1
        upsrv.check_upload(srv.posts()[0], TOKEN, SERVICE, socket.gethostname(), gpid="")
    finally:
        srv.stop()


def main():
    global wd, burner
    gptest.require_root()
    # loopback servers: a proxy from the environment must not get in the way
    for v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        os.environ.pop(v, None)
    wd = gptest.Workdir("upload-studio")
    burner = upsrv.start_burner(wd)
    try:
        gptest.main([test_health_check_then_upload_matches_col_file,
                     test_gpid_round_trip_and_continuous_uploads,
                     test_profile_api_version_v1,
                     test_health_check_failures_are_fatal,
                     test_secrets_stay_out_of_logs_metadata_and_ps,
                     test_upload_alone_without_output_dir,
                     test_proxy_from_the_environment,
                     test_tls_verify_and_no_verify])
    finally:
        gptest.kill_quietly(burner)
        wd.cleanup()


if __name__ == "__main__":
    main()
