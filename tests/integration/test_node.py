#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""JIT frames from perf maps: a Node process started with --perf-basic-prof
shows its JavaScript function names, and its nodejs appid."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402

SCRIPT = r"""
function gpHotJavaScriptFunction(n) {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.sqrt(i) * Math.sin(i);
  return s;
}
const end = Date.now() + Number(process.argv[2] || 6) * 1000;
let acc = 0;
while (Date.now() < end) acc += gpHotJavaScriptFunction(100000);
console.log(acc > 0 ? "" : " ");
"""


def test_node_perf_basic_prof():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        gptest.skip("node is not installed")
    wd = gptest.Workdir("node")
    try:
        script = wd.file("app.js")
        with open(script, "w") as f:
            f.write(SCRIPT)
        w = subprocess.Popen([node, "--perf-basic-prof", script, "7"], cwd=wd.path,
                             stdout=subprocess.DEVNULL)
        try:
            time.sleep(1.5)  # JIT warm-up
            out = wd.file("out")
            gptest.run_gprofiler(["-o", out, "-d", "3", "-f", "200", "--pids", str(w.pid)])
        finally:
            gptest.kill_quietly(w)
        col = gptest.last_col(out)
        stacks = [(f, c) for f, c in col.stacks if f[2].startswith("node")]
        assert stacks, f"no node stacks: {col.stacks[:3]}"
        total = sum(c for f, c in stacks)
        js = sum(c for f, c in stacks if any("gpHotJavaScriptFunction" in x for x in f))
        print(f"{js}/{total} samples in gpHotJavaScriptFunction")
        assert js / total > 0.5, [f for f, c in stacks][:5]
        appids = {x for f, c in stacks for x in f if x.startswith("appid: ")}
        assert appids == {f"appid: nodejs: {script} ({script})"}, appids
    finally:
        wd.cleanup()


if __name__ == "__main__":
    gptest.require_root()
    gptest.main([test_node_perf_basic_prof])
