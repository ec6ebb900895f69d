#!/usr/bin/env python3
"""Runs secrets specs through docs/secrets-spec.schema.json and initkit-secrets.

Usage: spec_schema_check.py SOURCE_DIR BINARY WORK_DIR

Collects every spec the repository ships (tools/secrets/examples/*.json,
k8s-examples/compose/initkit-secrets.json, and any JSON value of a ConfigMap in
k8s-examples/**/*.yaml that looks like a spec) and every case of
tests/secrets/rejected_specs.json. For each it prints one JSON line:
{"name", "expect" (accept|reject), "schema_ok", "schema_error", "tool_exit",
"schema_cannot"}. The tool's verdict is `initkit-secrets plan --spec FILE
--target dir:WORK_DIR/empty` (0 accepted, 2 refused)."""
import glob
import json
import os
import subprocess
import sys

import jsonschema
import yaml

SPEC_FIELDS = {"once", "rotate", "alternating-users", "keycloak"}


def manifest_specs(root):
    for path in sorted(glob.glob(os.path.join(root, "k8s-examples", "**", "*.yaml"), recursive=True)):
        if "/validate/testdata/" in path or "/templates/" in path:
            continue  # rejected fixtures of the validator; Helm templates are not YAML
        try:
            docs = list(yaml.safe_load_all(open(path)))
        except yaml.YAMLError:
            continue
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "ConfigMap":
                continue
            for key, value in (doc.get("data") or {}).items():
                try:
                    spec = json.loads(value)
                except (TypeError, ValueError):
                    continue
                if isinstance(spec, dict) and SPEC_FIELDS & set(spec):
                    yield "%s: ConfigMap %s key %s" % (os.path.relpath(path, root),
                                                        doc["metadata"]["name"], key), value


def main():
    root, binary, work = sys.argv[1:4]
    schema = json.load(open(os.path.join(root, "docs", "secrets-spec.schema.json")))
    validator = jsonschema.Draft7Validator(schema)
    items = []
    for path in sorted(glob.glob(os.path.join(root, "tools", "secrets", "examples", "*.json"))) + [
            os.path.join(root, "k8s-examples", "compose", "initkit-secrets.json")]:
        items.append((os.path.relpath(path, root), open(path).read(), "accept", None))
    for name, text in manifest_specs(root):
        items.append((name, text, "accept", None))
    cases = json.load(open(os.path.join(root, "tests", "secrets", "rejected_specs.json")))["cases"]
    for c in cases:
        items.append(("rejected case: " + c["name"], c["text"], "reject", c.get("schema_cannot")))
    os.makedirs(os.path.join(work, "empty"), exist_ok=True)
    for i, (name, text, expect, cannot) in enumerate(items):
        try:
            errors = sorted(validator.iter_errors(json.loads(text)), key=lambda e: list(e.path))
            schema_error = errors[0].message[:200] if errors else ""
        except ValueError as e:
            schema_error = "not JSON: %s" % e
        spec_file = os.path.join(work, "spec-%d.json" % i)
        with open(spec_file, "w") as f:
            f.write(text)
        run = subprocess.run([binary, "plan", "--spec", spec_file, "--target",
                              "dir:" + os.path.join(work, "empty")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={"PATH": os.environ.get("PATH", "")})
        print(json.dumps({"name": name, "expect": expect, "schema_ok": not schema_error,
                          "schema_error": schema_error, "tool_exit": run.returncode,
                          "schema_cannot": cannot}))


if __name__ == "__main__":
    main()
