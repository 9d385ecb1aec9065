# SPDX-License-Identifier: Apache-2.0
"""Loopback test doubles of the upload backends (python3 stdlib only).

Server records every request (method, path, query, headers, raw and
decoded body) and answers from a per-test plan, so a test can stop it,
restart it on the same port, make it fail with a status, or make it slow.
The check_* functions assert the protocol exactly as gProfiler's client
and the Performance Studio / Pyroscope servers expect it
(reference: gprofiler-compat.md section 6, runtimes-and-backends.md B1-B3).
"""
import base64
import datetime
import gzip
import http.server
import json
import re
import threading
import time
import urllib.parse

# The Studio's AgentMetadata: required fields of header["metadata"].
AGENT_METADATA = ("current_time", "spawn_time", "spawn_uptime_ms", "private_ip", "hostname",
                  "cloud_provider", "processors", "memory_capacity_mb", "system_name", "os_name",
                  "os_release", "kernel_release", "kernel_version", "hardware_type", "pid",
                  "mac_address", "agent_version", "libc_type", "libc_version", "python_version",
                  "run_mode", "deployment_type", "run_arguments")
BODY_KEYS = ["start_time", "end_time", "hostname", "profile", "cpu_avg", "mem_avg", "spawn_time",
             "gpid"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
STACK_V2 = re.compile(r"^\d+;[^;]*;[^;]+(;.*)? \d+$")


class Request:
    def __init__(self, method, raw_path, headers, body):
        self.method = method
        u = urllib.parse.urlsplit(raw_path)
        self.raw_path = raw_path
        self.path = u.path
        self.raw_query = u.query
        self.query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        self.headers = headers          # email.message.Message: case-insensitive
        self.body = body                # bytes as received
        self.status = None              # what we answered
        self.answered = False           # the answer reached the client
        self.json = None
        self.text = None
        if headers.get("Content-Encoding") == "gzip":
            self.json = json.loads(gzip.decompress(body).decode("utf-8"))
        elif self.path.endswith("/ingest"):
            self.text = body.decode("utf-8")

    def q(self, name):
        v = self.query.get(name)
        assert v is not None and len(v) == 1, (name, self.query.keys())
        return v[0]

    def profile_text(self):
        return self.json["profile"] if self.json else None


class Server:
    """A threaded HTTP server on 127.0.0.1; answers Studio and Pyroscope
    requests. Plans: `plan` is a list of statuses (or (status, body))
    used, one each, by the next POSTs; `delay_s` holds POST answers that
    long, or until `release` is set (an answer held to the end is not
    counted as received: the client has given up); `health_status` sets
    the health check's answer."""

    def __init__(self, port=0, tls=None):
        self.tls = tls                      # (certfile, keyfile): HTTPS
        self.lock = threading.Condition()
        self.requests = []
        self.plan = []
        self.delay_s = 0
        self.release = threading.Event()    # set: slow answers go out now
        self.health_status = (200, {"message": "ok"})
        self.next_gpid = 1000
        self.httpd = None
        self.port = port
        self.start()

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self):
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self, req, status, obj, delay=0):
                data = b"" if obj is None else (obj if isinstance(obj, bytes)
                                                else json.dumps(obj).encode())
                req.status = status
                released = True
                if delay:
                    released = srv.release.wait(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                    # an answer written after the client gave up is not one
                    req.answered = released
                except OSError:
                    req.answered = False
                with srv.lock:
                    srv.lock.notify_all()

            def do_GET(self):
                req = Request("GET", self.path, self.headers, b"")
                req.proxied = self.path.startswith("http://")
                with srv.lock:
                    srv.requests.append(req)
                status, obj = srv.health_status
                self._answer(req, status, obj)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                req = Request("POST", self.path, self.headers, body)
                req.proxied = self.path.startswith("http://")
                with srv.lock:
                    srv.requests.append(req)
                    step = srv.plan.pop(0) if srv.plan else None
                    delay = srv.delay_s
                if step is not None:
                    status, obj = step if isinstance(step, tuple) else (step, {"detail": {
                        "message": f"planned failure {step}"}})
                    self._answer(req, status, obj)
                elif req.path.endswith("/ingest"):
                    self._answer(req, 200, None, delay)
                else:
                    with srv.lock:
                        gpid = srv.next_gpid
                        srv.next_gpid += 1
                    req.gpid_sent = gpid
                    self._answer(req, 200, {"message": "ok", "gpid": gpid}, delay)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        if self.tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def restart(self):
        self.start()

    # ---- queries ----
    def posts(self, accepted_only=False):
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and
                    (not accepted_only or (r.answered and r.status == 200))]

    def gets(self):
        with self.lock:
            return [r for r in self.requests if r.method == "GET"]

    def wait(self, pred, timeout=60):
        end = time.monotonic() + timeout
        with self.lock:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.2))
        return True


def _near_now(iso, slack=600):
    t = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert abs(t - time.time()) < slack, iso


def check_common(req, token, service, hostname):
    """Headers and query every Studio request carries."""
    assert req.headers.get("GPROFILER-API-KEY") == token, req.headers.items()
    assert req.headers.get("GPROFILER-SERVICE-NAME") == service
    assert req.q("key") == token
    assert req.q("service") == service
    assert req.q("hostname") == hostname, (req.q("hostname"), hostname)
    assert ISO.match(req.q("timestamp")), req.q("timestamp")
    _near_now(req.q("timestamp"))


def check_health(req, token, service, hostname):
    assert req.method == "GET" and req.path == "/api/v1/health_check", req.raw_path
    assert sorted(req.query) == ["hostname", "key", "service", "timestamp"], req.query.keys()
    check_common(req, token, service, hostname)


def check_upload(req, token, service, hostname, version="v2", gpid=None, metadata=True):
    """One profiles POST, exactly as the Studio takes it. Returns the
    parsed header of the profile text."""
    assert req.method == "POST" and req.path == f"/api/{version}/profiles", req.raw_path
    assert sorted(req.query) == ["hostname", "key", "service", "timestamp", "version"], \
        req.query.keys()
    check_common(req, token, service, hostname)
    assert req.q("version").startswith("1.51.0"), req.q("version")
    assert req.headers.get("Content-Encoding") == "gzip"
    assert req.headers.get("Content-Type") == "application/json"
    assert int(req.headers.get("Content-Length")) == len(req.body) <= 4 * 1024 * 1024
    assert req.body[:2] == b"\x1f\x8b", "body is not gzip"
    b = req.json
    assert list(b.keys()) == BODY_KEYS, list(b.keys())
    for k in ("start_time", "end_time", "spawn_time"):
        assert ISO.match(b[k]), (k, b[k])
        _near_now(b[k])
    assert b["start_time"] <= b["end_time"], (b["start_time"], b["end_time"])
    assert b["hostname"] == hostname
    for k in ("cpu_avg", "mem_avg"):
        assert b[k] is None or isinstance(b[k], (int, float)), (k, b[k])
    if gpid is not None:
        assert b["gpid"] == gpid, (b["gpid"], gpid)
    lines = b["profile"].split("\n")
    assert lines[0].startswith("# "), lines[0][:80]
    header = json.loads(lines[0][2:])
    assert list(header.keys()) == ["containers", "container_names_enabled", "metadata",
                                   "metrics", "application_metadata",
                                   "application_metadata_enabled", "profiling_mode"], header.keys()
    if metadata:
        meta = header["metadata"]
        missing = [k for k in AGENT_METADATA if k not in meta]
        assert not missing, missing
        assert meta["cloud_provider"].lower() in ("aws", "gcp", "azure", "unknown")
        assert isinstance(meta["run_arguments"], dict)
        assert meta["hostname"] == hostname
        assert isinstance(meta["processors"], int) and isinstance(meta["pid"], int)
        assert isinstance(meta["memory_capacity_mb"], int)
        assert isinstance(meta["spawn_uptime_ms"], int)
    if version == "v2":
        for line in lines[1:]:
            assert STACK_V2.match(line), line[:200]
    assert lines[-1] != "", "the profile text ends with a newline (gProfiler joins with \\n)"
    return header


def decode_basic(req):
    a = req.headers.get("Authorization")
    assert a and a.startswith("Basic "), a
    return base64.b64decode(a[6:]).decode()


def check_ingest(req, name, rate):
    """One Pyroscope /ingest POST. Returns [(frames, count)]."""
    assert req.method == "POST" and req.path == "/ingest", req.raw_path
    assert sorted(req.query) == ["format", "from", "name", "sampleRate", "spyName", "until"], \
        req.query.keys()
    assert req.q("name") == name, (req.q("name"), name)
    assert req.q("format") == "folded"
    assert req.q("sampleRate") == str(rate)
    assert req.q("spyName") == "gprofiler"
    f, u = int(req.q("from")), int(req.q("until"))
    assert 0 < f <= u and abs(u - time.time()) < 600, (f, u)
    assert req.headers.get("Content-Encoding") is None, "Pyroscope does not gunzip /ingest"
    stacks = []
    for line in req.text.split("\n"):
        if not line:
            continue
        assert re.match(r"^.+ \d+$", line), line[:200]
        frames, _, count = line.rpartition(" ")
        stacks.append((frames.split(";"), int(count)))
    assert sum(c for _, c in stacks) > 0
    return stacks


BURNER_C = r"""
#include <time.h>
volatile unsigned long sink;
__attribute__((noinline)) void upload_burn(void) { for (int i = 0; i < 100000; i++) sink += i; }
int main(void) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do { upload_burn(); clock_gettime(CLOCK_MONOTONIC, &t); } while (t.tv_sec - t0.tv_sec < 600);
    return 0;
}
"""


def start_burner(wd, name="upburner"):
    """A CPU-bound process (comm `name`, function upload_burn) to profile."""
    import subprocess
    import gptest
    exe = gptest.compile_c(BURNER_C, wd.file(name), ["-O1", "-fno-omit-frame-pointer"])
    return subprocess.Popen([exe])


def spool_records(spool_dir):
    """The records in a spool folder, oldest first: (name, meta, payload).
    A record file is gzip("<meta JSON>\\n<payload>")."""
    import os
    out = []
    for name in sorted(os.listdir(spool_dir)):
        if name.startswith("."):
            continue
        with open(os.path.join(spool_dir, name), "rb") as f:
            raw = gzip.decompress(f.read())
        meta, _, payload = raw.partition(b"\n")
        out.append((name, json.loads(meta), payload.decode("utf-8")))
    return out
