# SPDX-License-Identifier: Apache-2.0
"""The hand-written CPython layout tables (collectors/python/pyoffsets.c)
against the compiler: tests/fixtures/python/layout_probe.c prints offsetof()
of every field the sampler reads, compiled against each installed CPython's
own internal headers (pyenv 3.8-3.13, Debian's python3.11-dev). For 3.13
the layout read from a live process's _Py_DebugOffsets must agree too."""
import glob
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptest  # noqa: E402
import pyhelp  # noqa: E402

PROBE = os.path.join(gptest.SOURCE_DIR, "tests", "fixtures", "python", "layout_probe.c")


def include_sets():
    """(label, version "3.X", include dirs) of each CPython with internal headers."""
    found = []
    for d in sorted(glob.glob("/root/.pyenv/versions/3.*/include/python3.*")):
        ver = os.path.basename(d)[len("python"):].rstrip("dm")
        if os.path.isdir(os.path.join(d, "internal")) and int(ver.split(".")[1]) >= 8:
            found.append((d.split("/")[4], ver, [d, os.path.join(d, "internal")]))
    deb = "/usr/include/python3.11"
    if os.path.isdir(os.path.join(deb, "internal")):
        found.append(("debian-3.11", "3.11", [deb, os.path.join(deb, "internal"),
                                               "/usr/include/x86_64-linux-gnu/python3.11"]))
    return found


def probe(incs):
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "probe")
        flags = ["-DPy_BUILD_CORE"] + [f"-I{d}" for d in incs if os.path.isdir(d)]
        subprocess.run(["cc", *flags, "-o", exe, PROBE], check=True)
        return dict(line.split(" ", 1) for line in
                    subprocess.run([exe], stdout=subprocess.PIPE, text=True, check=True).stdout.splitlines())


def table(args):
    out = subprocess.run([pyhelp.PYSAMPLE, *args], stdout=subprocess.PIPE, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def compare(label, want, got):
    assert want == got, (f"{label}: table differs from the compiler:\n" +
                         "\n".join(f"  {k}: compiler {want.get(k)} table {got.get(k)}"
                                   for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)))


def make(label, ver, incs):
    def t():
        compare(label, probe(incs), table(["--table", ver]))
    t.__name__ = f"table_matches_headers[{label}]"
    return t


def test_debug_offsets_313():
    python = "/root/.pyenv/versions/3.13.0/bin/python3"
    cands = sorted(glob.glob("/root/.pyenv/versions/3.13*/bin/python3"))
    if not cands:
        print("  (no 3.13 here: debug offsets not checked live)")
        return
    python = cands[-1]
    wd = gptest.Workdir("pydbg")
    p, _ = pyhelp.start(python, wd, "split.py", pyhelp.SPLIT)
    try:
        live = table(["--layout", str(p.pid)])
    finally:
        gptest.kill_quietly(p)
        wd.cleanup()
    compare("3.13 _Py_DebugOffsets", table(["--table", "3.13"]), live)


def main():
    pyhelp.require_pysample()
    sets = include_sets()
    if not sets:
        gptest.skip("no CPython internal headers (pyenv or python3.11-dev) on this machine")
    gptest.main([make(*s) for s in sets] + [test_debug_offsets_313])


if __name__ == "__main__":
    main()
