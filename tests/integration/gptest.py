# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the integration tests (run by ctest as root).

Each test is a plain python3 script: it starts real workloads, runs the
real gprofiler binary ($GPROFILER_BIN) and asserts what a user would check
in the .col output. Exit 77 means skipped (ctest SKIP_RETURN_CODE) and
must come with a reason on stderr.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

BIN = os.environ.get("GPROFILER_BIN", "")
BUILD_DIR = os.environ.get("GPROFILER_BUILD_DIR", "")
SOURCE_DIR = os.environ.get("GPROFILER_SOURCE_DIR", "")
SKIP = 77


def skip(reason):
    print(f"SKIPPED: {reason}", file=sys.stderr)
    sys.exit(SKIP)


def require_root():
    if os.geteuid() != 0:
        skip("needs root (real BPF and /proc of other processes)")
    if not BIN or not os.path.exists(BIN):
        print("GPROFILER_BIN is not set to the built binary", file=sys.stderr)
        sys.exit(1)


class Workdir:
    """A temporary folder removed at exit unless the test failed."""

    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix=f"gp-{name}-")

    def file(self, name):
        return os.path.join(self.path, name)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def compile_c(src_text, out, flags=()):
    src = out + ".c"
    with open(src, "w") as f:
        f.write(src_text)
    subprocess.run(["cc", "-o", out, src, *flags], check=True)
    return out


def lock_name():
    # tests may run beside a developer's daemon: use a lock of our own
    return f"gprofiler_test_{os.getpid()}"


def run_gprofiler(args, timeout=120, check=True, env=None, lock=True):
    cmd = [BIN, *args]
    if lock:
        cmd += ["--lock-name", lock_name()]
    if "--log-file" not in args:
        cmd += ["--log-file", ""]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"gprofiler {args} exited {p.returncode}\nstdout:\n{p.stdout}\n"
                             f"stderr:\n{p.stderr}")
    return p


def start_gprofiler(args, env=None):
    cmd = [BIN, *args, "--lock-name", lock_name(), "--log-file", ""]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


class Col:
    """A parsed .col file: header dict and (frames, count) stacks."""

    def __init__(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        self.text = raw.decode("utf-8", errors="replace")
        lines = self.text.split("\n")
        assert lines[0].startswith("# "), "no header line"
        self.header = json.loads(lines[0][2:])
        self.stacks = []
        for line in lines[1:]:
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            self.stacks.append((stack.split(";"), int(count)))

    def total(self, pred=lambda frames: True):
        return sum(c for f, c in self.stacks if pred(f))

    def comm(self, comm):
        """Stacks whose comm frame (third with idx and container) matches."""
        return [(f, c) for f, c in self.stacks if len(f) > 2 and f[2] == comm]


def last_col(outdir):
    return Col(os.path.join(outdir, "last_profile.col"))


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def main(tests):
    """Runs test functions in order; prints a summary; exits 1 on failure."""
    failed = 0
    for t in tests:
        name = t.__name__
        start = time.monotonic()
        try:
            t()
            print(f"PASS {name} ({time.monotonic() - start:.1f}s)")
        except SystemExit:
            raise
        except Exception:
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    sys.exit(1 if failed else 0)


def kill_quietly(p):
    if p and p.poll() is None:
        p.send_signal(signal.SIGKILL)
        p.wait()
