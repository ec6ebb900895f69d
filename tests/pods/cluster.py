"""The services the examples talk to, on loopback inside the runner's own
network namespace (so they listen on the examples' real ports: MariaDB 3306,
Redis 6379, the web Service on 80, Keycloak on 443, and the names resolve
through the containers' /etc/hosts):

  * FakeCluster: the Kubernetes API fake with the manifests' RBAC and the
    Keycloak fake (pods_cluster_fake, tests/pods/pods_cluster_fake_main.cc);
  * MariaDB and Redis from Debian;
  * a TLS front for the Keycloak fake as https://sso.example.com (a test CA
    that the containers' CA bundle trusts, as a cluster with a private CA
    would mount it);
  * the web Service: PHP's built-in server on the Deployment's app volume,
    standing in for nginx + php-fpm (health endpoint /_healthz/ready).
"""
import fcntl
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time

HOST_NAMES = ["mariadb-maxscale", "mariadb", "mariadb-maxscale.ezscale.svc.cluster.local",
              "redis-cache", "redis", "shop-web", "sso.example.com", "php-fpm"]


class CheckFailed(Exception):
    """An effect of an example is not what it should be."""


def check(cond, what):
    if not cond:
        raise CheckFailed(what)
    print(f"ok: {what}", flush=True)


def register_credential(value, label):
    """Same registry as RegisterCredential() in tests/fakes/test_util.h."""
    reg = os.environ.get("TEST_INITKIT_CREDENTIALS")
    if not reg or len(value) < 8:
        return
    fd = os.open(reg, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(f"{label}\t{value.encode().hex()}\n")


def wait_for(cond, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class FakeCluster:
    def __init__(self, binary, work, keycloak_admin_client_id):
        self.dir = os.path.join(work, "fake-cluster")
        os.makedirs(self.dir)
        self.proc = subprocess.Popen([binary, self.dir, keycloak_admin_client_id], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(self.dir, "stderr"), "wb"), text=True)
        hello = json.loads(self.proc.stdout.readline())
        self.api_port = hello["api_port"]
        self.keycloak_url = hello["keycloak_url"]
        self.keycloak_admin_client_id = hello["keycloak_admin_client_id"]
        with open(hello["keycloak_admin_client_secret_file"]) as f:
            self.keycloak_admin_client_secret = f.read()
        self.keycloak_realm = hello["keycloak_realm"]
        with open(os.path.join(self.dir, "ca.crt")) as f:
            self.ca_pem = f.read()
        self.sa_automount = {}
        self.lock = threading.Lock()

    def call(self, op, **kw):
        with self.lock:
            self.proc.stdin.write(json.dumps(dict(op=op, **kw)) + "\n")
            self.proc.stdin.flush()
            answer = json.loads(self.proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"fake cluster {op}: {answer['error']}")
        return answer

    def apply(self, ns, obj):
        if obj["kind"] == "ServiceAccount":
            self.sa_automount[(ns, obj["metadata"]["name"])] = obj.get("automountServiceAccountToken", True)
        return self.call("apply", ns=ns, object=obj)

    def delete(self, ns, kind, name):
        return self.call("delete", ns=ns, kind=kind, name=name)

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


class MariaDB:
    def __init__(self, work):
        self.dir = os.path.join(work, "mariadb")
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "sock")
        # mariadb-install-db's bootstrap server uses the default socket path
        # whatever the datadir: scenarios running at once take turns.
        with open(os.path.join(tempfile.gettempdir(), "initkit-pods-mariadb-install.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            r = subprocess.run(["mariadb-install-db", "--no-defaults", "--auth-root-authentication-method=normal",
                                f"--datadir={self.dir}/data", "--user=root", "--skip-test-db",
                                "--innodb-log-file-size=8M"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {(r.stdout + r.stderr)[-2000:]}")
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={self.dir}/data", f"--socket={self.sock}",
             "--port=3306", "--bind-address=127.0.0.1", "--user=root", f"--tmpdir={self.dir}",
             f"--pid-file={self.dir}/pid", f"--log-error={self.dir}/error.log",
             "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M", "--skip-log-bin",
             "--performance-schema=OFF", "--skip-name-resolve"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.proc.poll() is None and os.path.exists(self.sock) and port_open(3306),
                 "MariaDB on 127.0.0.1:3306")

    def sql(self, statement, db=None):
        cmd = ["mariadb", "--no-defaults", f"--socket={self.sock}", "-uroot", "-N", "-B"]
        if db:
            cmd.append(db)
        r = subprocess.run(cmd, input=statement, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"SQL failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def reset_database(self, db, user, password):
        """What the DB operator would do: a fresh database and its user."""
        pw = password.replace("\\", "\\\\").replace("'", "\\'")
        self.sql(f"DROP DATABASE IF EXISTS `{db}`; CREATE DATABASE `{db}`;"
                 f"CREATE OR REPLACE USER '{user}'@'%' IDENTIFIED BY '{pw}';"
                 f"GRANT ALL ON `{db}`.* TO '{user}'@'%';")

    def can_connect(self, user, password, db):
        """A new connection over TCP, as a pod would open one."""
        r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", "-P3306", f"-u{user}", db,
                            "-N", "-e", "SELECT 1"], env=dict(os.environ, MYSQL_PWD=password),
                           capture_output=True, text=True)
        return r.returncode == 0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Redis:
    def __init__(self, work):
        self.dir = os.path.join(work, "redis")
        os.makedirs(self.dir)
        self.proc = subprocess.Popen(["redis-server", "--port", "6379", "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(6379), "Redis on 127.0.0.1:6379")

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", "6379", *args], capture_output=True, text=True,
                              check=True).stdout.strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class TlsFront:
    """https://NAME:443 -> http://127.0.0.1:target_port, with a certificate from a test CA."""

    def __init__(self, work, name, target_port):
        d = os.path.join(work, "tls-" + name)
        os.makedirs(d)
        self.ca = os.path.join(d, "ca.crt")
        run = lambda *a: subprocess.run(a, check=True, capture_output=True)
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{d}/ca.key", "-out", self.ca, "-days", "2", "-subj", "/CN=pods test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{d}/srv.key", "-out", f"{d}/srv.csr", "-subj", f"/CN={name}")
        with open(f"{d}/ext", "w") as f:
            f.write(f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n")
        run("openssl", "x509", "-req", "-in", f"{d}/srv.csr", "-CA", self.ca, "-CAkey", f"{d}/ca.key",
            "-CAcreateserial", "-out", f"{d}/srv.crt", "-days", "2", "-extfile", f"{d}/ext")
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(f"{d}/srv.crt", f"{d}/srv.key")
        self.target = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 443))
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
            up = socket.create_connection(("127.0.0.1", self.target))
        except (OSError, ssl.SSLError):
            conn.close()
            return

        def pump(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data:
                        break
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for s in (a, b):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        t = threading.Thread(target=pump, args=(up, tls), daemon=True)
        t.start()
        pump(tls, up)
        t.join(5)
        tls.close()
        up.close()


class Web:
    """The web Service (port 80): PHP's built-in server on a Deployment pod's
    app volume, as uid 65532 like php-fpm. Stands in for nginx + php-fpm."""

    def __init__(self, docroot, log_path):
        self.proc = subprocess.Popen(["/usr/bin/setpriv", "--reuid=65532", "--regid=65532", "--clear-groups",
                                      "php", "-S", "127.0.0.1:80", "-t", docroot, os.path.join(docroot, "index.php")],
                                     stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        wait_for(lambda: port_open(80), "the web Service on 127.0.0.1:80")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
