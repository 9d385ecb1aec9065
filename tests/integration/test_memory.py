#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The daemon does not grow: in continuous mode with one-second sessions, on a
host where short-lived processes come and go all the time (shells, a C
program, Python interpreters that the Python sampler picks up), its resident
memory after 30 sessions is what it was after 8 (caches full by then; every
one of them is bounded and forgets dead processes).

Under AddressSanitizer the allocator keeps freed memory in quarantine, so
resident size says nothing there; that build checks the same run for leaks
(LeakSanitizer at exit) and for the sessions having run."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402

WARM = 8            # sessions before the first reading
MORE = 22           # sessions between the readings
GROWTH_KB = 2048    # allowance: allocator fragmentation, one more page table or two

CHURN = r"""
i=0
while :; do
  /bin/true
  sh -c 'echo $$ > /dev/null'
  "$1" 200
  if [ $((i % 20)) -eq 0 ]; then
    /usr/bin/python3.11 -c 'import time
e = time.time() + 0.3
while time.time() < e: pass' &
  fi
  i=$((i + 1))
  sleep 0.01
done
"""

SPIN = r"""
#include <stdlib.h>
volatile unsigned long sink;
int main(int argc, char **argv) { long n = atol(argv[1]) * 1000; for (long i = 0; i < n; i++) sink += i; return 0; }
"""


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def sessions(out):
    return len([n for n in os.listdir(out) if n.startswith("profile_") and n.endswith(".col")])


def test_rss_flat_across_sessions_with_process_churn():
    wd = gptest.Workdir("memory")
    spin = gptest.compile_c(SPIN, wd.file("gpmem_spin"), ["-O1"])
    churn = subprocess.Popen(["sh", "-c", CHURN, "churn", spin], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = wd.file("out")
    g = gptest.start_gprofiler(["-o", out, "-c", "-d", "1", "-f", "99"])
    try:
        assert gptest.wait_for(lambda: os.path.isdir(out) and sessions(out) >= WARM, 120, 0.2), \
            g.stderr.read() if g.poll() is not None else "too few sessions"
        first = rss_kb(g.pid)
        assert gptest.wait_for(lambda: sessions(out) >= WARM + MORE, 300, 0.2)
        last = rss_kb(g.pid)
        print(f"RSS after {WARM} sessions {first} kB, after {WARM + MORE} {last} kB "
              f"({last - first:+d} kB)")
        col = gptest.last_col(out)
        assert col.total() > 0
    finally:
        os.killpg(churn.pid, signal.SIGKILL)
        churn.wait()
        g.send_signal(signal.SIGTERM)
        assert g.wait(timeout=60) == 0, g.stderr.read()[-3000:]
    if os.environ.get("GPROFILER_SANITIZE") in ("1", "ON", "TRUE", "true"):
        print("sanitizer build: resident size not compared (ASan quarantine); leaks checked at exit")
    else:
        assert last - first <= GROWTH_KB, f"the daemon grew by {last - first} kB in {MORE} sessions"
    wd.cleanup()


if __name__ == "__main__":
    gptest.require_root()
    gptest.main([test_rss_flat_across_sessions_with_process_churn])
