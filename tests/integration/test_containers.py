#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Container names: a process whose cgroup path holds a 64-hex container id
gets the name its container runtime gives, from Docker's API or from CRI
(containerd / CRI-O, gRPC over HTTP/2), each answered by a stand-in server
on a unix socket (no container runtime runs here). The name is the
container frame of its stacks and is listed in the header's "containers".
"""
import http.server
import json
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402

CID = "3f1a" * 16  # 64 hex digits
wd = None


def cgroup_root():
    """A cgroup hierarchy we may create groups in: cgroup2, else v1 pids."""
    mounts = [line.split() for line in open("/proc/mounts")]
    for m in mounts:
        if m[2] == "cgroup2":
            return m[1]
    for m in mounts:
        if m[2] == "cgroup" and "pids" in m[3].split(","):
            return m[1]
    gptest.skip("no writable cgroup hierarchy")


class FakeContainer:
    """A busy process placed in .../gptest-<pid>/docker-<id>.scope."""

    def __init__(self):
        self.dir = os.path.join(cgroup_root(), f"gptest-{os.getpid()}", f"docker-{CID}.scope")
        os.makedirs(self.dir, exist_ok=True)
        self.proc = subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"])
        with open(os.path.join(self.dir, "cgroup.procs"), "w") as f:
            f.write(str(self.proc.pid))
        assert CID in open(f"/proc/{self.proc.pid}/cgroup").read()

    def close(self):
        gptest.kill_quietly(self.proc)
        for d in (self.dir, os.path.dirname(self.dir)):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def docker_server(path, requests):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            if self.path == f"/containers/{CID}/json":
                body = json.dumps({"Id": CID, "Name": "/gp-test-web"}).encode()
                self.send_response(200)
            else:
                body = b'{"message":"No such container"}'
                self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

        def address_string(self):
            return "unix"

    srv = UnixHTTPServer(path, Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def profile_container(env, extra=()):
    out = wd.file(f"out-{time.monotonic_ns()}")
    c = FakeContainer()
    try:
        time.sleep(0.2)
        gptest.run_gprofiler(["-o", out, "-d", "2", "-f", "99", "--pids", str(c.proc.pid),
                              *extra], env=env)
    finally:
        c.close()
    return gptest.last_col(out)


def test_docker_name():
    sock = wd.file("docker.sock")
    requests = []
    srv = docker_server(sock, requests)
    try:
        env = dict(os.environ, GPROFILER_DOCKER_SOCKET=sock, GPROFILER_CRI_SOCKET=wd.file("none"))
        col = profile_container(env)
        assert col.stacks, "no stacks"
        assert {f[1] for f, c in col.stacks} == {"gp-test-web"}, [f[:3] for f, c in col.stacks]
        assert col.header["containers"] == ["gp-test-web"], col.header["containers"]
        assert requests == [f"/containers/{CID}/json"], requests  # asked once, cached

        col = profile_container(env, ["--disable-container-names"])
        assert {f[1] for f, c in col.stacks} == {""}
        assert col.header["containers"] == [] and not col.header["container_names_enabled"]
    finally:
        srv.shutdown()


# ---- a CRI runtime: gRPC over HTTP/2 on a unix socket ----

def pb_field(num, payload):
    """A length-delimited protobuf field."""
    def varint(v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            out.append(b | (0x80 if v else 0))
            if not v:
                return bytes(out)
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def pb_map(num, d):
    return b"".join(pb_field(num, pb_field(1, k.encode()) + pb_field(2, v.encode()))
                    for k, v in d.items())


def container_status(cid):
    labels = {"io.kubernetes.container.name": "web", "io.kubernetes.pod.name": "web-7d9",
              "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": "5f2e"}
    status = (pb_field(1, cid.encode()) + pb_field(2, pb_field(1, b"web")) +
              pb_map(12, labels) + pb_map(13, {"io.kubernetes.container.restartCount": "0"}))
    return pb_field(1, status)


def cri_server(path, calls):
    import h2.config
    import h2.connection
    import h2.events

    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(8)

    def serve(conn):
        h2c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2c.initiate_connection()
        conn.sendall(h2c.data_to_send())
        bodies, paths = {}, {}
        while True:
            data = conn.recv(65536)
            if not data:
                return
            for ev in h2c.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    hdrs = {k.decode() if isinstance(k, bytes) else k:
                            v.decode() if isinstance(v, bytes) else v for k, v in ev.headers}
                    paths[ev.stream_id] = hdrs[":path"]
                    assert hdrs.get("content-type") == "application/grpc", hdrs
                    bodies[ev.stream_id] = b""
                elif isinstance(ev, h2.events.DataReceived):
                    bodies[ev.stream_id] += ev.data
                    h2c.acknowledge_received_data(len(ev.data), ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    sid, p, body = ev.stream_id, paths[ev.stream_id], bodies[ev.stream_id]
                    calls.append(p)
                    h2c.send_headers(sid, [(":status", "200"), ("content-type", "application/grpc")])
                    if p == "/runtime.v1.RuntimeService/ContainerStatus":
                        # request: 5-byte frame header, then field 1 = the id
                        cid = body[7:7 + body[6]].decode()
                        msg = container_status(cid) if cid == CID else b""
                        status = "0" if cid == CID else "5"
                        if msg:
                            h2c.send_data(sid, b"\0" + len(msg).to_bytes(4, "big") + msg)
                    else:
                        status = "12"  # UNIMPLEMENTED
                    h2c.send_headers(sid, [("grpc-status", status)], end_stream=True)
            conn.sendall(h2c.data_to_send())

    def accept():
        while True:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return lsock


def test_cri_name():
    try:
        import h2  # noqa: F401
    except ImportError:
        gptest.skip("python3-h2 is not installed (scripts/install-deps --test installs it)")
    sock = wd.file("containerd.sock")
    calls = []
    lsock = cri_server(sock, calls)
    try:
        env = dict(os.environ, GPROFILER_DOCKER_SOCKET=wd.file("nodocker"),
                   GPROFILER_CRI_SOCKET=sock)
        col = profile_container(env)
        name = "k8s_web_web-7d9_default_5f2e_0"
        assert {f[1] for f, c in col.stacks} == {name}, [f[:3] for f, c in col.stacks]
        assert col.header["containers"] == [name]
        assert calls == ["/runtime.v1.RuntimeService/ContainerStatus"], calls
    finally:
        lsock.close()


def main():
    global wd
    gptest.require_root()
    wd = gptest.Workdir("containers")
    try:
        gptest.main([test_docker_name, test_cri_name])
    finally:
        wd.cleanup()


if __name__ == "__main__":
    main()
