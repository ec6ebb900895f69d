#!/usr/bin/python3
"""Runs the examples in k8s-examples/ end to end on this machine and checks
their effects (tests/pods/README.md). One scenario per call:

  podrunner.py SCENARIO --bin-dir DIR --fake PATH [--examples DIR] [--work DIR]

SCENARIO is one of: argocd (secrets-sync -> migrate-presync -> deployment ->
cronjob -> teardown, Argo CD's order), image-volume, helm, compose.
Exit 0 when every check passed; 1 with the failing check on stderr; 77 when
this machine cannot run pods (not root, no mount or network namespaces).
Needs root: it runs in its own network namespace (loopback only) and gives
every container a private mount namespace.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as svc  # noqa: E402
import kubelet as kl  # noqa: E402
import compose as cmp  # noqa: E402

TOOLS = ["initkit-bootstrap", "initkit-migrate", "initkit-cron-gate", "initkit-secrets", "initkit-preload"]


from cluster import CheckFailed, check  # noqa: E402


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def annotations(obj):
    return (obj.get("metadata") or {}).get("annotations") or {}


def log_output(text):
    for line in text.splitlines()[-40:]:
        print("    | " + line[:300], flush=True)


class Env:
    """Everything a scenario needs: the fake cluster, MariaDB, Redis, Keycloak's
    TLS front and a kubelet."""

    def __init__(self, args, work):
        self.args, self.work = args, work
        self.examples = args.examples
        self.cluster = svc.FakeCluster(args.fake, work, "initkit-shop")
        self.stops = [self.cluster.stop]
        self.db = svc.MariaDB(work)
        self.stops.append(self.db.stop)
        self.redis = svc.Redis(work)
        self.stops.append(self.redis.stop)
        port = int(self.cluster.keycloak_url.rsplit(":", 1)[1].split("/")[0])
        self.sso = svc.TlsFront(work, "sso.example.com", port)
        bundle = os.path.join(work, "ca-bundle.crt")
        with open(bundle, "w") as out:
            with open("/etc/ssl/certs/ca-certificates.crt") as f:
                out.write(f.read())
            with open(self.sso.ca) as f:
                out.write(f.read())
        initkit_layer = os.path.join(work, "image-initkit")
        os.makedirs(os.path.join(initkit_layer, "bin"))
        for t in TOOLS:
            shutil.copy2(os.path.join(args.bin_dir, t), os.path.join(initkit_layer, "bin", t))
        hosts = "127.0.0.1 localhost " + " ".join(svc.HOST_NAMES) + "\n"
        self.images = kl.make_images(initkit_layer, kl.build_app_image(work))
        self.kubelet = kl.Kubelet(self.cluster, work, self.images, hosts, bundle, print)
        self.kubelet.log_output = log_output

    def stop(self):
        for s in reversed(self.stops):
            try:
                s()
            except Exception as e:  # keep stopping the rest
                print(f"stopping: {e}", file=sys.stderr)

    # ---- cluster state ---------------------------------------------------
    def namespace(self, ns):
        self.cluster.apply(ns, {"kind": "ServiceAccount", "metadata": {"name": "default"}})
        self.cluster.apply(ns, {"kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"},
                                "data": {"ca.crt": self.cluster.ca_pem}})

    def apply_all(self, ns, objs):
        for o in objs:
            if o["kind"] in ("Service", "CronJob", "Job", "Deployment"):
                continue  # the runner plays their controllers itself
            self.cluster.apply(ns, o)

    def secret(self, ns, name):
        return self.cluster.call("secret", ns=ns, name=name)

    def set_rollout(self, ns, deployment, complete):
        d = {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": deployment["metadata"]["name"], "generation": 2},
             "spec": deployment["spec"]}
        want = deployment["spec"].get("replicas", 1)
        done = want if complete else max(0, want // 2)
        d["status"] = {"observedGeneration": 2, "replicas": want, "updatedReplicas": done,
                       "readyReplicas": done, "availableReplicas": done,
                       "conditions": [{"type": "Progressing", "status": "True",
                                       "reason": "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated"}]}
        if not complete:
            d["status"]["unavailableReplicas"] = want - done
        self.cluster.apply(ns, d)

    def decisions(self, user=None):
        ds = self.cluster.call("decisions")["decisions"]
        return [d for d in ds if user is None or d["user"] == user]


# ---- Argo CD ---------------------------------------------------------------
KIND_ORDER = ["ServiceAccount", "Secret", "ConfigMap", "Role", "RoleBinding", "User", "Grant", "Service", "Deployment",
              "CronJob", "Job"]


def hook_phase(objs, phase):
    hooks = [o for o in objs if phase in annotations(o).get("argocd.argoproj.io/hook", "").split(",")]
    return sorted(hooks, key=lambda o: (int(annotations(o).get("argocd.argoproj.io/sync-wave", "0")),
                                        KIND_ORDER.index(o["kind"]) if o["kind"] in KIND_ORDER else 99))


class ArgoSync:
    """Argo CD's hook handling (gitops-engine sync_context.go): hooks of a
    phase by wave; BeforeHookCreation deletes the old one first; a Job hook
    must complete; HookSucceeded hooks are deleted when the operation has
    succeeded, HookFailed ones when it failed."""

    def __init__(self, env, ns):
        self.env, self.ns = env, ns
        self.created = []

    def run_phase(self, objs, phase, after_job=None):
        for o in hook_phase(objs, phase):
            name = o["metadata"]["name"]
            policy = annotations(o).get("argocd.argoproj.io/hook-delete-policy", "BeforeHookCreation")
            what = f"{phase} {o['kind']}/{name}"
            print(f"-- {what} (wave {annotations(o).get('argocd.argoproj.io/sync-wave', '0')})", flush=True)
            if o["kind"] == "Job":
                self.env.kubelet.run_pod(self.ns, o["spec"]["template"]["spec"], f"job/{name}")
                if after_job:
                    after_job(name)
            elif o.get("apiVersion", "").startswith("k8s.mariadb.com/"):
                mariadb_operator(self.env, self.ns, o)
            else:
                self.env.cluster.apply(self.ns, o)
            self.created.append((o["kind"], name, policy))

    def finish(self, succeeded=True):
        """Ends the operation; returns the (kind, name) of the hooks deleted."""
        deleted = []
        for kind, name, policy in self.created:
            if ("HookSucceeded" if succeeded else "HookFailed") in policy:
                if kind == "Job" or self.env.cluster.delete(self.ns, kind, name)["found"]:
                    deleted.append((kind, name))
        self.created = []
        return deleted


def mariadb_operator(env, ns, obj):
    """What mariadb-operator does for a User (CREATE/ALTER USER with the
    password from its passwordSecretKeyRef) or a Grant (GRANT)."""
    spec = obj["spec"]
    q = lambda v: str(v).replace("\\", "\\\\").replace("'", "\\'")
    if obj["kind"] == "User":
        ref = spec["passwordSecretKeyRef"]
        data = env.secret(ns, ref["name"])["data"]
        check(ref["key"] in data, f"User {obj['metadata']['name']}: Secret {ref['name']} has key {ref['key']}")
        name, host = spec.get("name", obj["metadata"]["name"]), spec.get("host", "%")
        env.db.sql(f"CREATE USER IF NOT EXISTS '{q(name)}'@'{q(host)}';"
                   f"ALTER USER '{q(name)}'@'{q(host)}' IDENTIFIED BY '{q(data[ref['key']])}';")
    elif obj["kind"] == "Grant":
        privs = ", ".join(spec["privileges"])
        env.db.sql(f"GRANT {privs} ON `{spec['database']}`.{spec.get('table', '*')} "
                   f"TO '{q(spec['username'])}'@'{q(spec.get('host', '%'))}'")
    else:
        raise CheckFailed(f"mariadb-operator kind {obj['kind']} is not modelled")


def shop_checks_after_secrets(env, ns):
    s = env.secret(ns, "shop-secrets")
    check(s["exists"], "initkit-secrets sync created Secret shop-secrets")
    keys = set(s["data"])
    for k in ("APP_ENCRYPTION_KEY", "APP_ADMIN_PWD", "APP_ADMIN_ADVISABLE_PWD", "APP_DB_DEFAULT_PWD"):
        check(k in keys and len(s["data"][k]) >= 16, f"shop-secrets has {k}")
    check(env.cluster.call("keycloak_client", client_id="shop-admin")["exists"],
          "the Keycloak client shop-admin exists")
    check(env.secret(ns, "shop-secrets-keycloak")["exists"], "Secret shop-secrets-keycloak exists")
    for v in s["data"].values():
        svc.register_credential(v, "shop-secrets value")
    return s["data"]


def db_counts(env, db):
    q = lambda sql: env.db.sql(sql, db)
    return {"migrations": int(q("SELECT COUNT(*) FROM migrations")),
            "seeds": int(q("SELECT COUNT(*) FROM seed_log")),
            "registry": q("SELECT value FROM registry WHERE name='SEEDER.INITIAL_SEED_RAN'"),
            "products": int(q("SELECT COUNT(*) FROM products"))}


def seed_redis(env):
    env.redis.cli("SET", "shop:cache:page:1", "x")
    env.redis.cli("SET", "shop:cache:page:2", "x")
    env.redis.cli("SET", "shop:session:keep", "x")


def check_redis_flushed(env):
    check(env.redis.cli("EXISTS", "shop:cache:page:1", "shop:cache:page:2") == "0",
          "migrate flushed the Redis prefix shop:cache:")
    check(env.redis.cli("EXISTS", "shop:session:keep") == "1", "keys outside the prefix stay")


PRELOAD_CHECK = ("$s = opcache_get_status(false); $p = $s['preload_statistics'] ?? null;"
                 "echo json_encode(['preloaded' => $p === null ? null : $p['classes'] ?? []]), \"\\n\";")


def preload_output(pod_spec):
    """Where the pod's initkit-preload writes the list (its --output)."""
    for c in pod_spec.get("initContainers", []):
        for a in c.get("command", []) + c.get("args", []):
            if a.startswith("--output=") and "initkit-preload" in " ".join(c.get("command", [])):
                return a.split("=", 1)[1]
    raise CheckFailed("no initkit-preload init container with --output")


def check_preload_command():
    # opcache.preload comes from the example's own php.ini (its ConfigMap or
    # compose file in the image's conf.d); the CLI only needs OPcache on.
    return ["php", "-d", "opcache.enable_cli=1", "-d", "display_startup_errors=1",
            "-d", "error_reporting=-1", "-r", PRELOAD_CHECK]


def check_preload(pod, container):
    """Loads the preload list with PHP 8.2 in the php-fpm container's view
    (its user, mounts and read-only root), as php-fpm would at start."""
    preload_output(pod.spec)  # the pod generates the list
    code = pod.run(container, command=check_preload_command())
    out = pod.logs[container["name"]]
    check(code == 0, f"PHP 8.2 loads the preload list in container {container['name']} (exit {code})")
    check("Warning" not in out and "Fatal" not in out and "Can't preload" not in out,
          "preloading printed no warning")
    check("Shop\\\\Catalog\\\\Product" in out or "Shop\\Catalog\\Product" in out,
          "the app's classes are preloaded")


APP_ENV_CHECK = (
    "require 'system/Kernel.php';"
    "foreach (['APP_DB_DEFAULT_PWD', 'APP_ENCRYPTION_KEY'] as $k) {"
    " $v = shop_env_file($k); echo $k, '=', $v === '' ? 'missing' : hash('sha256', $v), \"\\n\"; }")


def check_app_env(run, logs, name, secret_data):
    """The app in php-fpm finds its credentials (env or *_FILE, as
    system/Kernel.php reads them) and they are the Secret's values."""
    import hashlib
    code = run(["php", "-r", APP_ENV_CHECK])
    got = dict(line.split("=", 1) for line in logs().splitlines() if "=" in line and " " not in line)
    for k in ("APP_DB_DEFAULT_PWD", "APP_ENCRYPTION_KEY"):
        want = hashlib.sha256(secret_data[k].encode()).hexdigest()
        check(code == 0 and got.get(k) == want, f"the app in {name} reads {k} and it is the Secret's value")


def deployment_main(env, ns, dep, checks, secret_data=None):
    def hook(pod):
        app = pod.volume("app")
        check(os.path.exists(os.path.join(app, "index.php")), "bootstrap copied the app into the app volume")
        check(os.path.exists(os.path.join(app, ".initkit-ready")), "bootstrap wrote its marker last")
        check(os.path.isdir(os.path.join(app, "storage/tmp")), "bootstrap made storage/tmp")
        check(os.path.exists(os.path.join(app, "preload.php")), "initkit-preload wrote preload.php")
        checks(pod)
        for c in pod.spec["containers"]:
            image = kl.find_image(env.images, c["image"])
            # Env and mounts resolve as the kubelet would (a missing Secret key fails here).
            env.kubelet.prepare_container(ns, pod.name, pod.spec, c, pod.vols, f"{pod.what} {c['name']}")
            if c["name"] == "php-fpm":
                check_preload(pod, c)
                data = secret_data or env.secret(ns, "shop-secrets")["data"]
                check_app_env(lambda cmd: pod.run(c, command=cmd), lambda: pod.logs[c["name"]],
                              "php-fpm", data)
            elif not image.runnable:
                print(f"   (container {c['name']}: {c['image']} is not run here; env and mounts checked)")
    return hook


def scenario_argocd(env):
    ns = "shop"
    ex = env.examples
    env.namespace(ns)
    # Managed outside the app (the platform's SealedSecret): the Keycloak admin credentials.
    env.cluster.apply(ns, {"kind": "Secret", "metadata": {"name": "keycloak-admin-shop"},
                           "stringData": {"client-secret": env.cluster.keycloak_admin_client_secret}})
    presync = (load(f"{ex}/argocd/secrets-sync.yaml") + load(f"{ex}/mariadb-users.yaml")
               + load(f"{ex}/argocd/migrate-presync.yaml"))
    deployment = load(f"{ex}/deployment.yaml")
    cron = load(f"{ex}/cronjob.yaml")
    dep = next(o for o in deployment if o["kind"] == "Deployment")
    seed_redis(env)
    sync = ArgoSync(env, ns)

    def after_job(name):
        if name == "initkit-secrets-sync":
            data = shop_checks_after_secrets(env, ns)
            check(data.get("APP_DB_USER") in ("shop_a", "shop_b"), "APP_DB_USER names one of the two users")
            # The platform's MariaDB has the database; the users come from
            # mariadb-users.yaml through the operator (MariaDBOperator below).
            env.db.sql("DROP DATABASE IF EXISTS shop; CREATE DATABASE shop;")
        if name == "initkit-migrate":
            c = db_counts(env, "shop")
            check(c["migrations"] == 3 and c["seeds"] == 1 and c["registry"] not in ("", "0"),
                  f"PreSync migrate: 3 migrations, seeded once, registry row set ({c})")
            check_redis_flushed(env)

    print("== Argo CD sync: PreSync", flush=True)
    sync.run_phase(presync, "PreSync", after_job)
    print("== Argo CD sync: Sync (deployment.yaml, cronjob.yaml)", flush=True)
    env.apply_all(ns, deployment + cron)
    env.set_rollout(ns, dep, complete=False)
    state = {}

    def dep_checks(pod):
        c = db_counts(env, "shop")
        check(c["seeds"] == 1 and c["products"] == 2,
              f"the Deployment's initkit-migrate did not seed again ({c})")
        state["app"] = pod.volume("app")

    env.kubelet.run_pod(ns, dep["spec"]["template"]["spec"], "deployment/shop-web",
                        main_hook=deployment_main(env, ns, dep, dep_checks))
    web = svc.Web(state["app"], os.path.join(env.work, "web.log"))
    env.stops.append(web.stop)

    # The CronJob's pod starts while the rollout is still in progress: the gate must hold.
    cj = next(o for o in cron if o["kind"] == "CronJob")
    spec = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    sa = spec.get("serviceAccountName", "default")
    result = {}
    pods = []

    def run_cron():
        try:
            result["pod"] = env.kubelet.run_pod(ns, spec, "cronjob/shop-cron", on_pod=pods.append, timeout=180)
        except Exception as e:  # reported below
            result["error"] = e

    t = threading.Thread(target=run_cron)
    t.start()
    user = f"system:serviceaccount:{ns}:{sa}"
    gate_read = lambda: any(d["resource"] == "deployments" and d["name"] == "shop-web" and d["allowed"]
                            for d in env.decisions(user))
    deadline = time.monotonic() + 120
    while t.is_alive() and not gate_read() and time.monotonic() < deadline:
        time.sleep(0.05)
    if "error" in result:
        raise result["error"]
    check(gate_read(), f"the cron gate read Deployment shop-web as {user} (allowed by the example's Role)")
    marker = os.path.join(pods[0].volume("app"), "storage/tmp/cron-ran")
    # Two more polls of the unfinished rollout; the cron command must not have run.
    n = len(env.decisions(user))
    svc.wait_for(lambda: len(env.decisions(user)) >= n + 2 or not t.is_alive(), "two more rollout polls", 30)
    check(t.is_alive() and not os.path.exists(marker), "the gate stays shut while the rollout is in progress")
    env.set_rollout(ns, dep, complete=True)
    t.join(180)
    if "error" in result:
        raise result["error"]
    check(os.path.exists(marker), "after the rollout completed the gate opened and `php index.php cron run` ran")
    with open(marker) as f:
        check(f.read().count("\n") == 1, "the cron command ran once")
    # A CronJob whose version differs from the web's after the rollout:
    # --on-mismatch skip ends the run with exit 0 without the cron command.
    version_file = os.path.join(state["app"], "application/config/version.php")
    with open(version_file) as f:
        released = f.read()
    with open(version_file, "w") as f:
        f.write(released.replace("4.99.5", "4.99.6"))
    skipped = env.kubelet.run_pod(ns, spec, "cronjob/shop-cron", timeout=180)
    with open(version_file, "w") as f:
        f.write(released)
    check(not os.path.exists(os.path.join(skipped.volume("app"), "storage/tmp/cron-ran")),
          "a version mismatch after the rollout skipped the cron command")
    check("run skipped" in skipped.logs.get("initkit-cron-gate", "") + skipped.logs.get("cron", ""),
          "the gate logged that the run was skipped (the Job succeeded: no KubeJobFailed alert)")
    denied = [d for d in env.decisions() if not d["allowed"]]
    check(not denied, f"no request was denied by RBAC during the sync ({denied[:3]})")
    deleted = sync.finish(succeeded=True)
    check({("ServiceAccount", "initkit-secrets"), ("Role", "initkit-secrets"),
           ("RoleBinding", "initkit-secrets")} <= set(deleted),
          "the secrets hook's ServiceAccount, Role and RoleBinding are deleted once the sync succeeded")

    # The next sync: the hooks again (BeforeHookCreation), APP_DB_DEFAULT_PWD
    # rotates (initkit-secrets updates the Secret), the operator follows it,
    # and migrate runs with the new password without seeding again.
    print("== Argo CD sync #2: PreSync", flush=True)
    before = env.secret(ns, "shop-secrets")["data"]
    old_user, old_pw = before["APP_DB_USER"], before["APP_DB_DEFAULT_PWD"]

    def after_job2(name):
        if name == "initkit-secrets-sync":
            data = env.secret(ns, "shop-secrets")["data"]
            for v in data.values():
                svc.register_credential(v, "shop-secrets value after sync #2")
            check(data["APP_DB_USER"] != old_user and data["APP_DB_DEFAULT_PWD"] != old_pw,
                  f"sync #2 switched the app to the other user ({old_user} -> {data['APP_DB_USER']}) "
                  "with a new password (updated the Secret)")
            # --restart deployment/shop-web: the switch rolls the pods that read it as env.
            hook_user = f"system:serviceaccount:{ns}:initkit-secrets"
            check(any(d["verb"] == "patch" and d["resource"] == "deployments" and d["name"] == "shop-web"
                      and d["allowed"] for d in env.decisions(hook_user)),
                  "sync #2 restarted Deployment shop-web (PATCH allowed by the hook's Role)")
        if name == "initkit-migrate":
            # A pod started before this sync still connects with what it holds.
            check(env.db.can_connect(old_user, old_pw, "shop"),
                  f"a pod started before sync #2 still connects as {old_user} with its password")
            c = db_counts(env, "shop")
            check(c["seeds"] == 1 and c["products"] == 2, f"sync #2: migrate with the new password, no second seed ({c})")

    sync.run_phase(presync, "PreSync", after_job2)
    denied = [d for d in env.decisions() if not d["allowed"]]
    check(not denied, f"no request was denied by RBAC in sync #2 ({denied[:3]})")
    sync.finish(succeeded=True)

    print("== Argo CD: application deleted -> PostDelete", flush=True)
    teardown = load(f"{ex}/argocd/secrets-teardown.yaml")
    sync.run_phase(teardown, "PostDelete")
    check(not env.cluster.call("keycloak_client", client_id="shop-admin")["exists"],
          "teardown removed the Keycloak client shop-admin")
    check(not env.secret(ns, "shop-secrets-keycloak")["exists"], "teardown deleted Secret shop-secrets-keycloak")
    check(env.secret(ns, "shop-secrets")["exists"], "the app Secret shop-secrets stays")
    sync.finish(succeeded=True)


def scenario_image_volume(env):
    ns = "shop"
    env.namespace(ns)
    objs = load(f"{env.examples}/deployment-image-volume.yaml")
    # shop-secrets exists: initkit-secrets sync made it (argocd/secrets-sync.yaml).
    pw = "iv-" + os.urandom(12).hex()
    enc = os.urandom(16).hex()
    for v in (pw, enc):
        svc.register_credential(v, "image-volume test secret")
    env.cluster.apply(ns, {"kind": "Secret", "metadata": {"name": "shop-secrets"},
                           "stringData": {"APP_DB_USER": "shop", "APP_DB_DEFAULT_PWD": pw, "APP_ENCRYPTION_KEY": enc,
                                          "APP_ADMIN_PWD": enc, "APP_ADMIN_ADVISABLE_PWD": enc}})
    env.db.reset_database("shop", "shop", pw)
    env.apply_all(ns, objs)
    dep = next(o for o in objs if o["kind"] == "Deployment")

    def checks(pod):
        pass

    def hook(pod):
        vols = pod.spec.get("volumes", [])
        check(any("image" in v for v in vols), "the app and initkit come from image volumes")
        out = pod.vols
        preload = [p for n, (p, ro) in out.items() if os.path.exists(os.path.join(p, "preload.php"))]
        check(preload, "initkit-preload wrote preload.php into its volume")
        c = db_counts(env, "shop")
        check(c["migrations"] == 3 and c["seeds"] == 1, f"migrate ran and seeded once ({c})")
        for c in pod.spec["containers"]:
            env.kubelet.prepare_container(ns, pod.name, pod.spec, c, pod.vols, f"{pod.what} {c['name']}")
            if c["name"] == "php-fpm":
                check_preload(pod, c)
                check_app_env(lambda cmd: pod.run(c, command=cmd), lambda: pod.logs[c["name"]],
                              "php-fpm", env.secret(ns, "shop-secrets")["data"])

    env.kubelet.run_pod(ns, dep["spec"]["template"]["spec"], "deployment/shop-web", main_hook=hook)


def helm_render(env):
    """The Helm hook: the chart in helm/ rendered with its values, or the single file."""
    sys.path.insert(0, os.path.join(env.examples, "validate"))
    import helm_render
    return helm_render.render(os.path.join(env.examples, "helm", "initkit-migrate"),
                              release="ezscale-website", namespace="ezscale")


def scenario_helm(env):
    ns = "ezscale"
    env.namespace(ns)
    objs = helm_render(env)
    pw = "helm-" + os.urandom(12).hex()
    svc.register_credential(pw, "helm test DB password")
    # Created once by hand (seed 001); the hook never touches it.
    env.cluster.apply(ns, {"kind": "Secret", "metadata": {"name": "ezscale-website-secrets"},
                           "stringData": {"DB_PASSWORD": pw}})
    env.db.reset_database("ezscale_billing", "ezscale-website-app", pw)
    jobs = [o for o in objs if o["kind"] == "Job"]
    check(len(jobs) == 1, "the chart renders one hook Job")
    job = jobs[0]
    hooks = annotations(job).get("helm.sh/hook", "")
    check("pre-install" in hooks and "pre-upgrade" in hooks, "the Job is a pre-install and pre-upgrade hook")
    env.apply_all(ns, [o for o in objs if o["kind"] != "Job"])
    for phase in ("install", "upgrade"):
        print(f"-- helm {phase}: hook Job {job['metadata']['name']}", flush=True)
        env.kubelet.run_pod(ns, job["spec"]["template"]["spec"], f"job/{job['metadata']['name']}")
        rows = env.db.sql("SELECT COUNT(*) FROM migrations", "ezscale_billing")
        check(rows == "1", f"after helm {phase}: artisan migrate applied its one migration once")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["argocd", "image-volume", "helm", "compose"])
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--fake", required=True)
    ap.add_argument("--examples", default=os.path.join(kl.SOURCE_DIR, "k8s-examples"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("skip: the pod runner needs root (namespaces, chroot, setpriv)")
        return 77
    if os.environ.get("PODRUNNER_NETNS") != "1":
        # Our own network namespace: the examples' ports and names, nobody else's.
        env = dict(os.environ, PODRUNNER_NETNS="1")
        try:
            return subprocess.run(["unshare", "-n", "--", sys.executable] + sys.argv, env=env).returncode
        except OSError as e:
            print(f"skip: cannot make a network namespace: {e}")
            return 77
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start", "w") as f:
        f.write("0")
    work = tempfile.mkdtemp(prefix=f"pods-{args.scenario}-")
    os.chmod(work, 0o755)
    env = None
    t0 = time.monotonic()
    try:
        env = Env(args, work)
        {"argocd": scenario_argocd, "image-volume": scenario_image_volume, "helm": scenario_helm,
         "compose": cmp.scenario_compose}[args.scenario](env)
        print(f"PASS {args.scenario} in {time.monotonic() - t0:.1f}s", flush=True)
        return 0
    except (CheckFailed, kl.PodError) as e:
        print(f"FAIL {args.scenario}: {e}", file=sys.stderr, flush=True)
        return 1
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        if env:
            env.stop()
        if not args.keep:
            subprocess.run(["umount", "-R", "-l", work], stderr=subprocess.DEVNULL)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
