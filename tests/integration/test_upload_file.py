#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gprofiler upload-file --file-path F.col`.

A malformed file (empty, no header, a header that is not JSON, binary
garbage, stack lines without counts, not UTF-8, 100 MB) gets one clear
error naming the problem, a non-zero exit, and no request at all: the
double counts every request, the health check included. A good file is
sent as gProfiler sends it: the file's header with this host's metadata
filling the gaps, run_arguments.func removed, start/end from the header,
metrics null, gpid "".
"""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402
import upsrv  # noqa: E402

wd = None
srv = None
TOKEN, SERVICE = "file-token", "file-svc"


def upload(path, *extra, check=False):
    return gptest.run_gprofiler(["upload-file", "--file-path", path, "--token", TOKEN,
                                 "--service-name", SERVICE, "--server-host", srv.url, *extra],
                                check=check, lock=False)


def write(name, data):
    path = wd.file(name)
    with open(path, "wb") as f:
        f.write(data)
    return path


GOOD_HEADER = {"containers": [], "container_names_enabled": True,
               "metadata": {"hostname": "elsewhere", "current_time": "2024-10-20T15:03:47",
                            "run_arguments": {"func": "<function x>", "duration": 60}},
               "metrics": {"cpu_avg": 1.5, "mem_avg": 2.5}, "application_metadata": [None],
               "application_metadata_enabled": True, "profiling_mode": "cpu",
               "start_time": "2024-10-20T15:02:47", "end_time": "2024-10-20T15:03:47.25+00:00"}


def test_malformed_files_send_nothing():
    big = wd.file("big.col")
    with open(big, "wb") as f:
        f.write(b"# {}\n")
        f.truncate(100 * 1000 * 1000)
    garbage = bytes((i * 7919 + 13) % 256 for i in range(8192))
    cases = [
        (write("empty.col", b""), "the file is empty"),
        (write("nohdr.col", b"0;;comm;main 3\n"), "line 1: the header line must start with '#'"),
        (write("badjson.col", b"# {not json\n0;;c;f 1\n"), "line 1: the header is not a JSON object"),
        (write("array.col", b"# [1, 2]\n0;;c;f 1\n"), "line 1: the header is not a JSON object"),
        (write("garbage.col", garbage), "NUL bytes"),
        (write("nocount.col", b"# {}\n0;;comm;main;f\n"),
         "line 2: a stack line must end with a space and a count"),
        (write("badcount.col", b"# {}\n0;;comm;main x\n"), "line 2: the count 'x' is not a number"),
        (write("latin1.col", b"# {}\n0;;comm;caf\xe9 3\n"), "not UTF-8 text"),
        (write("halftime.col", b'# {"start_time": "2024-10-20T15:02:47"}\n0;;c;f 1\n'),
         "the header has start_time but no end_time"),
        (write("badtime.col", b'# {"start_time": "yesterday", "end_time": "today"}\n'),
         "is not an ISO 8601 time"),
        (big, "larger than the 64 MiB upload-file accepts"),
        (wd.file("missing.col"), "cannot open it"),
    ]
    for path, msg in cases:
        p = upload(path)
        assert p.returncode == 1, (path, p.returncode, p.stderr)
        assert msg in p.stderr, (path, p.stderr)
        assert f"gprofiler upload-file: error: {path}: " in p.stderr, p.stderr
        assert not srv.requests, (path, [r.raw_path for r in srv.requests])
    p = gptest.run_gprofiler(["upload-file", "--token", TOKEN, "--service-name", SERVICE,
                              "--server-host", srv.url], check=False, lock=False)
    assert p.returncode == 2 and "--file-path is required" in p.stderr, p.stderr
    assert not srv.requests


def test_good_file_is_sent_like_gprofiler():
    stacks = ["0;;python3;<module> (spin.py:11);busy (spin.py:5) 12",
              "0;web-1;java;appid: java: app.jar;Main.main_[j] 3  ", ""]
    path = write("good.col", ("# " + json.dumps(GOOD_HEADER) + "\n" + "\n".join(stacks))
                 .encode())
    p = upload(path, check=True)
    assert "Successfully uploaded profiling data to the server" in p.stdout, p.stdout
    host = socket.gethostname()
    gets, posts = srv.gets(), srv.posts()
    assert len(gets) == 1 and len(posts) == 1
    upsrv.check_health(gets[0], TOKEN, SERVICE, host)
    b = posts[0].json
    assert b["start_time"] == "2024-10-20T15:02:47" and b["end_time"] == "2024-10-20T15:03:47"
    assert b["cpu_avg"] is None and b["mem_avg"] is None and b["gpid"] == ""
    assert b["hostname"] == host
    lines = b["profile"].split("\n")
    header = json.loads(lines[0][2:])
    meta = header["metadata"]
    # the file's values win; this host's metadata fills in the rest
    assert meta["hostname"] == "elsewhere" and meta["current_time"] == "2024-10-20T15:03:47"
    missing = [k for k in upsrv.AGENT_METADATA if k not in meta]
    assert not missing, missing
    assert meta["run_arguments"] == {"duration": 60}, meta["run_arguments"]
    assert header["metrics"] == GOOD_HEADER["metrics"]
    # the stacks as in the file, right-stripped, joined with "\n"
    assert lines[1:] == [s.rstrip() for s in stacks if s], lines[1:]
    assert posts[0].path == "/api/v2/profiles"
    srv.requests.clear()


def test_minimal_header_gets_metadata_and_now():
    path = write("min.col", b"# {}\ncomm;main 5\n")
    upload(path, "--profile-api-version", "v1", check=True)
    post = srv.posts()[0]
    assert post.path == "/api/v1/profiles"
    b = post.json
    upsrv._near_now(b["start_time"])
    assert b["start_time"] == b["end_time"], b
    header = json.loads(b["profile"].split("\n")[0][2:])
    meta = header["metadata"]
    missing = [k for k in upsrv.AGENT_METADATA if k not in meta]
    assert not missing, missing
    assert meta["hostname"] == socket.gethostname()
    assert meta["run_arguments"]["server_token"] == "<redacted>"
    assert "func" not in meta["run_arguments"]
    assert b["profile"].split("\n")[1:] == ["comm;main 5"]
    srv.requests.clear()


def test_server_errors_exit_1():
    path = write("ok.col", b"# {}\ncomm;main 5\n")
    srv.plan = [(400, {"detail": {"message": "Failed to parse v2 metadata"}})]
    p = upload(path)
    assert p.returncode == 1, p.stderr
    assert "Error occurred sending profile to server: HTTP 400: Failed to parse v2 metadata" \
        in p.stderr, p.stderr
    srv.health_status = (401, {"message": "Invalid token"})
    p = upload(path)
    assert p.returncode == 1 and "Server error: HTTP 401: Invalid token" in p.stderr, p.stderr
    srv.health_status = (200, {"message": "ok"})
    srv.requests.clear()


def main():
    global wd, srv
    gptest.require_root()
    for v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        os.environ.pop(v, None)
    wd = gptest.Workdir("upload-file")
    srv = upsrv.Server()
    try:
        gptest.main([test_malformed_files_send_nothing, test_good_file_is_sent_like_gprofiler,
                     test_minimal_header_gets_metadata_and_now, test_server_errors_exit_1])
    finally:
        srv.stop()
        wd.cleanup()


if __name__ == "__main__":
    main()
