#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Debian package, on this machine: built by CPack from the build tree,
its Depends cover every library the packaged ELF files link against, it
installs with dpkg -i, `gprofiler --version` runs from PATH, the unit is
installed and passes systemd-analyze verify where it lies, the token file is
a root-only conffile, `dpkg -r` removes everything but the conffile and
`dpkg --purge` leaves nothing behind. The machine is restored (the package
purged) even when a check fails; a machine that already has a gprofiler
package or files at its paths is left alone (skip).
"""
import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402

PKG = "gprofiler"
UNIT = "/usr/lib/systemd/system/gprofiler.service"
ENV_FILE = "/etc/gprofiler/gprofiler.env"
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
wd = None


def sh(cmd, check=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600, **kw)
    if check:
        assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}"
    return p


def dpkg(*args, check=True):
    """dpkg, waiting for the lock another apt/dpkg may hold."""
    for _ in range(60):
        p = sh(["dpkg", *args], check=False)
        if "lock" not in p.stdout or p.returncode == 0:
            break
        time.sleep(5)
    if check:
        assert p.returncode == 0, f"dpkg {' '.join(args)} exited {p.returncode}:\n{p.stdout}"
    return p


def status():
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", PKG], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return p.stdout.strip() if p.returncode == 0 else "not-installed"


def build_deb():
    out = tempfile.mkdtemp(prefix="gp-cpack-", dir=wd.path)
    cfg = os.path.join(gptest.BUILD_DIR, "CPackConfig.cmake")
    assert os.path.exists(cfg), f"{cfg} missing: is cmake/Packaging.cmake included?"
    sh(["cpack", "-G", "DEB", "-B", out, "--config", cfg])
    (deb,) = glob.glob(os.path.join(out, "*.deb"))
    return deb


def deb_files(deb):
    """[(mode, path)] of the package's data, paths absolute."""
    out = sh(["dpkg-deb", "-c", deb]).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        rows.append((parts[0], parts[5][1:].rstrip("/") or "/"))
    return rows


def needed_packages(root):
    """Packages owning the libraries the ELF files under root link against."""
    sys.path.insert(0, os.path.dirname(__file__))
    pkgs = set()
    for dirpath, _, files in os.walk(root):
        for n in files:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                if os.path.islink(p) or f.read(4) != b"\x7fELF":
                    continue
            libs = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                              sh(["readelf", "-d", p]).stdout)
            ldd = sh(["ldd", p], check=False).stdout
            for lib in libs:
                m = re.search(r"^\s*" + re.escape(lib) + r" => (\S+)", ldd, re.M)
                assert m, f"{lib} of {p} not resolved"
                path = os.path.realpath(m.group(1))
                for cand in (path, path[4:] if path.startswith("/usr/") else "/usr" + path):
                    q = subprocess.run(["dpkg", "-S", cand], stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, text=True)
                    if q.returncode == 0:
                        pkgs.add(q.stdout.split(":")[0])
                        break
                else:
                    raise AssertionError(f"no package owns {path}")
    return pkgs


def test_package():
    deb = build_deb()
    fields = {f: sh(["dpkg-deb", "-f", deb, f]).stdout.strip()
              for f in ("Package", "Version", "Architecture", "Depends")}
    assert fields["Package"] == PKG, fields
    arch = sh(["dpkg", "--print-architecture"]).stdout.strip()
    assert fields["Architecture"] == arch, fields
    depends = {re.split(r"[\s(]", d.strip())[0] for d in fields["Depends"].split(",")}
    data = tempfile.mkdtemp(prefix="gp-debdata-", dir=wd.path)
    sh(["dpkg-deb", "-x", deb, data])
    need = needed_packages(data)
    assert need and need <= depends, f"Depends {sorted(depends)} lacks {sorted(need - depends)}"

    files = deb_files(deb)
    paths = {p for _, p in files}
    for must in ("/usr/bin/gprofiler", UNIT, ENV_FILE):
        assert must in paths, (must, sorted(paths))
    assert dict((p, m) for m, p in files)[ENV_FILE] == "-rw-------"
    control = tempfile.mkdtemp(prefix="gp-debctl-", dir=wd.path)
    sh(["dpkg-deb", "-e", deb, control])
    assert open(os.path.join(control, "conffiles")).read().split() == [ENV_FILE]
    unit_text = open(data + UNIT).read()
    assert "ExecStart=/usr/bin/gprofiler " in unit_text, unit_text

    # leave a machine that has gprofiler installed some other way alone
    if status() != "not-installed":
        gptest.skip(f"package {PKG} is already on this machine ({status()}); not touching it")
    clash = [p for m, p in files if not m.startswith("d") and os.path.lexists(p)]
    if clash:
        gptest.skip(f"files the package would overwrite exist here: {clash}")
    dirs_before = {p for m, p in files if m.startswith("d") and os.path.isdir(p)}

    try:
        p = dpkg("-i", deb, check=False)
        if p.returncode != 0 and "dependency problems" in p.stdout:
            sh(["apt-get", "install", "-f", "-y", "-qq"],
               env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        else:
            assert p.returncode == 0, p.stdout
        assert status() == "install ok installed", status()

        # gprofiler --version from PATH
        found = shutil.which("gprofiler", path=SYSTEM_PATH)
        assert found == "/usr/bin/gprofiler", found
        v = sh(["gprofiler", "--version"], env=dict(os.environ, PATH=SYSTEM_PATH))
        expect = sh([gptest.BIN, "--version"]).stdout.strip()
        assert v.stdout.strip() == expect, (v.stdout, expect)

        # the unit, where systemd reads it, with the binary it names
        assert os.path.isfile(UNIT)
        p = sh(["systemd-analyze", "verify", UNIT], check=False)
        assert p.returncode == 0 and not p.stdout.strip(), f"systemd-analyze verify {UNIT}:\n{p.stdout}"
        st = os.stat(ENV_FILE)
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0, oct(st.st_mode)
        for _, path in files:
            assert os.path.lexists(path), f"{path} not installed"
        listed = [ln for ln in sh(["dpkg", "-L", PKG]).stdout.splitlines() if ln.strip()]

        # remove: everything but the conffile goes
        dpkg("-r", PKG)
        assert status() == "deinstall ok config-files", status()
        assert shutil.which("gprofiler", path=SYSTEM_PATH) is None
        assert not os.path.exists(UNIT) and not os.path.exists("/usr/bin/gprofiler")
        assert os.path.exists(ENV_FILE), "dpkg -r must keep the conffile"

        # purge: nothing left
        dpkg("--purge", PKG)
        assert status() == "not-installed", status()
        left = [p for p in listed if os.path.lexists(p) and p not in dirs_before
                and p != "/." and not (os.path.isdir(p) and p in ("/etc", "/usr", "/usr/bin",
                                                                    "/usr/lib"))]
        assert not left, f"left after purge: {left}"
    finally:
        if status() != "not-installed":
            dpkg("--purge", PKG, check=False)
        assert status() == "not-installed", f"could not purge {PKG}: {status()}"


def main():
    global wd
    gptest.require_root()
    for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps", "systemd-analyze", "readelf"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: run scripts/install-deps --test")
    wd = gptest.Workdir("deb")
    try:
        gptest.main([test_package])
    finally:
        wd.cleanup()


if __name__ == "__main__":
    main()
