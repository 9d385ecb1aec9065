# SPDX-License-Identifier: Apache-2.0
"""Helpers for the Python collector's integration tests: the interpreters on
this machine, workload scripts, and running tests/tools/pysample (which
drives python_runtime_ops.profile on one pid and prints folded stacks)."""
import glob
import os
import select
import subprocess
import sys
import time

import gptest

PYSAMPLE = os.path.join(gptest.BUILD_DIR, "tools", "pysample")

# A 3:1 CPU split: heavy() does three times the work of light().
SPLIT = """\
def burn(n):
    x = 0
    for i in range(n):
        x += i * i
    return x

def heavy():
    return burn(300000)

def light():
    return burn(100000)

def main():
    while True:
        heavy()
        light()

main()
"""

# One thread sleeps, one burns CPU.
THREADED = """\
import threading, time

def sleeper():
    while True:
        time.sleep(1)

def spinner():
    x = 0
    while True:
        x += 1

threading.Thread(target=sleeper, daemon=True).start()
t = threading.Thread(target=spinner, daemon=True)
t.start()
t.join()
"""

# A recursion deeper than the sampler keeps (512 frames).
DEEP = """\
import sys
sys.setrecursionlimit(5000)
def rec(n):
    if n == 0:
        while True:
            pass
    return rec(n - 1)
rec(int(sys.argv[1]))
"""

# Standard library and (where pip is installed) package frames.
PACKAGES = """\
import json
try:
    from pip._vendor.packaging.version import Version
except ImportError:
    Version = str
def work():
    while True:
        json.dumps({"a": [1, 2, 3], "b": "x" * 50})
        Version("1.2.3rc4")
print("ready", flush=True)
work()
"""

# Burns CPU for a second, then exits.
EXITS = """\
import time
def spin(t):
    end = time.time() + t
    while time.time() < end:
        pass
spin(1.0)
"""


def interpreters():
    """(label, path) of Debian's python3.11 and each pyenv CPython 3.8+."""
    found = []
    if os.path.exists("/usr/bin/python3.11"):
        found.append(("debian-3.11", "/usr/bin/python3.11"))
    def key(d):
        return [int(x) if x.isdigit() else 0 for x in os.path.basename(d).split(".")]

    for d in sorted(glob.glob("/root/.pyenv/versions/3.*"), key=key):
        ver = os.path.basename(d)
        parts = ver.split(".")
        if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) < 8:
            continue
        exe = os.path.join(d, "bin", "python3")
        if os.path.exists(exe):
            found.append((f"pyenv-{ver}", exe))
    return found


def require_pysample():
    gptest.require_root()
    if not os.path.exists(PYSAMPLE):
        print(f"{PYSAMPLE} is not built", file=sys.stderr)
        sys.exit(1)


def start(python, wd, name, text, args=()):
    """Starts a script; one that prints "ready" (after slow imports) is waited
    for, the others are given 0.4 s to start burning."""
    path = wd.file(name)
    with open(path, "w") as f:
        f.write(text)
    announces = 'print("ready"' in text
    p = subprocess.Popen([python, path, *args], cwd=wd.path,
                         stdout=subprocess.PIPE if announces else None, text=True)
    if announces:
        ready, _, _ = select.select([p.stdout], [], [], 120)
        assert ready and p.stdout.readline() == "ready\n", f"{python} {name} did not start"
    else:
        time.sleep(0.4)
    assert p.poll() is None, f"{python} {name} exited early"
    return p, path


def pysample(pid, *args, check=True):
    p = subprocess.run([PYSAMPLE, *args, str(pid)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    assert p.returncode >= 0, f"pysample died of signal {-p.returncode}\n{p.stderr}"
    if check and p.returncode != 0:
        raise AssertionError(f"pysample {args} {pid}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def stacks(out):
    """[(frames, count)] from folded text."""
    result = []
    for line in out.splitlines():
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        result.append((stack.split(";"), int(count)))
    return result


def share(st, pred):
    total = sum(c for _, c in st)
    return sum(c for f, c in st if pred(f)) / total if total else 0.0
