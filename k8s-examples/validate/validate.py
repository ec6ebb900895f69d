#!/usr/bin/env python3
"""Offline validation of k8s-examples/: every manifest against the vendored
Kubernetes JSON Schemas (strict: unknown fields are errors), the Argo CD and
Helm hook annotations, the least-privilege RBAC, the pod hardening, the initkit
flags each example passes, and the compose stack (docker-compose config plus
the ordering rules of the one-shot services). Negative fixtures under
testdata/ must each be rejected with their expected message, which proves the
checks fail loudly. Needs only python3-yaml, python3-jsonschema and
docker-compose (Debian); no network.

Usage: validate.py [--bin-dir DIR]   (DIR holds built initkit-* binaries; their
--help is then the source of truth for flag names instead of the table below)
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:
    sys.exit("validate.py: %s: install the Debian packages python3-yaml and "
             "python3-jsonschema (scripts/deps.sh)" % e)

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.dirname(HERE)
SCHEMAS = os.path.join(HERE, "schemas", "k8s")
TESTDATA = os.path.join(HERE, "testdata")
sys.path.insert(0, HERE)
import helm_render  # noqa: E402  (next to this file)

# Flags of each tool per docs/CONTRACT (used when no built binaries are given).
COMMON_FLAGS = {"help", "version", "log-format", "log-level"}
CONTRACT_FLAGS = {
    "initkit-bootstrap": {"from", "to", "dir-mode", "file-mode", "keep-exec", "no-keep-exec",
                          "preserve-modes", "mkdir", "owner", "exclude", "delete", "marker",
                          "jobs", "dry-run"},
    "initkit-migrate": {"db-host", "db-port", "db-socket", "db-user", "db-password",
                        "db-password-file", "db-name", "db-tls-ca", "wait-timeout", "lock-name",
                        "lock-timeout", "migrate-cmd", "seed-cmd", "registry-table",
                        "registry-key-column", "registry-value-column", "registry-key",
                        "mark-seeded", "redis-url", "redis-flush-prefix", "status", "dry-run"},
    "initkit-cron-gate": {"url", "version-file", "expected-version", "version-key",
                          "json-pointer", "compare", "retries", "interval", "timeout",
                          "deadline", "header", "ca-file", "consecutive", "reuse-connection",
                          "rollout", "namespace", "kubeconfig"},
    "initkit-secrets": {"spec", "namespace", "secret", "kubeconfig", "target", "dry-run",
                        "keycloak-url", "keycloak-admin-realm", "keycloak-admin-client-id",
                        "keycloak-admin-client-secret", "keycloak-admin-client-secret-file",
                        "keycloak-realm", "keycloak-client-id", "keycloak-redirect-uri",
                        "keycloak-root-url", "keycloak-secret"},
    "initkit-preload": {"app-dir", "vendor-dir", "psr4-dir", "exclude", "output", "report",
                        "opcache-status", "memory-budget"},
}
SECRETS_COMMANDS = {"sync", "teardown", "plan"}
# Tools that may end with `-- CMD ARGS...`.
EXEC_TOOLS = {"initkit-bootstrap", "initkit-cron-gate"}

ARGO_HOOKS = {"PreSync", "Sync", "PostSync", "SyncFail", "PostDelete", "Skip"}
ARGO_DELETE = {"HookSucceeded", "HookFailed", "BeforeHookCreation"}
HELM_HOOKS = {"pre-install", "post-install", "pre-delete", "post-delete", "pre-upgrade",
              "post-upgrade", "pre-rollback", "post-rollback", "test", "test-success"}
HELM_DELETE = {"before-hook-creation", "hook-succeeded", "hook-failed"}
# Verbs whose request carries no object name at authorisation time.
UNNAMEABLE_VERBS = {"create", "list", "watch", "deletecollection"}
INITKIT_UID = 65532


class Doc:
    """One YAML document of one file."""

    def __init__(self, path, index, obj):
        self.path, self.index, self.obj = path, index, obj

    @property
    def where(self):
        meta = (self.obj.get("metadata") or {}) if isinstance(self.obj, dict) else {}
        return "%s[%d] %s/%s" % (os.path.relpath(self.path, EXAMPLES), self.index,
                                 self.obj.get("kind", "?") if isinstance(self.obj, dict) else "?",
                                 meta.get("name", "?"))

    @property
    def kind(self):
        return self.obj.get("kind")

    @property
    def name(self):
        return (self.obj.get("metadata") or {}).get("name")

    @property
    def annotations(self):
        return (self.obj.get("metadata") or {}).get("annotations") or {}


def load_docs(paths):
    docs, errors = [], []
    for p in paths:
        try:
            if helm_render.chart_dir_of(p):
                # A chart template: rendered with the chart's values first.
                text = helm_render.render_file(p, release="ezscale-website", namespace="ezscale")
            else:
                with open(p, encoding="utf-8") as f:
                    text = f.read()
            for i, obj in enumerate(yaml.safe_load_all(text)):
                if obj is not None:
                    docs.append(Doc(p, i, obj))
        except yaml.YAMLError as e:
            errors.append((p, "YAML: %s" % e))
        except helm_render.TemplateError as e:
            errors.append((p, "Helm template: %s" % e))
    return docs, errors


def parse_duration(text):
    """Seconds of a Go duration such as 300s, 10m, 1h30m; None if not one."""
    m = re.fullmatch(r"((?:\d+(?:h|m|s|ms))+)", str(text))
    if not m:
        return None
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|h|m|s)", text))


def check_helm_timeouts(docs):
    """A Helm hook Job must end before Helm stops waiting for it (issue 21):
    INITKIT_WAIT_TIMEOUT + INITKIT_LOCK_TIMEOUT < activeDeadlineSeconds <=
    the chart's documented timeouts.helmTimeout."""
    errors = []
    for d in docs:
        chart = helm_render.chart_dir_of(d.path)
        if d.kind != "Job" or "helm.sh/hook" not in d.annotations:
            continue
        deadline = (d.obj.get("spec") or {}).get("activeDeadlineSeconds")
        if deadline is None:
            errors.append((d.where, "a Helm hook Job needs activeDeadlineSeconds"))
            continue
        helm_timeout = None
        if chart:
            with open(os.path.join(chart, "values.yaml")) as f:
                helm_timeout = parse_duration(((yaml.safe_load(f) or {}).get("timeouts") or {}).get("helmTimeout", ""))
        if helm_timeout is None:
            errors.append((d.where, "the chart does not state the helm --timeout its hook needs "
                                    "(values.yaml timeouts.helmTimeout)"))
        elif deadline > helm_timeout:
            errors.append((d.where, "activeDeadlineSeconds %d outlasts helm --timeout %ds: Helm gives up "
                                    "while the hook still runs" % (deadline, helm_timeout)))
        for pod, _ in pod_specs(d):
            for c in pod.get("containers") or []:
                env = {e["name"]: e.get("value") for e in c.get("env") or []}
                argv = argv_of(c)
                wait = parse_duration(env.get("INITKIT_WAIT_TIMEOUT") or
                                      (flag_values(argv, "wait-timeout") or ["60s"])[-1]) or 0
                lock = parse_duration(env.get("INITKIT_LOCK_TIMEOUT") or
                                      (flag_values(argv, "lock-timeout") or ["10m"])[-1]) or 0
                if wait + lock >= deadline:
                    errors.append((d.where, "wait %ds + lock %ds leave no time to migrate before "
                                            "activeDeadlineSeconds %d" % (wait, lock, deadline)))
    return errors


def schema_validators():
    out = {}
    for f in glob.glob(os.path.join(SCHEMAS, "*.json")):
        with open(f) as fh:
            schema = json.load(fh)
        root = schema["definitions"][schema["$ref"].split("/")[-1]]
        api = root["properties"]["apiVersion"]["enum"][0]
        kind = root["properties"]["kind"]["enum"][0]
        out[(api, kind)] = jsonschema.Draft7Validator(schema)
    return out


def schema_leaves(e):
    """The real reasons behind an error: every optional field is anyOf(X, null),
    so follow the branch that got deepest into the document, all its errors."""
    if not e.context:
        return [e]
    branches = {}
    for c in e.context:
        branches.setdefault(c.relative_schema_path[0], []).append(c)
    best = max(branches.values(), key=lambda cs: max(len(c.absolute_path) for c in cs))
    return [leaf for c in best for leaf in schema_leaves(c)]


def check_schema(docs, validators):
    errors = []
    for d in docs:
        if not isinstance(d.obj, dict):
            errors.append((d.where, "not a mapping"))
            continue
        v = validators.get((d.obj.get("apiVersion"), d.kind))
        if v is None:
            errors.append((d.where, "no vendored schema for apiVersion %r kind %r (add it to "
                           "gen_k8s_schemas.py KINDS)" % (d.obj.get("apiVersion"), d.kind)))
            continue
        for e in v.iter_errors(d.obj):
            for leaf in schema_leaves(e):
                path = "/".join(str(p) for p in leaf.absolute_path)
                errors.append((d.where, "schema: /%s: %s" % (path, leaf.message)))
    return errors


# ---------------------------------------------------------------- pods ---

def pod_specs(d):
    """Yields (pod spec, pod labels) of a workload document."""
    path = {"Deployment": ["spec", "template"], "Job": ["spec", "template"],
            "CronJob": ["spec", "jobTemplate", "spec", "template"]}.get(d.kind)
    if path is None:
        return
    t = d.obj
    for key in path:
        t = (t or {}).get(key)
    if t and t.get("spec"):
        yield t["spec"], (t.get("metadata") or {}).get("labels") or {}


def argv_of(c):
    return [str(x) for x in (c.get("command") or []) + (c.get("args") or [])]


def initkit_tool(argv):
    if argv and os.path.basename(argv[0]).startswith("initkit-"):
        return os.path.basename(argv[0])
    return None


def flag_values(argv, name):
    """Values of --name in argv (both `--name v` and `--name=v`), up to `--`."""
    vals, i = [], 1
    while i < len(argv) and argv[i] != "--":
        a = argv[i]
        if a == "--" + name and i + 1 < len(argv):
            vals.append(argv[i + 1])
        elif a.startswith("--" + name + "="):
            vals.append(a.split("=", 1)[1])
        i += 1
    return vals


def check_initkit_argv(where, argv, env_names, flags):
    errors = []
    tool = initkit_tool(argv)
    if tool is None:
        return errors
    known = flags.get(tool)
    if known is None:
        return [(where, "unknown initkit tool %s" % tool)]
    args = argv[1:]
    if "--" in args:
        if tool not in EXEC_TOOLS:
            errors.append((where, "%s does not take '-- CMD'" % tool))
        elif args.index("--") == len(args) - 1:
            errors.append((where, "%s: '--' without a command" % tool))
        args = args[:args.index("--")]
    if tool == "initkit-secrets":
        positional = [a for a in args if not a.startswith("-")]
        if not positional or positional[0] not in SECRETS_COMMANDS:
            errors.append((where, "initkit-secrets needs one of %s as its command"
                           % "|".join(sorted(SECRETS_COMMANDS))))
    for a in args:
        if a.startswith("--"):
            name = a[2:].split("=", 1)[0]
            if name not in known:
                errors.append((where, "%s has no flag --%s" % (tool, name)))
    for e in env_names:
        if e.startswith("INITKIT_"):
            name = e[len("INITKIT_"):].lower().replace("_", "-")
            if name not in known:
                errors.append((where, "%s has no flag --%s for env %s" % (tool, name, e)))
    return errors


def effective_sc(pod, c):
    psc = pod.get("securityContext") or {}
    csc = c.get("securityContext") or {}
    eff = {}
    for k in ("runAsNonRoot", "runAsUser", "runAsGroup", "seccompProfile"):
        if csc.get(k) is not None:
            eff[k] = csc[k]
        elif psc.get(k) is not None:
            eff[k] = psc[k]
    for k in ("readOnlyRootFilesystem", "allowPrivilegeEscalation", "capabilities", "privileged"):
        eff[k] = csc.get(k)
    return eff


def check_pod(d, pod, labels, flags, by_kind):
    errors = []
    inits = pod.get("initContainers") or []
    mains = pod.get("containers") or []
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    needs_api = False
    seen_writers = set()  # volumes written by an init container that already ran
    automount = pod.get("automountServiceAccountToken")
    token_volumes = {n for n, v in volumes.items()
                     if any("serviceAccountToken" in src for src in (v.get("projected") or {}).get("sources") or [])}
    # Secret/ConfigMap files are root-owned: without fsGroup a non-root user
    # reads them only when the mode lets everyone read.
    psc = pod.get("securityContext") or {}
    if psc.get("fsGroup") is None and psc.get("runAsUser") not in (None, 0):
        for v in volumes.values():
            src = v.get("secret") or v.get("configMap")
            if src is None:
                continue
            modes = [src.get("defaultMode", 0o644)] + [i["mode"] for i in src.get("items") or [] if "mode" in i]
            if any(not (int(m) & 0o004) for m in modes):
                errors.append((d.where, "volume %s: files are root-owned with mode %s: set fsGroup so uid "
                                        "%s can read them" % (v["name"], oct(min(modes)), psc["runAsUser"])))
    for v in volumes.values():
        if "emptyDir" in v and (v["emptyDir"] or {}).get("medium") != "Memory" \
                and not (v["emptyDir"] or {}).get("sizeLimit"):
            errors.append((d.where, "disk-backed emptyDir %s has no sizeLimit" % v["name"]))
    for c in inits + mains:
        w = "%s container %s" % (d.where, c["name"])
        argv = argv_of(c)
        env_names = [e["name"] for e in c.get("env") or []]
        errors += check_initkit_argv(w, argv, env_names, flags)
        tool = initkit_tool(argv)
        uses_api = tool == "initkit-secrets" or (tool == "initkit-cron-gate" and flag_values(argv, "rollout"))
        needs_api = needs_api or uses_api
        # Least privilege (issue 21): a token only where initkit talks to the
        # API, never in a container that runs app code (after an exec too).
        has_token = automount is not False or any(m["name"] in token_volumes
                                                  for m in c.get("volumeMounts") or [])
        runs_app = tool is None or ("--" in argv and argv.index("--") < len(argv) - 1)
        if uses_api and not has_token:
            errors.append((w, "needs the Kubernetes API but gets no service-account token"))
        if has_token and runs_app and (needs_api or uses_api or any(
                initkit_tool(argv_of(o)) == "initkit-secrets" or flag_values(argv_of(o), "rollout")
                for o in inits + mains)):
            errors.append((w, "gets a service-account token but runs app code (%s): mount a projected "
                              "token into the initkit container only" % " ".join(argv[:3] or [c.get("image", "")])))
        # Disk-backed emptyDirs count against the node's disk: the scheduler
        # must reserve what a container writes into them.
        for m in c.get("volumeMounts") or []:
            v = volumes.get(m["name"]) or {}
            if "emptyDir" in v and (v["emptyDir"] or {}).get("medium") != "Memory" and not m.get("readOnly") \
                    and "ephemeral-storage" not in ((c.get("resources") or {}).get("requests") or {}):
                errors.append((w, "writes disk-backed emptyDir %s but has no "
                                  "resources.requests.ephemeral-storage" % m["name"]))
        # Long-running containers of a Deployment need both probes.
        if d.kind == "Deployment" and c in mains:
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in c:
                    errors.append((w, "long-running container has no %s" % probe))

        sc = effective_sc(pod, c)
        if sc.get("runAsNonRoot") is not True:
            errors.append((w, "runAsNonRoot is not true"))
        if sc.get("runAsUser") == 0:
            errors.append((w, "runs as uid 0"))
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append((w, "allowPrivilegeEscalation is not false"))
        if sc.get("readOnlyRootFilesystem") is not True:
            errors.append((w, "readOnlyRootFilesystem is not true"))
        if sc.get("privileged"):
            errors.append((w, "privileged"))
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            errors.append((w, "capabilities do not drop ALL"))
        if (sc.get("capabilities") or {}).get("add"):
            errors.append((w, "adds capabilities"))
        if (sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            errors.append((w, "seccompProfile is not RuntimeDefault"))
        if tool and c.get("terminationMessagePolicy") != "FallbackToLogsOnError":
            errors.append((w, "initkit container without terminationMessagePolicy: FallbackToLogsOnError "
                              "(kubectl describe would show no reason)"))
        if tool and sc.get("runAsUser") != INITKIT_UID:
            errors.append((w, "initkit container does not run as uid %d" % INITKIT_UID))
        res = c.get("resources") or {}
        for k in ("cpu", "memory"):
            if k not in (res.get("requests") or {}):
                errors.append((w, "no resources.requests.%s" % k))
        if "memory" not in (res.get("limits") or {}):
            errors.append((w, "no resources.limits.memory"))

        mounts = c.get("volumeMounts") or []
        for m in mounts:
            if m["name"] not in volumes:
                errors.append((w, "mounts undeclared volume %s" % m["name"]))
        # nginx serves the shared app tree; it must never be able to change it.
        if c["name"] == "nginx":
            for m in mounts:
                v = volumes.get(m["name"]) or {}
                if m["mountPath"].startswith("/var/www") and not m.get("readOnly") and "image" not in v:
                    errors.append((w, "nginx mounts %s writable (must be readOnly)" % m["name"]))
        # A binary run from an emptyDir must have been put there by an earlier init container.
        if argv and argv[0].startswith("/"):
            best = None
            for m in mounts:
                mp = m["mountPath"].rstrip("/") + "/"
                if argv[0].startswith(mp) and (best is None or len(mp) > len(best[0])):
                    best = (mp, m)
            if best:
                v = volumes.get(best[1]["name"]) or {}
                if "emptyDir" in v and best[1]["name"] not in seen_writers:
                    errors.append((w, "runs %s from emptyDir %s that no earlier init container "
                                   "fills" % (argv[0], best[1]["name"])))
        if c in inits:
            for m in mounts:
                if not m.get("readOnly"):
                    seen_writers.add(m["name"])

        # ConfigMaps are part of the examples; Secrets come from initkit-secrets or outside.
    for v in volumes.values():
        cm = (v.get("configMap") or {}).get("name")
        if cm and cm not in by_kind.get("ConfigMap", {}):
            errors.append((d.where, "volume %s: ConfigMap %s is not defined" % (v["name"], cm)))

    # The preload list only helps when php-fpm loads it (issue 21): a php.ini
    # from a ConfigMap in php-fpm must set opcache.preload to its --output.
    for c in inits:
        argv = argv_of(c)
        if initkit_tool(argv) != "initkit-preload":
            continue
        out = (flag_values(argv, "output") or [None])[-1]
        if not flag_values(argv, "php-classes"):
            errors.append((d.where, "initkit-preload judges with its built-in PHP 8.2 table: pass "
                                    "--php-classes with the target image's class list"))
        ok = False
        for m in [m for f in mains if f["name"] == "php-fpm" for m in f.get("volumeMounts") or []]:
            cm = (volumes.get(m["name"]) or {}).get("configMap") or {}
            for obj in by_kind.get("ConfigMap*", {}).get(cm.get("name"), []):
                if obj.path == d.path and any("opcache.preload=%s" % out in str(v)
                                              for v in (obj.obj.get("data") or {}).values()):
                    ok = True
        if not ok:
            errors.append((d.where, "initkit-preload writes %s but no php.ini from a ConfigMap in php-fpm "
                                    "sets opcache.preload to it" % out))

    names = [c["name"] for c in inits]
    order = [n for n in ("initkit-tools", "initkit-bootstrap", "initkit-migrate", "initkit-preload") if n in names]
    if [n for n in names if n in order] != order:
        errors.append((d.where, "init containers out of order: %s (want %s)" % (names, order)))

    if not needs_api and automount is not False:
        errors.append((d.where, "does not use the Kubernetes API: set automountServiceAccountToken: false"))
    sa = pod.get("serviceAccountName")
    if needs_api and not sa:
        errors.append((d.where, "needs the Kubernetes API but uses the default ServiceAccount"))
    if sa and sa not in by_kind.get("ServiceAccount", {}):
        errors.append((d.where, "ServiceAccount %s is not defined" % sa))

    if d.kind in ("Job", "CronJob"):
        job = d.obj["spec"] if d.kind == "Job" else d.obj["spec"]["jobTemplate"]["spec"]
        rp = pod.get("restartPolicy")
        if rp not in ("Never", "OnFailure"):
            errors.append((d.where, "Job pods need restartPolicy Never or OnFailure, not %r" % rp))
        if job.get("podFailurePolicy") and rp != "Never":
            errors.append((d.where, "podFailurePolicy needs restartPolicy Never"))
        if job.get("backoffLimit") is None:
            errors.append((d.where, "no backoffLimit (the default 6 retries a failing step 6 times)"))
    return errors, needs_api


# ---------------------------------------------------------------- RBAC ---

def role_rules_for(sa, by_kind):
    """The rules granted to ServiceAccount sa via RoleBindings of the set."""
    rules = []
    for rb in by_kind.get("RoleBinding", {}).values():
        if any(s.get("kind") == "ServiceAccount" and s.get("name") == sa
               for s in rb.obj.get("subjects") or []):
            role = by_kind.get("Role", {}).get(rb.obj["roleRef"]["name"])
            if role:
                rules += [(role, r) for r in role.obj.get("rules") or []]
    return rules


def allows(rules, group, resource, verb, name=None):
    for _, r in rules:
        if group in r.get("apiGroups", []) and resource in r.get("resources", []) \
                and verb in r.get("verbs", []):
            rn = r.get("resourceNames")
            if not rn or name is None or name in rn:
                return True
    return False


def check_rbac(by_kind):
    errors = []
    for role in by_kind.get("Role", {}).values():
        for r in role.obj.get("rules") or []:
            for field in ("verbs", "resources", "apiGroups"):
                if "*" in (r.get(field) or []) and field != "apiGroups":
                    errors.append((role.where, "wildcard in %s" % field))
            if r.get("resourceNames"):
                bad = UNNAMEABLE_VERBS & set(r.get("verbs") or [])
                if bad:
                    errors.append((role.where, "%s cannot be limited by resourceNames: put it in a "
                                   "rule of its own" % ",".join(sorted(bad))))
            if "secrets" in (r.get("resources") or []) and \
                    {"list", "watch"} & set(r.get("verbs") or []):
                errors.append((role.where, "list/watch on secrets reads every Secret of the namespace"))
    for rb in by_kind.get("RoleBinding", {}).values():
        ref = rb.obj.get("roleRef") or {}
        if ref.get("kind") != "Role" or ref.get("name") not in by_kind.get("Role", {}):
            errors.append((rb.where, "roleRef %s/%s is not a Role of the examples"
                           % (ref.get("kind"), ref.get("name"))))
        for s in rb.obj.get("subjects") or []:
            if s.get("kind") == "ServiceAccount" and s.get("name") not in by_kind.get("ServiceAccount", {}):
                errors.append((rb.where, "subject ServiceAccount %s is not defined" % s.get("name")))
    return errors


def check_pod_rbac(d, pod, by_kind):
    errors = []
    sa = pod.get("serviceAccountName")
    rules = role_rules_for(sa, by_kind) if sa else []
    for c in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        argv = argv_of(c)
        tool = initkit_tool(argv)
        w = "%s container %s" % (d.where, c["name"])
        if tool == "initkit-cron-gate":
            for ro in flag_values(argv, "rollout"):
                kind, _, name = ro.partition("/")
                if kind != "deployment" or not name:
                    errors.append((w, "--rollout must be deployment/NAME, not %r" % ro))
                    continue
                if not allows(rules, "apps", "deployments", "get", name):
                    errors.append((w, "ServiceAccount %s may not get deployment %s" % (sa, name)))
                for role, r in rules:
                    if r.get("resourceNames") != [name] or set(r.get("verbs") or []) != {"get"}:
                        errors.append((role.where, "the gate's Role must allow only get on "
                                       "deployment %s" % name))
        if tool == "initkit-secrets":
            cmd = [a for a in argv[1:] if not a.startswith("-")][:1]
            secret = (flag_values(argv, "secret") or [None])[-1]
            target = (flag_values(argv, "target") or ["k8s"])[-1]
            if target != "k8s" or not secret:
                continue
            kc = (flag_values(argv, "keycloak-secret") or [secret + "-keycloak"])[-1]
            if cmd == ["sync"]:
                for verb in ("get", "update"):
                    for name in (secret, kc):
                        if not allows(rules, "", "secrets", verb, name):
                            errors.append((w, "ServiceAccount %s may not %s secret %s" % (sa, verb, name)))
                if not allows(rules, "", "secrets", "create"):
                    errors.append((w, "ServiceAccount %s may not create secrets" % sa))
            if cmd == ["teardown"]:
                for verb in ("get", "delete"):
                    if not allows(rules, "", "secrets", verb, kc):
                        errors.append((w, "ServiceAccount %s may not %s secret %s" % (sa, verb, kc)))
            # What the tool does: GET, PUT (with resourceVersion), POST; teardown GET, DELETE.
            used = {"sync": {"get", "update", "create"}, "teardown": {"get", "delete"}}.get(
                (cmd or [""])[0], {"get"})
            # --restart deployment/NAME: reads the rollout, patches the template.
            for ro in flag_values(argv, "restart") if cmd == ["sync"] else []:
                name = ro.partition("/")[2]
                for verb in ("get", "patch"):
                    if not allows(rules, "apps", "deployments", verb, name):
                        errors.append((w, "ServiceAccount %s may not %s deployment %s (--restart)"
                                       % (sa, verb, name)))
            for role, r in rules:
                extra = set(r.get("resourceNames") or []) - {secret, kc}
                if extra and "secrets" in (r.get("resources") or []):
                    errors.append((w, "Role grants secrets it does not use: %s" % sorted(extra)))
                if "secrets" in (r.get("resources") or []):
                    more = set(r.get("verbs") or []) - used
                    if more:
                        errors.append((role.where, "grants %s on secrets, which %s %s never uses"
                                       % (",".join(sorted(more)), tool, cmd[0] if cmd else "")))
    return errors


# ---------------------------------------------------------- hooks ---

def int_string(v):
    return isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v) is not None


def check_hooks(docs, by_kind):
    errors = []
    for d in docs:
        a = d.annotations
        argo = a.get("argocd.argoproj.io/hook")
        if argo is not None:
            phases = [p.strip() for p in str(argo).split(",")]
            for p in phases:
                if p not in ARGO_HOOKS:
                    errors.append((d.where, "unknown Argo CD hook %r (one of %s)" % (p, sorted(ARGO_HOOKS))))
        pol = a.get("argocd.argoproj.io/hook-delete-policy")
        if pol is not None:
            for p in str(pol).split(","):
                if p.strip() not in ARGO_DELETE:
                    errors.append((d.where, "unknown Argo CD hook-delete-policy %r" % p.strip()))
            if argo is None:
                errors.append((d.where, "hook-delete-policy without argocd.argoproj.io/hook"))
        wave = a.get("argocd.argoproj.io/sync-wave")
        if wave is not None and not int_string(wave):
            errors.append((d.where, "argocd.argoproj.io/sync-wave must be an integer in a string, not %r" % (wave,)))
        helm = a.get("helm.sh/hook")
        if helm is not None:
            for p in str(helm).split(","):
                if p.strip() not in HELM_HOOKS:
                    errors.append((d.where, "unknown Helm hook %r" % p.strip()))
        hw = a.get("helm.sh/hook-weight")
        if hw is not None and not int_string(hw):
            errors.append((d.where, "helm.sh/hook-weight must be an integer in a string, not %r" % (hw,)))
        hp = a.get("helm.sh/hook-delete-policy")
        if hp is not None:
            for p in str(hp).split(","):
                if p.strip() not in HELM_DELETE:
                    errors.append((d.where, "unknown Helm hook-delete-policy %r" % p.strip()))

        # A hook's RBAC must not outlive the hook (issue 21).
        if d.kind in ("ServiceAccount", "Role", "RoleBinding"):
            if argo is not None and "HookSucceeded" not in str(pol or "BeforeHookCreation"):
                errors.append((d.where, "hook RBAC stays after the sync: add HookSucceeded to its "
                                        "hook-delete-policy"))
            if helm is not None and "hook-succeeded" not in str(hp or "before-hook-creation"):
                errors.append((d.where, "hook RBAC stays after the release: add hook-succeeded to its "
                                        "helm.sh/hook-delete-policy"))
        if d.kind != "Job":
            continue
        tools = {initkit_tool(argv_of(c)) for pod, _ in pod_specs(d)
                 for c in (pod.get("initContainers") or []) + (pod.get("containers") or [])}
        if "initkit-migrate" in tools and helm is not None:
            got = {p.strip() for p in str(helm).split(",")}
            if not {"pre-install", "pre-upgrade"} <= got:
                errors.append((d.where, "the migrate hook must run pre-install and pre-upgrade"))
        if argo is None:
            continue
        # A hook Job runs before (PreSync) or after (PostDelete) the app's own
        # resources exist: what it runs as must be a hook of the same phase in
        # an earlier wave.
        jwave = int(wave) if int_string(wave) else 0
        for pod, _ in pod_specs(d):
            sa = pod.get("serviceAccountName")
            if not sa:
                continue
            deps = [by_kind.get("ServiceAccount", {}).get(sa)]
            for rb in by_kind.get("RoleBinding", {}).values():
                if any(s.get("name") == sa for s in rb.obj.get("subjects") or []):
                    deps += [rb, by_kind.get("Role", {}).get(rb.obj["roleRef"]["name"])]
            for dep in deps:
                if dep is None:
                    continue
                da = dep.annotations
                if da.get("argocd.argoproj.io/hook") != argo:
                    errors.append((d.where, "%s %s is not a %s hook, so it is not created before "
                                   "this Job" % (dep.kind, dep.name, argo)))
                elif int_string(da.get("argocd.argoproj.io/sync-wave", "0")) and \
                        int(da.get("argocd.argoproj.io/sync-wave", "0")) >= jwave:
                    errors.append((d.where, "%s %s must be in an earlier sync-wave than the Job"
                                   % (dep.kind, dep.name)))
    return errors


def check_selectors(by_kind):
    errors = []
    templates = []
    for d in by_kind.get("Deployment", {}).values():
        spec = d.obj.get("spec") or {}
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            errors.append((d.where, "selector does not match the pod template's labels"))
        templates.append(labels)
    for s in by_kind.get("Service", {}).values():
        sel = (s.obj.get("spec") or {}).get("selector") or {}
        if not any(all(t.get(k) == v for k, v in sel.items()) for t in templates):
            errors.append((s.where, "selector matches no pod template of the examples"))
    return errors


def index_by_kind(docs):
    by_kind = {}
    for d in docs:
        if isinstance(d.obj, dict) and d.name:
            # Two examples may define the same object (variants); the first wins.
            by_kind.setdefault(d.kind, {}).setdefault(d.name, d)
            by_kind.setdefault(d.kind + "*", {}).setdefault(d.name, []).append(d)  # every variant
    return by_kind


def check_k8s(docs, validators, flags):
    errors = check_schema(docs, validators)
    # The semantic checks assume schema-valid objects: leave out the others.
    bad = {e[0] for e in errors}
    docs = [d for d in docs if d.where not in bad]
    by_kind = index_by_kind(docs)
    for d in docs:
        for pod, labels in pod_specs(d):
            e, _ = check_pod(d, pod, labels, flags, by_kind)
            errors += e + check_pod_rbac(d, pod, by_kind)
            # Each file applies alone (issue 21): what a workload needs that
            # the examples define must be in its own file.
            if d.kind == "Deployment":
                same = {(o.kind, o.name) for o in docs if o.path == d.path}
                sa = pod.get("serviceAccountName")
                if sa and ("ServiceAccount", sa) not in same:
                    errors.append((d.where, "ServiceAccount %s is not defined in this file: it does "
                                            "not apply alone" % sa))
                for v in pod.get("volumes") or []:
                    cm = (v.get("configMap") or {}).get("name")
                    if cm and ("ConfigMap", cm) not in same:
                        errors.append((d.where, "ConfigMap %s is not defined in this file: it does "
                                                "not apply alone" % cm))
    errors += check_rbac(by_kind) + check_hooks(docs, by_kind) + check_selectors(by_kind)
    errors += check_helm_timeouts(docs)
    return errors


# ---------------------------------------------------------- compose ---

_COMPOSE_CACHE = {}


def prefetch_compose(paths):
    """Runs docker-compose config on all paths at once (it takes ~2 s to start)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for p, r in zip(paths, pool.map(_compose_config, paths)):
            _COMPOSE_CACHE[p] = r


def compose_config(path):
    if path not in _COMPOSE_CACHE:
        _COMPOSE_CACHE[path] = _compose_config(path)
    return _COMPOSE_CACHE[path]


def _compose_config(path):
    exe = shutil.which("docker-compose")
    if exe is None:
        return [(path, "docker-compose not found (Debian package docker-compose; scripts/deps.sh installs it)")]
    r = subprocess.run([exe, "-f", path, "config", "-q"], capture_output=True, text=True,
                       cwd=os.path.dirname(path), timeout=60)
    if r.returncode != 0:
        return [(path, "docker-compose config: " + (r.stderr.strip() or r.stdout.strip()))]
    return []


def check_compose(path, flags):
    errors = compose_config(path)
    if errors:
        return errors
    with open(path) as f:
        c = yaml.safe_load(f)
    services = c.get("services") or {}
    rel = os.path.relpath(path, EXAMPLES)

    def one_shot(s):
        return str(s.get("restart", "no")) == "no"

    def deps(name):
        dep = services[name].get("depends_on") or {}
        if isinstance(dep, list):
            return {d: "service_started" for d in dep}
        return {k: (v or {}).get("condition", "service_started") for k, v in dep.items()}

    def waits_for(name, target, seen=None):
        """True if name (transitively) waits for target to complete successfully."""
        seen = seen or set()
        for d, cond in deps(name).items():
            if d in seen:
                continue
            seen.add(d)
            if d == target and cond == "service_completed_successfully":
                return True
            if cond != "service_started" and waits_for(d, target, seen):
                return True
        return False

    by_tool = {}
    # Where initkit-secrets writes (volume names / bind sources): every key.
    generated_secret_sources = set()
    for s in services.values():
        c = s.get("command") or []
        if initkit_tool([str(x) for x in (c if isinstance(c, list) else c.split())]) == "initkit-secrets":
            generated_secret_sources |= {str(v).split(":")[0] for v in s.get("volumes") or []
                                         if ":" in str(v) and not str(v).endswith(":ro")}
    for name, s in services.items():
        w = "%s service %s" % (rel, name)
        cmd = s.get("command") or []
        argv = [str(x) for x in (cmd if isinstance(cmd, list) else cmd.split())]
        env = s.get("environment") or {}
        env = env if isinstance(env, dict) else dict(e.split("=", 1) for e in env)
        errors += check_initkit_argv(w, argv, list(env), flags)
        tool = initkit_tool(argv)
        if tool:
            by_tool.setdefault(tool, []).append(name)
            if not one_shot(s):
                errors.append((w, "a one-shot initkit step needs restart: \"no\""))
            if not s.get("read_only") or "ALL" not in (s.get("cap_drop") or []):
                errors.append((w, "needs read_only: true and cap_drop: [ALL]"))
            if str(s.get("user", "")).split(":")[0] != str(INITKIT_UID):
                errors.append((w, "initkit step does not run as user %d" % INITKIT_UID))
        for d, cond in deps(name).items():
            if d not in services:
                errors.append((w, "depends on unknown service %s" % d))
            elif cond == "service_completed_successfully" and not one_shot(services[d]):
                errors.append((w, "waits for %s to complete, but %s never exits" % (d, d)))
            elif cond == "service_healthy" and "healthcheck" not in services[d]:
                errors.append((w, "waits for %s to be healthy, but it has no healthcheck" % d))
            elif cond == "service_started" and not one_shot(services[d]):
                errors.append((w, "waits for long-running %s only to start: give it a healthcheck and "
                                  "wait for service_healthy" % d))
        mounts = [str(v).split(":")[1] for v in s.get("volumes") or [] if ":" in str(v)]
        secret_files = []
        for x in s.get("secrets") or []:
            target = x if isinstance(x, str) else x.get("target", x.get("source"))
            secret_files.append(target if target.startswith("/") else "/run/secrets/" + target)
        for k, v in env.items():
            if k.endswith("_FILE") and str(v) not in secret_files and \
                    not any(str(v).startswith(m.rstrip("/") + "/") for m in mounts):
                errors.append((w, "%s=%s is not on a mounted volume" % (k, v)))
        # Least privilege (issue 21): each service gets only the secrets it reads.
        used = {str(v) for k, v in env.items() if k.endswith("_FILE")}
        for f in secret_files:
            if f not in used:
                errors.append((w, "secret %s is mounted but no *_FILE variable reads it" % f))
        if tool != "initkit-secrets" and argv[:1] != ["chown"]:
            for v in s.get("volumes") or []:
                if str(v).split(":")[0] in generated_secret_sources:
                    errors.append((w, "mounts %s, where initkit-secrets writes every key: give the "
                                      "service per-service secrets instead" % str(v).split(":")[0]))
        if tool == "initkit-secrets":
            for t in flag_values(argv, "target"):
                if not t.startswith("dir:") or t[4:] not in mounts:
                    errors.append((w, "--target %s is not a dir: target on a mounted volume" % t))
    # The app services start only after the one-shot steps they need.
    for name, s in services.items():
        if one_shot(s) or name not in ("php-fpm", "nginx"):
            continue
        for tool in ("initkit-bootstrap",) + (("initkit-migrate",) if name == "php-fpm" else ()):
            for step in by_tool.get(tool, []):
                if not waits_for(name, step):
                    errors.append(("%s service %s" % (rel, name),
                                   "does not wait for %s (condition: service_completed_successfully)" % step))
    for tool in ("initkit-secrets", "initkit-bootstrap", "initkit-migrate"):
        if tool not in by_tool:
            errors.append((rel, "no one-shot service runs %s" % tool))
    return errors


# ------------------------------------------------------------ main ---

def help_flags(bin_dir):
    flags = {}
    for tool in CONTRACT_FLAGS:
        exe = os.path.join(bin_dir, tool)
        r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise SystemExit("%s --help failed (exit %d)" % (exe, r.returncode))
        names = set()
        for line in r.stdout.splitlines():
            m = re.match(r"\s+(?:-\w,)?((?:--[a-z0-9-]+(?:\{\w+\})?,?)+)", line)
            if m:
                names |= {f.split("{")[0] for f in re.findall(r"--([a-z0-9-]+(?:\{\w+\})?)", m.group(1))}
        flags[tool] = names
    return flags


def example_files():
    out = []
    for p in sorted(glob.glob(os.path.join(EXAMPLES, "**", "*.y*ml"), recursive=True)):
        r = os.path.relpath(p, EXAMPLES)
        if r.startswith(("compose" + os.sep, "validate" + os.sep)):
            continue
        if os.path.basename(p) in ("Chart.yaml", "values.yaml") and \
                os.path.exists(os.path.join(os.path.dirname(p), "Chart.yaml")):
            continue  # chart metadata, not Kubernetes objects
        out.append(p)
    return out


def expected(path):
    with open(path) as f:
        for line in f:
            m = re.match(r"#\s*expect:\s*(.+)", line)
            if m:
                return m.group(1).strip()
    raise SystemExit("%s: no '# expect: MESSAGE' line" % path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin-dir", help="directory with built initkit-* binaries")
    args = ap.parse_args()

    flags = {t: f | COMMON_FLAGS for t, f in CONTRACT_FLAGS.items()}
    source = "the contract table"
    contract_gaps = None
    if args.bin_dir and all(os.access(os.path.join(args.bin_dir, t), os.X_OK) for t in CONTRACT_FLAGS):
        flags = help_flags(args.bin_dir)
        source = "--help of " + args.bin_dir
        contract_gaps = [(t, "--help lacks contract flag --%s" % f) for t in sorted(CONTRACT_FLAGS)
                         for f in sorted(CONTRACT_FLAGS[t] - flags[t])]

    validators = schema_validators()
    passed, failed = 0, 0

    def report(name, errors):
        nonlocal passed, failed
        if errors:
            failed += 1
            print("FAIL %s" % name)
            for where, msg in errors:
                print("     %s: %s" % (where, msg))
        else:
            passed += 1
            print("ok   %s" % name)

    print("initkit flags from %s; %d vendored schemas" % (source, len(validators)))
    if contract_gaps is not None:
        report("built binaries accept every flag the contract names", contract_gaps)
    files = example_files()
    good, load_errors = load_docs(files)
    report("YAML parses (%d files, %d objects)" % (len(files), len(good)), load_errors)
    for p in files:
        docs = [d for d in good if d.path == p]
        report("schema %s" % os.path.relpath(p, EXAMPLES), check_schema(docs, validators))
    report("policy: hardening, initkit flags, RBAC, hooks, selectors", check_k8s(good, validators, flags))
    compose = os.path.join(EXAMPLES, "compose", "compose.yaml")
    prefetch_compose([compose] + sorted(glob.glob(os.path.join(TESTDATA, "compose-*.yaml"))))
    report("compose %s" % os.path.relpath(compose, EXAMPLES), check_compose(compose, flags))

    # Every broken fixture must be rejected, for the reason it states.
    for p in sorted(glob.glob(os.path.join(TESTDATA, "*.yaml"))):
        want = expected(p)
        if os.path.basename(p).startswith("compose-"):
            errs = check_compose(p, flags)
        else:
            bad, lerrs = load_docs([p])
            errs = lerrs + [e for e in check_k8s(good + bad, validators, flags)
                            if e[0].startswith(os.path.relpath(p, EXAMPLES))]
        hit = [e for e in errs if want in e[1]]
        name = "rejects %s (%s)" % (os.path.basename(p), want)
        if hit:
            report(name, [])
        else:
            report(name, [(os.path.relpath(p, EXAMPLES), "expected an error containing %r, got %s"
                           % (want, errs or "none"))])

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
