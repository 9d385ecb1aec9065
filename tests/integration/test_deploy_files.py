#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every deploy file outside Kubernetes, checked with the tools that read it.

YAML and JSON parse; shell scripts pass shellcheck; the systemd unit (as the
package installs it and as create_systemd_service.sh writes it) passes
systemd-analyze verify; the playbook passes ansible-playbook --syntax-check
and, run on this machine with a recording `gprofiler` first on PATH, starts
gprofiler with the token in its environment only; so do the Dataproc and EMR
scripts (their cloud tools stubbed). Every gprofiler argument list in these
files is accepted by the binary's own parser (--dry-run), and the Docker
image's runtime packages are exactly the packages owning the libraries that
the installed ELF files link against. Kubernetes files: test_deploy_k8s.py.
"""
import glob
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402

try:
    import yaml
except ImportError:
    # Debian's python3-yaml (scripts/install-deps --test) when the python3
    # that ctest found is another one
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise

SRC = gptest.SOURCE_DIR or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(SRC, "deploy")
TOKEN = "tok3n-Secret-Value"
SERVICE = "deploy-test-service"
wd = None


def deploy_files(*patterns):
    out = []
    for p in patterns:
        out += glob.glob(os.path.join(DEPLOY, "**", p), recursive=True)
    return sorted(set(out))


def dry_run(argv, env=None, expect=0):
    """gprofiler --dry-run with argv and only the given GPROFILER_* env."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("GPROFILER_")}
    e.update(env or {})
    p = subprocess.run([gptest.BIN, "--dry-run", *argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=e, timeout=30)
    assert p.returncode == expect, \
        f"gprofiler --dry-run {argv} (env {sorted(env or {})}) exited {p.returncode}, " \
        f"expected {expect}: {p.stderr.strip()}"
    return p


def assert_no_token_in_argv(argv, where):
    joined = " ".join(argv)
    assert TOKEN not in joined and "--token" not in joined, \
        f"{where}: the token is on the command line: {argv}"


def capabilities():
    """The capability list of deploy/capabilities.md, without CAP_."""
    caps = []
    with open(os.path.join(DEPLOY, "capabilities.md")) as f:
        for line in f:
            m = re.match(r"\|\s*CAP_([A-Z_]+)\s*\|", line)
            if m:
                caps.append(m.group(1))
    assert len(caps) >= 5, caps
    return caps


def stage_install(component=None):
    """DESTDIR install of the build tree with prefix /usr, as the Dockerfile
    and the package do; returns the root folder."""
    root = tempfile.mkdtemp(prefix="gp-stage-", dir=wd.path)
    cmd = ["cmake", "--install", gptest.BUILD_DIR, "--prefix", "/usr"]
    if component:
        cmd += ["--component", component]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, DESTDIR=root))
    return root


# ---- parse ----

def test_yaml_and_json_parse():
    helm_templates = os.path.join(DEPLOY, "k8s", "helm-charts", "templates")
    ymls = [f for f in deploy_files("*.yml", "*.yaml") if not f.startswith(helm_templates)]
    assert len(ymls) >= 6, ymls
    for f in ymls:
        with open(f) as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        assert docs, f"{f}: no YAML document"
    jsons = deploy_files("*.json")
    assert jsons, "no JSON deploy file"
    for f in jsons:
        with open(f) as fh:
            json.load(fh)


def shell_scripts():
    out = []
    for f in deploy_files("*"):
        if not os.path.isfile(f):
            continue
        with open(f, "rb") as fh:
            first = fh.readline()
        if first.startswith(b"#!") and re.search(rb"\b(ba)?sh\b", first):
            out.append(f)
    return out


def test_shell_scripts_pass_shellcheck():
    scripts = shell_scripts()
    names = {os.path.relpath(s, DEPLOY) for s in scripts}
    for must in ("systemd/create_systemd_service.sh", "dataproc/gprofiler_initialization_action.sh",
                 "emr/gprofiler_action.sh", "debian/postinst", "debian/prerm", "debian/postrm"):
        assert must in names, (must, names)
    for s in scripts:
        p = subprocess.run(["shellcheck", "--external-sources", s], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        assert p.returncode == 0, f"shellcheck {s}:\n{p.stdout}"
        text = open(s).read()
        strict = "set -euo pipefail" if "bash" in text.splitlines()[0] else "set -eu"
        assert strict in text, f"{s}: no '{strict}'"
        assert os.stat(s).st_mode & stat.S_IXUSR, f"{s} is not executable"
    # the check itself can fail
    bad = os.path.join(wd.path, "bad.sh")
    with open(bad, "w") as f:
        f.write("#!/bin/bash\nset -euo pipefail\nrm -rf $1/*\n")
    assert subprocess.run(["shellcheck", bad], stdout=subprocess.DEVNULL).returncode != 0


# ---- systemd ----

def verify_unit(unit, root=None):
    cmd = ["systemd-analyze", "verify"]
    if root:
        cmd.append(f"--root={root}")
    p = subprocess.run([*cmd, unit], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # warnings (unknown keys, bad values) exit 0 but print: none allowed
    return p.returncode, p.stdout.strip()


def read_env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            k, _, v = line.partition("=")
            if len(v) >= 2 and v[0] == v[-1] == '"':
                v = v[1:-1]
            env[k] = v
    return env


def unit_exec_start(path, env):
    """ExecStart's argv after the binary, with $VAR split as systemd does."""
    with open(path) as f:
        line = next(ln for ln in f if ln.startswith("ExecStart="))
    words = shlex.split(line[len("ExecStart="):])
    out = []
    for w in words[1:]:
        m = re.fullmatch(r"\$(\w+)", w)
        out += env.get(m.group(1), "").split() if m else [w]
    return words[0], out


def host_unit_root(root):
    """systemd-analyze --root needs the host's targets under the root."""
    dst = os.path.join(root, "usr/lib/systemd/system")
    os.makedirs(dst, exist_ok=True)
    for f in glob.glob("/usr/lib/systemd/system/*.target"):
        if not os.path.exists(os.path.join(dst, os.path.basename(f))):
            shutil.copy(f, dst, follow_symlinks=False)


def test_installed_unit_verifies():
    # the unit exactly as `cmake --install`/the .deb install it, under a
    # private root holding the installed binary (ExecStart must exist)
    root = stage_install()
    unit = "/usr/lib/systemd/system/gprofiler.service"
    assert os.path.exists(root + unit), "no unit installed"
    assert os.access(root + "/usr/bin/gprofiler", os.X_OK)
    host_unit_root(root)
    rc, out = verify_unit(unit, root)
    assert rc == 0 and not out, f"systemd-analyze verify: rc {rc}\n{out}"
    text = open(root + unit).read()
    assert "ExecStart=/usr/bin/gprofiler -cu $GPROFILER_ARGS" in text, text
    assert "EnvironmentFile=/etc/gprofiler/gprofiler.env" in text
    assert re.search(r"^Restart=always$", text, re.M)
    assert set(re.search(r"^CapabilityBoundingSet=(.*)$", text, re.M).group(1).split()) == \
        {"CAP_" + c for c in capabilities()}
    envf = root + "/etc/gprofiler/gprofiler.env"
    assert stat.S_IMODE(os.stat(envf).st_mode) == 0o600, oct(os.stat(envf).st_mode)
    # as shipped (no token yet) it refuses to run: exit 2, which the unit
    # does not restart on
    env = read_env_file(envf)
    _, argv = unit_exec_start(root + unit, env)
    dry_run(argv, {k: v for k, v in env.items() if k != "GPROFILER_ARGS"}, expect=2)
    assert re.search(r"^RestartPreventExitStatus=2$", text, re.M)
    # once filled in, it runs
    env.update(GPROFILER_TOKEN=TOKEN, GPROFILER_SERVICE_NAME=SERVICE,
               GPROFILER_ARGS="--profiling-frequency 19 --perf-mode fp")
    _, argv = unit_exec_start(root + unit, env)
    assert argv == ["-cu", "--profiling-frequency", "19", "--perf-mode", "fp"], argv
    dry_run(argv, {k: v for k, v in env.items() if k != "GPROFILER_ARGS"})
    # and the check can fail
    with open(root + unit) as f:
        broken = f.read().replace("ExecStart=/usr/bin/gprofiler", "ExecStart=/usr/bin/gprofiler-nope")
    with open(root + "/usr/lib/systemd/system/gprofiler-broken.service", "w") as f:
        f.write(broken)
    rc, out = verify_unit("/usr/lib/systemd/system/gprofiler-broken.service", root)
    assert rc != 0 and "gprofiler-nope" in out, out


def run_create_script(cwd, env_file, extra_env=None, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPROFILER_")}
    env.update(GPROFILER_TOKEN=TOKEN, GPROFILER_SERVICE=SERVICE, GPROFILER_BIN=gptest.BIN,
               GPROFILER_ENV_FILE=env_file, GPROFILER_ARGS="--perf-mode fp")
    env.update(extra_env or {})
    p = subprocess.run([os.path.join(DEPLOY, "systemd", "create_systemd_service.sh")], cwd=cwd,
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_create_systemd_service_script():
    cwd = tempfile.mkdtemp(prefix="gp-unit-", dir=wd.path)
    env_file = os.path.join(wd.path, "etc-gprofiler", "gprofiler.env")
    run_create_script(cwd, env_file)
    unit = os.path.join(cwd, "gprofiler.service")
    text = open(unit).read()
    assert TOKEN not in text, "token written into the unit"
    assert f"ExecStart={gptest.BIN} -cu $GPROFILER_ARGS" in text, text
    assert f"EnvironmentFile={env_file}" in text
    assert "@" not in "".join(ln for ln in text.splitlines() if not ln.startswith("#"))
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    rc, out = verify_unit(unit)
    assert rc == 0 and not out, f"systemd-analyze verify {unit}: rc {rc}\n{out}"
    env = read_env_file(env_file)
    assert env["GPROFILER_TOKEN"] == TOKEN and env["GPROFILER_SERVICE_NAME"] == SERVICE
    binary, argv = unit_exec_start(unit, env)
    assert binary == gptest.BIN
    assert_no_token_in_argv(argv, unit)
    dry_run(argv, {k: v for k, v in env.items() if k != "GPROFILER_ARGS"})
    # refuses to overwrite, and refuses a missing token or a quote
    p = run_create_script(cwd, env_file, check=False)
    assert p.returncode == 1 and "already exists" in p.stderr, p.stderr
    cwd2 = tempfile.mkdtemp(prefix="gp-unit-", dir=wd.path)
    p = run_create_script(cwd2, env_file, {"GPROFILER_TOKEN": ""}, check=False)
    assert p.returncode == 1 and "GPROFILER_TOKEN" in p.stderr, p.stderr
    p = run_create_script(cwd2, env_file, {"GPROFILER_SERVICE": 'a"b'}, check=False)
    assert p.returncode == 1 and not os.path.exists(os.path.join(cwd2, "gprofiler.service"))


# ---- scripts run with a recording gprofiler ----

RECORDER = r"""#!/bin/bash
# records how it was started, validates the arguments with the real parser
log=__LOG__
{
  printf 'ARGV'; printf '\t%s' "$@"; echo
  echo "TOKEN=${GPROFILER_TOKEN-<unset>}"
} >>"$log"
env -u GPROFILER_BIN __BIN__ --dry-run "$@" >>"$log.out" 2>&1
rc=$?
echo "RC=$rc" >>"$log"
if [ "$rc" = 0 ]; then sleep 4; fi
exit "$rc"
"""


class Sandbox:
    """A PATH folder with a recording gprofiler and stubs of cloud tools."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix=f"gp-{name}-", dir=wd.path)
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.bin)
        self.log = os.path.join(self.dir, "gprofiler.log")
        self.stub("gprofiler", RECORDER.replace("__LOG__", shlex.quote(self.log))
                  .replace("__BIN__", shlex.quote(gptest.BIN)))

    def stub(self, name, text):
        path = os.path.join(self.bin, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)

    def env(self, extra=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("GPROFILER_")}
        e["PATH"] = self.bin + ":" + e.get("PATH", "/usr/bin:/bin")
        e.update(extra or {})
        return e

    def runs(self):
        """[(argv, token, rc)] for each gprofiler start, once they finished."""
        gptest.wait_for(lambda: os.path.exists(self.log) and
                        open(self.log).read().count("RC=") >= open(self.log).read().count("ARGV"),
                        timeout=20)
        out, cur = [], None
        for line in open(self.log).read().splitlines():
            if line.startswith("ARGV"):
                cur = [line.split("\t")[1:], None, None]
            elif line.startswith("TOKEN="):
                cur[1] = line[len("TOKEN="):]
            elif line.startswith("RC="):
                cur[2] = int(line[3:])
                out.append(tuple(cur))
        return out

    def check_one_run(self, where):
        runs = self.runs()
        assert len(runs) == 1, (where, runs)
        argv, token, rc = runs[0]
        assert token == TOKEN, f"{where}: GPROFILER_TOKEN in gprofiler's environment is {token!r}"
        assert_no_token_in_argv(argv, where)
        assert rc == 0, f"{where}: gprofiler --dry-run {argv} failed: " + \
            open(self.log + ".out").read()
        return argv


def test_ansible_playbook():
    pb = os.path.join(DEPLOY, "ansible", "gprofiler_playbook.yml")
    if not shutil.which("ansible-playbook"):
        raise AssertionError("ansible-playbook is missing (scripts/install-deps --test)")
    p = subprocess.run(["ansible-playbook", "--syntax-check", "-i", "localhost,", pb],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert p.returncode == 0, p.stdout
    # run it here (no package: the gprofiler "already installed" is the recorder)
    sb = Sandbox("ansible")
    # already root: no sudo for `become` (a fresh machine may not have it)
    extra = json.dumps({"gprofiler_token": TOKEN, "gprofiler_service": SERVICE,
                        "gprofiler_args": "--profiling-frequency 19 --perf-mode fp",
                        "ansible_become": False})
    p = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", pb, "-e", extra],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=sb.env({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOME": sb.dir,
                                   "ANSIBLE_LOCAL_TEMP": os.path.join(sb.dir, "tmp")}),
                       timeout=300)
    argv = sb.check_one_run("ansible")
    assert argv == ["-cu", f"--service-name={SERVICE}", "--profiling-frequency", "19",
                    "--perf-mode", "fp"], argv
    assert p.returncode == 0, p.stdout
    assert TOKEN not in p.stdout, "the token is in ansible's output"


def test_dataproc_initialization_action():
    sb = Sandbox("dataproc")
    meta = {"gprofiler-token": TOKEN, "gprofiler-service": SERVICE,
            "gprofiler-package": "gs://bucket/gprofiler_0.1.0_amd64.deb",
            "gprofiler-args": "--profiling-frequency 19"}
    metadir = os.path.join(sb.dir, "metadata")
    os.makedirs(metadir)
    for k, v in meta.items():
        with open(os.path.join(metadir, k), "w") as f:
            f.write(v)
    calls = os.path.join(sb.dir, "calls")
    # curl: the metadata server (404 -> exit 22 for unset attributes)
    sb.stub("curl", f"""#!/bin/bash
url="${{*: -1}}"
case "$url" in
  http://metadata.google.internal/computeMetadata/v1/instance/attributes/*)
    f={shlex.quote(metadir)}/"${{url##*/}}"; [ -f "$f" ] || exit 22; cat "$f" ;;
  *) echo "curl $*" >>{shlex.quote(calls)}; exit 1 ;;
esac
""")
    sb.stub("gsutil", f"""#!/bin/bash
echo "gsutil $*" >>{shlex.quote(calls)}
echo fake-deb >"${{*: -1}}"
""")
    sb.stub("apt-get", f"""#!/bin/bash
echo "apt-get $*" >>{shlex.quote(calls)}
""")
    script = os.path.join(DEPLOY, "dataproc", "gprofiler_initialization_action.sh")
    p = subprocess.run(["bash", script], env=sb.env(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    assert p.returncode == 0, p.stdout
    argv = sb.check_one_run("dataproc")
    assert argv == ["-cu", f"--service-name={SERVICE}", "--profiling-frequency", "19"], argv
    log = open(calls).read()
    assert "gsutil -q cp gs://bucket/gprofiler_0.1.0_amd64.deb" in log, log
    assert re.search(r"apt-get install -y -qq /\S+/gprofiler_0\.1\.0_amd64\.deb", log), log
    # without the service name it stops before installing anything
    os.unlink(os.path.join(metadir, "gprofiler-service"))
    p = subprocess.run(["bash", script], env=sb.env(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    assert p.returncode == 1 and "gprofiler-service" in p.stdout, p.stdout


def test_emr_bootstrap_action():
    sb = Sandbox("emr")
    script = os.path.join(DEPLOY, "emr", "gprofiler_action.sh")
    p = subprocess.run(["bash", script, f"--token={TOKEN}", f"--service-name={SERVICE}",
                        "--profiling-frequency=19"], env=sb.env(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    assert p.returncode == 0, p.stdout
    argv = sb.check_one_run("emr")
    assert argv == ["-cu", f"--service-name={SERVICE}", "--profiling-frequency=19"], argv
    # a bad argument makes the bootstrap action fail, not a silent daemon
    sb2 = Sandbox("emr-bad")
    p = subprocess.run(["bash", script, "--token", TOKEN, f"--service-name={SERVICE}",
                        "--no-such-flag"], env=sb2.env(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    assert p.returncode == 1 and "exited with status 2" in p.stdout, p.stdout


# ---- container files outside Kubernetes ----

def interpolate_compose(value, env):
    return re.sub(r"\$\{(\w+)(?:[:?-][^}]*)?\}", lambda m: env[m.group(1)], value)


def test_docker_compose():
    with open(os.path.join(DEPLOY, "docker-compose", "docker-compose.yml")) as f:
        doc = yaml.safe_load(f)
    svc = doc["services"]["gprofiler"]
    assert svc["pid"] == "host" and svc["userns_mode"] == "host" and svc["user"] == "0:0"
    assert not svc.get("privileged"), "compose should use capabilities, not privileged"
    assert svc["cap_drop"] == ["ALL"] and sorted(svc["cap_add"]) == sorted(capabilities())
    assert "apparmor:unconfined" in svc["security_opt"]
    assert svc["restart"] == "always"
    assert svc["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert os.path.exists(os.path.join(DEPLOY, "docker-compose", svc["build"]["context"],
                                       svc["build"]["dockerfile"]))
    env = {k: interpolate_compose(str(v), {"GPROFILER_TOKEN": TOKEN})
           for k, v in svc["environment"].items()}
    assert env == {"GPROFILER_TOKEN": TOKEN}, env
    assert isinstance(svc["command"], list)
    assert_no_token_in_argv(svc["command"], "docker-compose")
    dry_run(svc["command"], env)


def test_ecs_task_definition():
    with open(os.path.join(DEPLOY, "ecs", "gprofiler_task_definition.json")) as f:
        td = json.load(f)
    assert td["requiresCompatibilities"] == ["EC2"] and td["pidMode"] == "host"
    assert "ipcMode" not in td, "host IPC is not needed"
    (c,) = td["containerDefinitions"]
    # ECS cannot drop AppArmor confinement without agent configuration:
    # privileged (see deploy/capabilities.md)
    assert c["privileged"] is True and c["user"] == "0:0" and c["essential"] is True
    assert c["memoryReservation"] == 256 and c["memory"] == 1024
    env = {s["name"]: TOKEN for s in c.get("secrets", [])}
    env.update({e["name"]: e["value"] for e in c.get("environment", [])})
    assert env.get("GPROFILER_TOKEN") == TOKEN, "token should come from secrets"
    assert td.get("executionRoleArn"), "secrets need an execution role"
    assert_no_token_in_argv(c["command"], "ecs")
    dry_run(c["command"], env)


def dockerfile_stages(path):
    """[(from-line words, [instructions])] with continuation lines joined."""
    text = open(path).read()
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        word, _, rest = s.partition(" ")
        if word.upper() == "FROM":
            stages.append((rest.split(), []))
        else:
            assert stages, f"{path}: {s} before FROM"
            stages[-1][1].append((word.upper(), rest.strip()))
    return stages


def apt_packages(instructions):
    pkgs = []
    for word, rest in instructions:
        if word != "RUN":
            continue
        for part in re.split(r"&&|;", rest):
            w = shlex.split(part)
            if len(w) > 2 and w[0] == "apt-get" and "install" in w:
                pkgs += [x for x in w[w.index("install") + 1:] if not x.startswith("-")]
    return pkgs


def elf_files(root):
    for dirpath, _, files in os.walk(root):
        for n in files:
            p = os.path.join(dirpath, n)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    yield p


def needed(path):
    out = subprocess.run(["readelf", "-d", path], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)


def owning_package(path, lib):
    """The Debian package owning the library `lib` as `path` loads it."""
    ldd = subprocess.run(["ldd", path], stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"^\s*" + re.escape(lib) + r" => (\S+)", ldd, re.M)
    assert m, f"ldd {path} does not resolve {lib}:\n{ldd}"
    cands = []
    for p in (m.group(1), os.path.realpath(m.group(1))):
        cands += [p, p[4:] if p.startswith("/usr/") else "/usr" + p]   # merged /usr
    for c in cands:
        q = subprocess.run(["dpkg", "-S", c], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        if q.returncode == 0:
            return q.stdout.split(":")[0].strip()
    raise AssertionError(f"no package owns {lib} ({cands})")


def linked_packages(root):
    pkgs = {}
    for f in elf_files(root):
        for lib in needed(f):
            pkgs.setdefault(owning_package(f, lib), set()).add(lib)
    return pkgs


def test_dockerfile_runtime_packages_match_the_binary():
    path = os.path.join(DEPLOY, "docker", "Dockerfile")
    stages = dockerfile_stages(path)
    assert len(stages) >= 2, "not a multi-stage build"
    build, runtime = stages[0], stages[-1]
    assert build[0][0] == "debian:12" and build[0][-1] == "build", build[0]
    assert runtime[0][0].startswith("debian:12"), runtime[0]
    rt = dict((w, r) for w, r in runtime[1] if w in ("ENTRYPOINT", "ENV"))
    assert json.loads(rt["ENTRYPOINT"]) == ["/usr/bin/gprofiler"], rt
    assert "GPROFILER_IN_CONTAINER=1" in [r for w, r in runtime[1] if w == "ENV"]
    copies = [r for w, r in runtime[1] if w == "COPY"]
    assert copies == ["--from=build /out/ /"], copies
    build_run = " ".join(r for w, r in build[1] if w == "RUN")
    m = re.search(r"DESTDIR=/out cmake --install /build (.*)", build_run)
    assert m and "-DCMAKE_INSTALL_PREFIX=/usr" in build_run, build_run
    component = re.search(r"--component (\S+)", m.group(1)).group(1)

    # what the image's /out holds: the same install from our build tree
    root = stage_install(component)
    assert os.access(os.path.join(root, "usr/bin/gprofiler"), os.X_OK), "ENTRYPOINT not installed"
    assert not os.path.exists(os.path.join(root, "etc/gprofiler")), "service files in the image"
    linked = linked_packages(root)
    if os.environ.get("GPROFILER_SANITIZE") in ("1", "ON", "TRUE", "true"):
        linked = {p: v for p, v in linked.items() if not re.match(r"lib(a|ub)san", p)}
    linked.pop("libc6", None)       # the base image's own C library
    listed = set(apt_packages(runtime[1]))
    extra_ok = {"ca-certificates"}   # for HTTPS uploads; not a library
    missing = set(linked) - listed
    unused = listed - set(linked) - extra_ok
    assert not missing, f"runtime stage lacks {sorted(missing)} for {linked}"
    assert not unused, f"runtime stage installs {sorted(unused)}, which nothing links"
    assert listed & {"ca-certificates"}


# ---- every other argument list ----

def readme_docker_runs():
    text = open(os.path.join(SRC, "README.md")).read()
    text = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in text.splitlines() if line.strip().startswith("docker run ")]


def test_readme_docker_run_commands():
    runs = readme_docker_runs()
    assert len(runs) >= 2, "README shows no docker run command"
    for line in runs:
        words = shlex.split(line)
        img = next(i for i, w in enumerate(words) if re.match(r"(\S+/)?gprofiler-c(:\S+)?$", w))
        opts, argv = words[:img], words[img + 1:]
        assert "--pid=host" in opts, line
        caps = [w.split("=", 1)[1] for w in opts if w.startswith("--cap-add=")]
        if "--privileged" not in opts:
            assert sorted(caps) == sorted(capabilities()), line
            assert "--cap-drop=ALL" in opts and "--security-opt=apparmor=unconfined" in opts, line
        env = {}
        for i, w in enumerate(opts):
            if w in ("-e", "--env"):
                k, _, v = opts[i + 1].partition("=")
                env[k] = v or TOKEN      # -e NAME: taken from the caller's environment
        if any(re.fullmatch(r"-[a-z]*u[a-z]*|--upload-results", a) for a in argv):
            assert env.get("GPROFILER_TOKEN") == TOKEN, f"README docker run: token not via -e: {line}"
        assert_no_token_in_argv(argv, "README")
        argv = [a.replace("<SERVICE NAME>", SERVICE) for a in argv if a != "[options]"]
        dry_run(argv, env)


def main():
    global wd
    gptest.require_root()
    for tool in ("shellcheck", "systemd-analyze", "readelf", "dpkg", "cmake"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: run scripts/install-deps --test")
    wd = gptest.Workdir("deploy")
    try:
        gptest.main([test_yaml_and_json_parse, test_shell_scripts_pass_shellcheck,
                     test_installed_unit_verifies, test_create_systemd_service_script,
                     test_ansible_playbook, test_dataproc_initialization_action,
                     test_emr_bootstrap_action, test_docker_compose, test_ecs_task_definition,
                     test_dockerfile_runtime_packages_match_the_binary,
                     test_readme_docker_run_commands])
    finally:
        wd.cleanup()


if __name__ == "__main__":
    main()
