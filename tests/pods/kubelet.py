"""Runs pod templates from k8s-examples/ on this machine the way a kubelet would.

What is modelled (and how), per container:
  * the API server's admission checks that matter here: volume and mount names,
    env names, the ServiceAccount exists, runAsNonRoot against the real uid;
  * env: value, $(VAR) expansion (k8s.io/kubernetes/third_party/forked/golang/
    expansion), fieldRef, secretKeyRef / configMapKeyRef read from the fake API
    (a missing one is CreateContainerConfigError), envFrom, the service env
    KUBERNETES_SERVICE_HOST/PORT (the fake API over TLS);
  * volumes as directories: emptyDir (0777, fsGroup-owned with setgid), Secret
    / ConfigMap / projected volumes with items, modes and the kubelet's
    ..data symlink layout, the service-account token (a token the fake API
    accepts for this ServiceAccount only), image volumes (the image's layer);
  * the root file system: a fresh tmpfs root in a private mount namespace with
    the image's layer over the host's /usr and /etc (overlayfs), read-only when
    readOnlyRootFilesystem is set; only the declared volumes are mounted, with
    readOnly honoured; then chroot;
  * runAsUser / runAsGroup / fsGroup / supplementalGroups / no_new_privs /
    capabilities with setpriv.
Not modelled (said where it matters): resource limits and sizeLimit, seccomp,
probes other than the tcpSocket/exec checks the scenarios make, images other
than the ones in IMAGES (an unknown image is ImagePullBackOff).
"""
import base64
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class PodError(Exception):
    """The pod could not run as written (what a user would see in `kubectl describe`)."""


class Image:
    def __init__(self, layer=None, user=(0, 0), env=None, runnable=True):
        self.layer = layer  # directory with the image's own files (usr/, var/, bin/ ...)
        self.user = user
        self.env = env or {"PATH": DEFAULT_PATH}
        self.runnable = runnable


def build_app_image(work):
    """The shop app image: tests/pods/images/shop-app plus the step of its
    Dockerfile that records the target PHP's built-in classes (for
    initkit-preload --php-classes), run with this machine's PHP, which stands
    in for the php-fpm image's."""
    layer = os.path.join(work, "image-shop-app")
    shutil.copytree(os.path.join(HERE, "images", "shop-app"), layer, symlinks=True)
    out = subprocess.run(["php", "-r", PHP_CLASSES], capture_output=True, text=True, check=True).stdout
    with open(os.path.join(layer, "usr/local/app/php-classes.txt"), "w") as f:
        f.write(out)
    return layer


# What the app image's build runs (k8s-examples/README.md, "php.ini for the preload list").
PHP_CLASSES = ('echo implode("\\n", array_merge(get_declared_classes(), get_declared_interfaces(), '
               'get_declared_traits())), "\\n";')


def make_images(initkit_layer, app_layer):
    """Image references of the examples -> what stands in for them here."""
    images_dir = os.path.join(HERE, "images")
    php_env = {"PATH": DEFAULT_PATH, "PHP_INI_SCAN_DIR": ":/usr/local/etc/php/conf.d"}
    return {
        # The initkit image: FROM scratch, the five binaries in /bin, ENV PATH=/bin, USER 65532.
        "ghcr.io/example/initkit:": Image(initkit_layer, (65532, 65532), {"PATH": "/bin"}),
        # The client's images (seed 000): the built app in /usr/local/app; PHP 8.1
        # images stand in for Debian's PHP 8.2 here.
        "registry.example.com/shop/app:": Image(app_layer),
        "registry.example.com/shop/php-cli:": Image(None, env=php_env),
        "registry.example.com/shop/php-fpm:": Image(None, env=php_env),
        # Seed 001's Laravel image: PHP and the source in /var/www/html.
        "git.example.com/ezscale/website:": Image(os.path.join(images_dir, "website"), env=php_env),
        "nginxinc/nginx-unprivileged:": Image(None, (101, 101), runnable=False),
        "busybox:": Image(None),
        "mariadb:": Image(None, runnable=False),
        "redis:": Image(None, runnable=False),
    }


def find_image(images, ref):
    for prefix, image in images.items():
        if ref.startswith(prefix):
            return image
    raise PodError(f"image {ref!r}: ImagePullBackOff (no stand-in for it in tests/pods/kubelet.py)")


_VAR_REF = re.compile(r"\$\$|\$\(([^)]*)\)")


def expand(text, env):
    """Kubelet $(VAR) expansion: defined vars are replaced, $$ is $, the rest stays."""

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)

    return _VAR_REF.sub(sub, text)


_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def security(pod_spec, container, image):
    """The effective uid, gid, groups and flags of a container."""
    psc = pod_spec.get("securityContext") or {}
    csc = container.get("securityContext") or {}

    def pick(key, default=None):
        if key in csc:
            return csc[key]
        return psc.get(key, default)

    uid = pick("runAsUser", image.user[0])
    # Without runAsGroup the runtime takes the image's group for the image's
    # user and group 0 for any other uid (no /etc/passwd entry in these images).
    if pick("runAsGroup") is not None:
        gid = pick("runAsGroup")
    elif pick("runAsUser") is not None and int(uid) != image.user[0]:
        gid = 0
    else:
        gid = image.user[1]
    groups = []
    if "fsGroup" in psc:
        groups.append(int(psc["fsGroup"]))
    groups += [int(g) for g in psc.get("supplementalGroups", [])]
    if pick("runAsNonRoot", False) and int(uid) == 0:
        raise PodError(f"container {container['name']}: CreateContainerConfigError: "
                       "container has runAsNonRoot and image will run as root")
    caps = csc.get("capabilities") or {}
    return {
        "uid": int(uid), "gid": int(gid), "groups": groups,
        "read_only_root": bool(csc.get("readOnlyRootFilesystem", False)),
        "no_new_privs": csc.get("allowPrivilegeEscalation", True) is False,
        "drop": [c.upper() for c in caps.get("drop", [])],
        "add": [c.upper() for c in caps.get("add", [])],
    }


def write_atomic_volume(path, files, uid, gid, dir_gid=0):
    """The kubelet's AtomicWriter layout: ..TIMESTAMP/ with the files, ..data ->
    it, and each top-level name a symlink into ..data. files: {relpath: (bytes, mode)}."""
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    os.chown(path, 0, dir_gid)
    stamp = "..2026_01_01_00_00_00.000000001"
    data_dir = os.path.join(path, stamp)
    os.makedirs(data_dir)
    os.chmod(data_dir, 0o755)
    os.chown(data_dir, 0, dir_gid)
    tops = set()
    for rel, (content, mode) in files.items():
        dest = os.path.join(data_dir, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(content)
        os.chown(dest, uid, gid)
        os.chmod(dest, mode)
        tops.add(rel.split("/")[0])
    os.symlink(stamp, os.path.join(path, "..data"))
    for top in tops:
        os.symlink(os.path.join("..data", top), os.path.join(path, top))


class Kubelet:
    """Runs pods of one namespace against a FakeCluster (cluster.py)."""

    def __init__(self, cluster, work_dir, images, hosts, ca_bundle, log):
        self.cluster = cluster
        self.work = work_dir
        self.images = images
        self.hosts = hosts  # text of /etc/hosts inside the containers
        self.ca_bundle = ca_bundle  # system CA bundle + the test CA
        self.log = log
        self.pod_seq = 0
        self._etc_layer = None

    # ---- admission -------------------------------------------------------
    def validate(self, ns, pod_spec, what):
        volumes = {}
        for v in pod_spec.get("volumes", []):
            if v["name"] in volumes:
                raise PodError(f"{what}: spec.volumes: Duplicate value: {v['name']!r}")
            volumes[v["name"]] = v
        names = set()
        for c in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
            if c["name"] in names or not _DNS_LABEL.match(c["name"]):
                raise PodError(f"{what}: container name {c['name']!r} is invalid or repeated")
            names.add(c["name"])
            paths = set()
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes:
                    raise PodError(f"{what}: containers[{c['name']}].volumeMounts.name: "
                                   f"Not found: {m['name']!r}")
                if m["mountPath"] in paths:
                    raise PodError(f"{what}: containers[{c['name']}].volumeMounts.mountPath: "
                                   f"must be unique: {m['mountPath']!r}")
                paths.add(m["mountPath"])
            for e in c.get("env", []):
                if not _ENV_NAME.match(e["name"]):
                    raise PodError(f"{what}: env name {e['name']!r} is invalid")
        sa = pod_spec.get("serviceAccountName", "default")
        if sa != "default" and not self.cluster.call("serviceaccount", ns=ns, name=sa)["exists"]:
            raise PodError(f"{what}: error looking up service account {ns}/{sa}: "
                           f"serviceaccount \"{sa}\" not found")
        return volumes

    # ---- volumes ---------------------------------------------------------
    def _automount(self, ns, pod_spec):
        sa = pod_spec.get("serviceAccountName", "default")
        if "automountServiceAccountToken" in pod_spec:
            return bool(pod_spec["automountServiceAccountToken"])
        return self.cluster.sa_automount.get((ns, sa), True)

    def _owner(self, pod_spec):
        """uid/gid the kubelet gives token files: the one runAsUser if all containers share it."""
        psc = pod_spec.get("securityContext") or {}
        uids = set()
        for c in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
            csc = c.get("securityContext") or {}
            uids.add(csc.get("runAsUser", psc.get("runAsUser")))
        fs_group = psc.get("fsGroup")
        if len(uids) == 1 and None not in uids:
            return int(uids.pop()), int(fs_group) if fs_group is not None else 0, 0o600
        if fs_group is not None:
            return 0, int(fs_group), 0o640
        return 0, 0, 0o644

    def _keyed_files(self, kind, ns, src, default_mode, fs_group, what):
        name = src.get("name") or src.get("secretName")
        optional = src.get("optional", False)
        got = self.cluster.call("secret" if kind == "Secret" else "configmap", ns=ns, name=name)
        if not got["exists"]:
            if optional:
                return {}
            raise PodError(f"{what}: MountVolume.SetUp failed: {kind.lower()} \"{name}\" not found")
        data = got["data"]
        mode_default = src.get("defaultMode", default_mode)
        files = {}
        if "items" in src:
            for item in src["items"]:
                if item["key"] not in data:
                    if optional:
                        continue
                    raise PodError(f"{what}: MountVolume.SetUp failed: configmap/secret "
                                   f"{name}: references non-existent key {item['key']}")
                files[item["path"]] = (data[item["key"]].encode(), item.get("mode", mode_default))
        else:
            for k, v in data.items():
                files[k] = (v.encode(), mode_default)
        if fs_group is not None:  # SetVolumeOwnership on a read-only volume: group read
            files = {k: (v, m | 0o440) for k, (v, m) in files.items()}
        return files

    def _token_files(self, ns, pod_spec, path="token"):
        sa = pod_spec.get("serviceAccountName", "default")
        token = self.cluster.call("token", ns=ns, sa=sa)["token"]
        uid, gid, mode = self._owner(pod_spec)
        return {path: (token.encode(), mode)}, uid, gid

    def make_volumes(self, ns, pod_name, pod_spec, pod_dir, volumes, what):
        psc = pod_spec.get("securityContext") or {}
        fs_group = psc.get("fsGroup")
        gid = int(fs_group) if fs_group is not None else 0
        out = {}
        for name, v in volumes.items():
            path = os.path.join(pod_dir, "volumes", name)
            if "emptyDir" in v:
                os.makedirs(path)
                os.chown(path, 0, gid)
                os.chmod(path, 0o2777 if fs_group is not None else 0o777)
                out[name] = (path, False)
            elif "secret" in v or "configMap" in v:
                kind = "Secret" if "secret" in v else "ConfigMap"
                src = v.get("secret") or v.get("configMap")
                files = self._keyed_files(kind, ns, src, 0o644, fs_group, what)
                write_atomic_volume(path, files, 0, gid, gid)
                out[name] = (path, True)
            elif "projected" in v:
                files = {}
                uid = 0
                default_mode = v["projected"].get("defaultMode", 0o644)
                for s in v["projected"].get("sources", []):
                    if "serviceAccountToken" in s:
                        tok, uid, gid_t = self._token_files(ns, pod_spec, s["serviceAccountToken"]["path"])
                        files.update(tok)
                    elif "secret" in s or "configMap" in s:
                        kind = "Secret" if "secret" in s else "ConfigMap"
                        files.update(self._keyed_files(kind, ns, s.get("secret") or s.get("configMap"),
                                                       default_mode, fs_group, what))
                    elif "downwardAPI" in s:
                        for item in s["downwardAPI"]["items"]:
                            val = self.field_ref(ns, pod_name, pod_spec, item["fieldRef"]["fieldPath"], what)
                            files[item["path"]] = (val.encode(), item.get("mode", default_mode))
                    else:
                        raise PodError(f"{what}: projected source {list(s)} is not modelled")
                write_atomic_volume(path, files, uid, gid, gid)
                out[name] = (path, True)
            elif "image" in v:
                image = find_image(self.images, v["image"]["reference"])
                if image.layer is None:
                    raise PodError(f"{what}: image volume {name}: the stand-in image has no layer")
                out[name] = (image.layer, True)
            else:
                raise PodError(f"{what}: volume {name}: type {list(v)} is not modelled")
        if self._automount(ns, pod_spec):
            path = os.path.join(pod_dir, "volumes", "kube-api-access")
            files, uid, _ = self._token_files(ns, pod_spec)
            files["ca.crt"] = (self.cluster.ca_pem.encode(), 0o644)
            files["namespace"] = (ns.encode(), 0o644)
            write_atomic_volume(path, files, uid, gid, gid)
            out["(kube-api-access)"] = (path, True)
        return out

    def field_ref(self, ns, pod_name, pod_spec, field, what):
        values = {
            "metadata.namespace": ns,
            "metadata.name": pod_name,
            "spec.serviceAccountName": pod_spec.get("serviceAccountName", "default"),
            "spec.nodeName": "pods-runner",
            "status.podIP": "127.0.0.1",
            "status.hostIP": "127.0.0.1",
        }
        if field not in values:
            raise PodError(f"{what}: fieldRef {field!r} is not supported")
        return values[field]

    # ---- env -------------------------------------------------------------
    def container_env(self, ns, pod_name, pod_spec, c, image, what):
        env = dict(image.env)
        env["HOSTNAME"] = pod_name
        env.setdefault("HOME", "/")
        service = {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                   "KUBERNETES_SERVICE_PORT": str(self.cluster.api_port),
                   "KUBERNETES_SERVICE_PORT_HTTPS": str(self.cluster.api_port),
                   "KUBERNETES_PORT": f"tcp://127.0.0.1:{self.cluster.api_port}"}
        env.update(service)
        for ef in c.get("envFrom", []):
            prefix = ef.get("prefix", "")
            ref = ef.get("secretRef") or ef.get("configMapRef")
            kind = "secret" if "secretRef" in ef else "configmap"
            got = self.cluster.call(kind, ns=ns, name=ref["name"])
            if not got["exists"] and not ref.get("optional", False):
                raise PodError(f"{what}: CreateContainerConfigError: {kind} \"{ref['name']}\" not found")
            for k, v in got["data"].items():
                env[prefix + k] = v
        for e in c.get("env", []):
            name = e["name"]
            if "valueFrom" not in e:
                env[name] = expand(e.get("value", ""), env)
                continue
            vf = e["valueFrom"]
            if "fieldRef" in vf:
                env[name] = self.field_ref(ns, pod_name, pod_spec, vf["fieldRef"]["fieldPath"], what)
            elif "secretKeyRef" in vf or "configMapKeyRef" in vf:
                kind = "secret" if "secretKeyRef" in vf else "configmap"
                ref = vf.get("secretKeyRef") or vf.get("configMapKeyRef")
                got = self.cluster.call(kind, ns=ns, name=ref["name"])
                if ref["key"] in got["data"]:
                    env[name] = got["data"][ref["key"]]
                elif not ref.get("optional", False):
                    raise PodError(f"{what}: CreateContainerConfigError: couldn't find key "
                                   f"{ref['key']} in {kind.capitalize()} {ns}/{ref['name']}")
            elif "resourceFieldRef" in vf:
                env[name] = "0"
            else:
                raise PodError(f"{what}: env {name}: valueFrom {list(vf)} is not modelled")
        return env

    # ---- one container ---------------------------------------------------
    def etc_layer(self):
        """/etc additions for every container: the cluster's names, the CA bundle."""
        if self._etc_layer is None:
            layer = os.path.join(self.work, "etc-layer")
            os.makedirs(os.path.join(layer, "etc/ssl/certs"))
            with open(os.path.join(layer, "etc/hosts"), "w") as f:
                f.write(self.hosts)
            shutil.copy(self.ca_bundle, os.path.join(layer, "etc/ssl/certs/ca-certificates.crt"))
            self._etc_layer = layer
        return self._etc_layer

    def start_container(self, pod_dir, c, image, env, sec, mounts, workdir, command):
        """Starts one container: returns (Popen, log path). mounts: [(src, path, ro)]."""
        cdir = tempfile.mkdtemp(prefix=c["name"] + ".", dir=pod_dir)
        root, ovl = os.path.join(cdir, "root"), os.path.join(cdir, "ovl")
        os.makedirs(root)
        os.makedirs(ovl)
        sh = ["set -eu", "M=/usr/bin/mount; D=/usr/bin/mkdir",
              f"$M -t tmpfs -o mode=755 rootfs {q(root)}", f"$M -t tmpfs ovl {q(ovl)}"]
        layer = image.layer
        tops = {"usr": ["/usr"], "etc": [os.path.join(self.etc_layer(), "etc"), "/etc"]}
        if layer:
            for t in sorted(os.listdir(layer)):
                tops.setdefault(t, [])
                tops[t].insert(0, os.path.join(layer, t))
        for t, lowers in sorted(tops.items()):
            sh += [f"$D -p {q(ovl)}/{t}/u {q(ovl)}/{t}/w {q(root)}/{t}",
                   f"$M -t overlay overlay -o lowerdir={':'.join(lowers)},upperdir={q(ovl)}/{t}/u,"
                   f"workdir={q(ovl)}/{t}/w {q(root)}/{t}"]
        for link, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"),
                             ("lib64", "usr/lib64")):
            if link not in tops:
                sh.append(f"/usr/bin/ln -s {target} {q(root)}/{link}")
        sh += [f"$D -p {q(root)}/proc {q(root)}/dev {q(root)}/tmp {q(root)}/run {q(root)}/var",
               f"/usr/bin/chmod 1777 {q(root)}/tmp",
               f"$M -t proc proc {q(root)}/proc",
               # /dev as a runtime makes it: a tmpfs with the usual devices.
               f"$M -t tmpfs -o mode=755,nosuid dev {q(root)}/dev"]
        for dev in ("null", "zero", "full", "random", "urandom", "tty"):
            sh += [f": > {q(root)}/dev/{dev}", f"$M --bind /dev/{dev} {q(root)}/dev/{dev}"]
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            sh.append(f"/usr/bin/ln -s {target} {q(root)}/dev/{name}")
        sh += [f"$D {q(root)}/dev/shm", f"$M -t tmpfs -o mode=1777 shm {q(root)}/dev/shm"]
        # The kubelet's terminationMessagePath (default /dev/termination-log):
        # a file the container may write, read back when it ended.
        term = os.path.join(cdir, "termination-log")
        open(term, "w").close()
        os.chmod(term, 0o666)
        path = c.get("terminationMessagePath", "/dev/termination-log")
        sh += [f": > {q(root + path)}", f"$M --bind {q(term)} {q(root + path)}"]
        for src, path, ro in mounts:
            dst = root + path
            if os.path.isdir(src):
                sh.append(f"[ -e {q(dst)} ] || $D -p {q(dst)}")
            else:  # a file mount (compose secrets, subPath files)
                sh.append(f"[ -e {q(dst)} ] || {{ $D -p {q(os.path.dirname(dst))}; : > {q(dst)}; }}")
            sh.append(f"$M --bind {q(src)} {q(dst)}")
            if ro:
                sh.append(f"$M -o remount,bind,ro {q(dst)}")
        if sec["read_only_root"]:
            sh.append(f"$M -o remount,ro {q(root)}")
            for t in tops:
                sh.append(f"$M -o remount,ro {q(root)}/{t}")
        priv = [f"--reuid={sec['uid']}", f"--regid={sec['gid']}"]
        priv.append("--groups=" + ",".join(map(str, sec["groups"])) if sec["groups"] else "--clear-groups")
        if sec["no_new_privs"]:
            priv.append("--no-new-privs")
        if "ALL" in sec["drop"]:
            keep = ",".join("+" + a.lower() for a in sec["add"])
            caps = "-all" + ("," + keep if keep else "")
            priv += [f"--inh-caps={caps}", f"--bounding-set={caps}"]
        sh.append(f"exec /usr/sbin/chroot {q(root)} /usr/bin/setpriv {' '.join(priv)} -- "
                  f"/usr/bin/env --chdir={q(workdir)} -- \"$@\"")
        script = os.path.join(cdir, "start.sh")
        with open(script, "w") as f:
            f.write("\n".join(sh) + "\n")
        log_path = os.path.join(cdir, "log")
        logf = open(log_path, "wb")
        proc = subprocess.Popen(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", script]
                                + command, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        return proc, log_path, term

    def prepare_container(self, ns, pod_name, pod_spec, c, vols, what):
        image = find_image(self.images, c["image"])
        sec = security(pod_spec, c, image)
        env = self.container_env(ns, pod_name, pod_spec, c, image, what)
        mounts = []
        for m in c.get("volumeMounts", []):
            src, always_ro = vols[m["name"]]
            if m.get("subPath"):
                src = os.path.join(src, expand(m["subPath"], env))
                if not os.path.exists(src):
                    if always_ro:
                        raise PodError(f"{what}: subPath {m['subPath']} does not exist in volume {m['name']}")
                    os.makedirs(src)
            mounts.append((src, m["mountPath"], always_ro or m.get("readOnly", False)))
        if "(kube-api-access)" in vols:
            mounts.append((vols["(kube-api-access)"][0], "/var/run/secrets/kubernetes.io/serviceaccount", True))
        command = [expand(a, env) for a in c.get("command", []) + c.get("args", [])]
        return image, sec, env, mounts, command

    # ---- a pod -------------------------------------------------------------
    def run_pod(self, ns, pod_spec, what, main_hook=None, timeout=120, on_pod=None):
        """Runs a pod to completion: init containers in order, then the main
        containers together. main_hook(pod) replaces running long-running main
        containers (Deployments) and may inspect the pod. Returns the Pod."""
        volumes = self.validate(ns, pod_spec, what)
        self.pod_seq += 1
        pod_name = f"{what.split('/')[-1]}-{self.pod_seq:05d}"
        pod_dir = os.path.join(self.work, "pods", pod_name)
        os.makedirs(pod_dir)
        os.chmod(pod_dir, 0o755)
        vols = self.make_volumes(ns, pod_name, pod_spec, pod_dir, volumes, what)
        pod = Pod(self, ns, pod_name, pod_spec, pod_dir, vols, what)
        if on_pod:
            on_pod(pod)
        for c in pod_spec.get("initContainers", []):
            code = pod.run(c, timeout)
            if code != 0:
                raise PodError(f"{what}: init container {c['name']} exited {code}: Message: "
                               f"{pod.messages[c['name']]}")
        if main_hook:
            main_hook(pod)
            return pod
        procs = [(c, pod.start(c)) for c in pod_spec["containers"]]
        for c, started in procs:
            code = pod.wait(c, started, timeout)
            if code != 0:
                raise PodError(f"{what}: container {c['name']} exited {code}: Message: "
                               f"{pod.messages[c['name']]}")
        return pod


def termination_message(c, term, logs, code):
    """The kubelet's rule: the file's content (4096 bytes at most); with
    FallbackToLogsOnError and an empty file on a failure, the log tail (80
    lines, 2048 bytes)."""
    with open(term, "rb") as f:
        msg = f.read(4096).decode(errors="replace").strip()
    if not msg and code != 0 and c.get("terminationMessagePolicy") == "FallbackToLogsOnError":
        msg = "\n".join(logs.splitlines()[-80:])[-2048:]
    return msg


def q(s):
    return shlex.quote(str(s))


class Pod:
    def __init__(self, kubelet, ns, name, spec, pod_dir, vols, what):
        self.kubelet, self.ns, self.name, self.spec = kubelet, ns, name, spec
        self.dir, self.vols, self.what = pod_dir, vols, what
        self.logs = {}
        self.messages = {}  # what `kubectl describe pod` shows as Message

    def volume(self, name):
        return self.vols[name][0]

    def start(self, c, command=None):
        k = self.kubelet
        what = f"{self.what} container {c['name']}"
        image, sec, env, mounts, cmd = k.prepare_container(self.ns, self.name, self.spec, c, self.vols, what)
        if command is not None:
            cmd = command
        if not cmd:
            raise PodError(f"{what}: no command (the stand-in image has no entrypoint)")
        if not image.runnable:
            raise PodError(f"{what}: image {c['image']} cannot run here")
        workdir = c.get("workingDir", "/")
        k.log(f"  [{self.what}] {c['name']}: uid {sec['uid']} gid {sec['gid']} groups {sec['groups']}"
              f"{' ro-root' if sec['read_only_root'] else ''}: {' '.join(cmd)[:160]}")
        return k.start_container(self.dir, c, image, env, sec, mounts, workdir, cmd)

    def wait(self, c, started, timeout):
        proc, log_path, term = started
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
            code = 124 if code == 0 else code
        with open(log_path, "rb") as f:
            self.logs[c["name"]] = f.read().decode(errors="replace")
        if code < 0:
            code = 128 - code
        self.messages[c["name"]] = termination_message(c, term, self.logs[c["name"]], code)
        self.kubelet.log(f"  [{self.what}] {c['name']}: exit {code}")
        self.kubelet.log_output(self.logs[c["name"]])
        if code != 0:
            self.kubelet.log(f"  [{self.what}] {c['name']}: Message: {self.messages[c['name']]}")
        return code

    def run(self, c, timeout=120, command=None):
        return self.wait(c, self.start(c, command), timeout)
