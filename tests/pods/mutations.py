#!/usr/bin/python3
"""Mutation tries: each breaks one thing in a copy of k8s-examples/ (an RBAC
rule removed, an env var or a volume mount misspelt, ...) and runs the
scenario that covers it; every one must fail. Not part of `make test` (about
15 s per try); run it after changing the runner or the examples:

  sudo /usr/bin/python3 tests/pods/mutations.py --bin-dir build-asan/bin \\
      --fake build-asan/bin/pods_cluster_fake [NAME...]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "k8s-examples")

# name: (scenario, file, old text, new text)
MUTATIONS = {
    # RBAC rules removed or narrowed
    "gate-role-no-rule": ("argocd", "cronjob.yaml",
                          "rules:\n  - apiGroups: [apps]\n    resources: [deployments]\n"
                          "    resourceNames: [shop-web]\n    verbs: [get]\n", "rules: []\n"),
    "gate-binding-wrong-subject": ("argocd", "cronjob.yaml",
                                   "subjects:\n  - kind: ServiceAccount\n    name: shop-cron\n",
                                   "subjects:\n  - kind: ServiceAccount\n    name: shop-crn\n"),
    "secrets-role-no-create": ("argocd", "argocd/secrets-sync.yaml",
                               "  - apiGroups: [\"\"]\n    resources: [secrets]\n    verbs: [create]\n", ""),
    "secrets-role-no-update": ("argocd", "argocd/secrets-sync.yaml", "verbs: [get, update]", "verbs: [get]"),
    "secrets-role-no-keycloak-name": ("argocd", "argocd/secrets-sync.yaml",
                                      "resourceNames: [shop-secrets, shop-secrets-keycloak]",
                                      "resourceNames: [shop-secrets]"),
    "secrets-role-no-deployment-patch": ("argocd", "argocd/secrets-sync.yaml",
                                         "resourceNames: [shop-web]\n    verbs: [get, patch]",
                                         "resourceNames: [shop-web]\n    verbs: [get]"),
    "secrets-sync-no-restart": ("argocd", "argocd/secrets-sync.yaml",
                                ",\n                    \"--restart=deployment/shop-web\"]", "]"),
    "teardown-role-no-delete": ("argocd", "argocd/secrets-teardown.yaml", "verbs: [get, delete]", "verbs: [get]"),
    # env vars misspelt
    "deployment-env-password-file": ("argocd", "deployment.yaml",
                                     "{name: INITKIT_DB_PASSWORD_FILE,", "{name: INITKIT_DB_PASSWROD_FILE,"),
    "deployment-secretkeyref-key": ("argocd", "deployment.yaml",
                                    "key: APP_ENCRYPTION_KEY}", "key: APP_ENCRYPTON_KEY}"),
    "php-fpm-env-name": ("argocd", "deployment.yaml",
                         "- name: APP_DB_DEFAULT_PWD\n              valueFrom",
                         "- name: APP_DB_DEFAULT_PASSWORD\n              valueFrom"),
    "cron-env-namespace": ("argocd", "cronjob.yaml", "- name: POD_NAMESPACE", "- name: POD_NAMSPACE"),
    "secrets-env-keycloak-url": ("argocd", "argocd/secrets-sync.yaml",
                                 "{name: INITKIT_KEYCLOAK_URL,", "{name: INITKIT_KEYCLOAK_URI,"),
    "presync-env-db-host": ("argocd", "argocd/migrate-presync.yaml",
                            "{name: INITKIT_DB_HOST, value: mariadb-maxscale}",
                            "{name: INITKIT_DB_HOTS, value: mariadb-maxscale}"),
    "compose-php-fpm-file-var": ("compose", "compose/compose.yaml",
                                 "APP_ENCRYPTION_KEY_FILE: /run/secrets/app_encryption_key",
                                 "APP_ENCRYPTION_KEYFILE: /run/secrets/app_encryption_key"),
    "helm-env-password-file": ("helm", "helm/initkit-migrate/templates/migrate-job.yaml",
                               "{name: INITKIT_DB_PASSWORD_FILE,", "{name: INITKIT_DB_PASSWORDFILE,"),
    # volume mounts misspelt
    "deployment-mount-secret-path": ("argocd", "deployment.yaml",
                                     "{name: app-secrets, mountPath: /run/secrets/app, readOnly: true}\n"
                                     "            - {name: tmp",
                                     "{name: app-secrets, mountPath: /run/secret/app, readOnly: true}\n"
                                     "            - {name: tmp"),
    "deployment-mount-name": ("argocd", "deployment.yaml", "{name: nginx-conf, mountPath",
                              "{name: nginx-cnf, mountPath"),
    "php-ini-mount-path": ("argocd", "deployment.yaml", "mountPath: /usr/local/etc/php/conf.d/zz-preload.ini",
                           "mountPath: /usr/local/etc/php/conf/zz-preload.ini"),
    "cron-token-mount-path": ("argocd", "cronjob.yaml",
                              "mountPath: /var/run/secrets/kubernetes.io/serviceaccount",
                              "mountPath: /var/run/secrets/kubernetes.io/serviceacount"),
    "image-volume-subpath": ("image-volume", "deployment-image-volume.yaml",
                             "{name: app-src, mountPath: /var/www/html, subPath: usr/local/app, readOnly: true}\n"
                             "            - {name: storage, mountPath: /var/www/html/storage}\n"
                             "            - {name: app-secrets",
                             "{name: app-src, mountPath: /var/www/html, subPath: usr/local/ap, readOnly: true}\n"
                             "            - {name: storage, mountPath: /var/www/html/storage}\n"
                             "            - {name: app-secrets"),
    "helm-storage-mount": ("helm", "helm/initkit-migrate/templates/migrate-job.yaml",
                           "mountPath: /var/www/html/storage}", "mountPath: /var/www/html/storag}"),
    "compose-secret-target": ("compose", "compose/compose.yaml",
                              "INITKIT_DB_PASSWORD_FILE: /run/secrets/app_db_password",
                              "INITKIT_DB_PASSWORD_FILE: /run/secrets/app_db_pasword"),
    "compose-preload-ini-path": ("compose", "compose/compose.yaml", "/usr/local/etc/php/conf.d/zz-preload.ini",
                                 "/usr/local/etc/php/zz-preload.ini"),
    # security contexts
    "secrets-no-fsgroup": ("argocd", "argocd/secrets-sync.yaml", "        fsGroup: 65532\n", ""),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--fake", required=True)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    names = args.names or list(MUTATIONS)
    caught = 0
    for name in names:
        scenario, rel, old, new = MUTATIONS[name]
        work = tempfile.mkdtemp(prefix="mutation-")
        copy = os.path.join(work, "k8s-examples")
        shutil.copytree(EXAMPLES, copy)
        path = os.path.join(copy, rel)
        with open(path) as f:
            text = f.read()
        if old not in text:
            print(f"STALE   {name}: {rel} no longer contains the text to change")
            shutil.rmtree(work)
            continue
        with open(path, "w") as f:
            f.write(text.replace(old, new, 1))
        r = subprocess.run([sys.executable, os.path.join(HERE, "podrunner.py"), scenario, "--bin-dir",
                            args.bin_dir, "--fake", args.fake, "--examples", copy],
                           capture_output=True, text=True)
        reason = (r.stderr.strip().splitlines() or ["?"])[-1][:200] if r.returncode else ""
        if r.returncode not in (0, 77):
            caught += 1
            print(f"caught  {name} ({scenario}): {reason}")
        else:
            print(f"MISSED  {name} ({scenario}): the scenario passed")
        shutil.rmtree(work)
    print(f"{caught}/{len(names)} mutations made a scenario fail")
    return 0 if caught == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
