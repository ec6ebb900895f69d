"""Runs k8s-examples/compose/compose.yaml (as `docker-compose config` prints it)
on the kubelet's container machinery, the way `docker compose up` would:
services in depends_on order, one-shot services (restart "no") to completion
before the ones that wait for service_completed_successfully, named volumes as
root-owned 0755 directories (Docker's default for a new volume), bind mounts,
tmpfs, file secrets bind-mounted at /run/secrets/NAME, `user`, `read_only`,
`cap_drop`/`cap_add`, no-new-privileges. The stack is brought up twice, as a
redeploy would. mariadb and redis are this machine's (mariadb's entrypoint is
emulated: it creates MARIADB_DATABASE and MARIADB_USER from the *_FILE
secrets it can read); nginx is not run (its mounts are checked).
"""
import hashlib
import os
import shutil
import tempfile
import subprocess

import yaml

import cluster as svc
import kubelet as kl


def topo_order(services):
    order, seen = [], set()

    def visit(name, stack=()):
        if name in seen:
            return
        if name in stack:
            raise kl.PodError(f"compose: dependency cycle through {name}")
        for dep in services[name].get("depends_on", {}):
            visit(dep, stack + (name,))
        seen.add(name)
        order.append(name)

    for name in sorted(services):
        visit(name)
    return order


class Stack:
    def __init__(self, env, work):
        self.env = env
        src = os.path.join(env.examples, "compose")
        self.dir = os.path.join(work, "compose")
        shutil.copytree(src, self.dir)  # bind paths are relative to the file: keep the source tree clean
        out = subprocess.run(["docker-compose", "-f", os.path.join(self.dir, "compose.yaml"), "config"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise kl.PodError(f"docker-compose config: {out.stderr.strip()}")
        self.cfg = yaml.safe_load(out.stdout)
        self.services = self.cfg["services"]
        self.volumes = {}
        for name in self.cfg.get("volumes") or {}:
            path = os.path.join(work, "compose-volumes", name)
            os.makedirs(path)
            os.chmod(path, 0o755)
            self.volumes[name] = path
        self.secrets = {n: s["file"] for n, s in (self.cfg.get("secrets") or {}).items()}
        self.pod_dir = os.path.join(work, "compose-containers")
        os.makedirs(self.pod_dir, exist_ok=True)
        self.logs = {}

    def mounts(self, name):
        s = self.services[name]
        out = []
        for v in s.get("volumes", []):
            if isinstance(v, str):
                parts = v.split(":")
                src, dst = parts[0], parts[1]
                ro = len(parts) > 2 and "ro" in parts[2].split(",")
            else:
                src, dst, ro = v["source"], v["target"], v.get("read_only", False)
            if not src.startswith("/"):
                if src not in self.volumes:
                    raise kl.PodError(f"compose service {name}: volume {src!r} is not declared")
                src = self.volumes[src]
            elif not os.path.exists(src):
                os.makedirs(src)  # Docker creates a missing bind source as a directory
            out.append((src, dst, ro))
        for t in s.get("tmpfs", []) or []:
            path = tempfile.mkdtemp(prefix=f"{name}-tmpfs.", dir=self.pod_dir)
            os.chmod(path, 0o1777)
            out.append((path, t.split(":")[0], False))
        for sec in s.get("secrets", []) or []:
            src_name = sec if isinstance(sec, str) else sec["source"]
            target = sec if isinstance(sec, str) else sec.get("target", src_name)
            if src_name not in self.secrets:
                raise kl.PodError(f"compose service {name}: secret {src_name!r} is not declared")
            path = self.secrets[src_name]
            if not os.path.exists(path):
                raise kl.PodError(f"compose service {name}: secret file {path} does not exist")
            out.append((path, target if target.startswith("/") else f"/run/secrets/{target}", True))
        return out

    def host_path(self, name, path):
        """The host file behind a path inside service `name`."""
        best = None
        for src, dst, _ in self.mounts(name):
            if path == dst or path.startswith(dst.rstrip("/") + "/"):
                if best is None or len(dst) > len(best[1]):
                    best = (src, dst)
        if best is None:
            return None
        return best[0] + path[len(best[1]):]

    def start(self, name, command=None):
        s = self.services[name]
        image = kl.find_image(self.env.images, s["image"])
        user = str(s.get("user", f"{image.user[0]}:{image.user[1]}"))
        uid, _, gid = user.partition(":")
        sec = {"uid": int(uid), "gid": int(gid or 0), "groups": [],
               "read_only_root": bool(s.get("read_only", False)),
               "no_new_privs": any("no-new-privileges" in o and not o.endswith("false")
                                   for o in s.get("security_opt", [])),
               "drop": [c.upper() for c in s.get("cap_drop", [])],
               "add": [c.upper() for c in s.get("cap_add", [])]}
        env = dict(image.env)
        env["HOSTNAME"] = name
        env["HOME"] = "/"
        env.update({k: str(v) for k, v in (s.get("environment") or {}).items()})
        cmd = command or s.get("command")
        if isinstance(cmd, str):
            cmd = cmd.split()
        if not cmd:
            raise kl.PodError(f"compose service {name}: no command")
        print(f"  [compose] {name}: uid {sec['uid']} gid {sec['gid']}"
              f"{' ro-root' if sec['read_only_root'] else ''}: {' '.join(cmd)[:150]}", flush=True)
        return self.env.kubelet.start_container(self.pod_dir, {"name": name}, image, env, sec,
                                                self.mounts(name), s.get("working_dir", "/"), cmd)

    def run(self, name, command=None, timeout=120):
        proc, log_path, _ = self.start(name, command)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = 124
        with open(log_path, "rb") as f:
            self.logs[name] = f.read().decode(errors="replace")
        print(f"  [compose] {name}: exit {code}", flush=True)
        self.env.kubelet.log_output(self.logs[name])
        return code

    def mariadb(self, name):
        """The mariadb image's entrypoint on first start: reads its *_FILE
        variables as root and creates the database and user."""
        s = self.services[name]
        e = s.get("environment") or {}
        values = {}
        for key in ("MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD"):
            path = e.get(key + "_FILE")
            if path is None:
                raise kl.PodError(f"compose service {name}: {key}_FILE is not set")
            host = self.host_path(name, path)
            if host is None or not os.path.isfile(host):
                raise kl.PodError(f"compose service {name}: {key}_FILE={path}: no such file in the container")
            with open(host) as f:
                values[key] = f.read().strip()
            svc.register_credential(values[key], f"compose {key}")
        if not self.env.db.sql(f"SHOW DATABASES LIKE '{e['MARIADB_DATABASE']}'"):
            self.env.db.reset_database(e["MARIADB_DATABASE"], e["MARIADB_USER"], values["MARIADB_PASSWORD"])
        return values

    def up(self, round_no, checks):
        print(f"== docker compose up (round {round_no})", flush=True)
        for name in topo_order(self.services):
            s = self.services[name]
            image = kl.find_image(self.env.images, s["image"])
            if s["image"].startswith("mariadb:"):
                checks["mariadb"] = self.mariadb(name)
            elif s["image"].startswith("redis:"):
                pass  # this machine's Redis on 6379 is the `redis` service
            elif str(s.get("restart", "no")) == "no":
                code = self.run(name)
                if code != 0:
                    raise kl.PodError(f"compose service {name} exited {code}:\n{self.logs[name]}")
            elif not image.runnable:
                self.mounts(name)
                print(f"   (service {name}: {s['image']} is not run here; mounts checked)")
            else:
                checks.setdefault("long_running", []).append(name)


FILES_CHECK = r"""
$out = [];
foreach (getenv() as $k => $v) {
    if (substr($k, -5) === '_FILE') { $out['env'][$k] = is_readable($v); }
}
$it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator('/run', FilesystemIterator::SKIP_DOTS));
foreach ($it as $f) {
    if ($f->isFile() && is_readable($f->getPathname())) {
        $out['hashes'][] = hash('sha256', trim(file_get_contents($f->getPathname())));
    }
}
echo json_encode($out), "\n";
"""


def scenario_compose(env):
    from podrunner import check, check_preload_command, seed_redis, check_redis_flushed, db_counts, check_app_env
    import json
    stack = Stack(env, env.work)
    seed_redis(env)
    first = {}
    stack.up(1, first)
    secrets_dir = None
    for name, s in stack.services.items():
        if "initkit-secrets" in " ".join(s.get("command") or []):
            secrets_dir = stack.host_path(name, "/run/initkit")
    check(secrets_dir is not None, "initkit-secrets writes into /run/initkit")
    files = sorted(f for f in os.listdir(secrets_dir) if not f.startswith("."))
    check(files == ["APP_ADMIN_ADVISABLE_PWD", "APP_ADMIN_PWD", "APP_DB_DEFAULT_PWD", "APP_ENCRYPTION_KEY",
                    "MARIADB_ROOT_PWD"], f"initkit-secrets wrote one file per key ({files})")
    for f in files:
        st = os.stat(os.path.join(secrets_dir, f))
        check(st.st_uid == 65532 and st.st_mode & 0o777 == 0o600, f"{f} is 0600 and owned by 65532")
    before = {}
    for f in files:
        with open(os.path.join(secrets_dir, f)) as fh:
            before[f] = fh.read()
            svc.register_credential(before[f].strip(), "compose secret " + f)
    c = db_counts(env, "shop")
    check(c["migrations"] == 3 and c["seeds"] == 1, f"initkit-migrate migrated and seeded ({c})")
    check_redis_flushed(env)
    app = stack.volumes.get("app")
    check(app and os.path.exists(os.path.join(app, "index.php")) and os.path.exists(os.path.join(app, ".initkit-ready")),
          "initkit-bootstrap copied the app into the app volume")
    check(os.path.exists(os.path.join(app, "preload.php")), "initkit-preload wrote preload.php")

    # php-fpm: PHP 8.2 loads the preload list in its container; it sees its
    # own secrets and not MariaDB's root password.
    check("php-fpm" in first.get("long_running", []), "php-fpm is a long-running service")
    code = stack.run("php-fpm", check_preload_command())
    out = stack.logs["php-fpm"]
    check(code == 0 and "Warning" not in out and "Shop\\\\Catalog\\\\Product" in out,
          "PHP 8.2 in the php-fpm service loads the preload list without warnings")
    code = stack.run("php-fpm", ["php", "-r", FILES_CHECK])
    seen = json.loads(stack.logs["php-fpm"].strip().splitlines()[-1])
    check(code == 0 and seen.get("env") and all(seen["env"].values()),
          f"php-fpm can read every *_FILE it is given ({sorted(seen.get('env', {}))})")
    files_data = {}
    for k, f in (("APP_DB_DEFAULT_PWD", "APP_DB_DEFAULT_PWD"), ("APP_ENCRYPTION_KEY", "APP_ENCRYPTION_KEY")):
        files_data[k] = before[f].strip()
    check_app_env(lambda cmd: stack.run("php-fpm", cmd), lambda: stack.logs["php-fpm"], "php-fpm", files_data)
    root_hash = hashlib.sha256(first["mariadb"]["MARIADB_ROOT_PASSWORD"].encode()).hexdigest()
    check(root_hash not in seen.get("hashes", []), "php-fpm cannot read the MariaDB root password")

    # A redeploy: everything runs again; nothing is generated, seeded or copied twice.
    stack.up(2, {})
    for f in files:
        with open(os.path.join(secrets_dir, f)) as fh:
            check(fh.read() == before[f], f"round 2 kept {f}")
    c = db_counts(env, "shop")
    runs = int(env.db.sql("SELECT COUNT(*) FROM migration_runs", "shop"))
    check(c["migrations"] == 3 and c["seeds"] == 1 and runs == 2,
          f"round 2 ran the migration again and did not seed again ({c}, runs {runs})")
