#!/usr/bin/env python3
"""Derives the vendored Kubernetes JSON Schemas in schemas/k8s/ from the npm
packages kubernetes-models and @kubernetes-models/apimachinery.

Why derived: no npm or Debian package ships the upstream JSON Schemas
(kubeconform's / yannh's live on GitHub only), but kubernetes-models is
generated from the Kubernetes OpenAPI document and ships, per definition, a
TypeScript declaration (property names, required/optional, enums, references)
and a compiled Ajv validator (which says which numbers are integers). This
script turns those two back into strict JSON Schema (draft-07): unknown fields
are rejected (additionalProperties: false), like `kubeconform -strict`.

It runs only when the schemas are refreshed, never at test time:
  tmp=$(mktemp -d) && cd "$tmp" &&
  npm pack kubernetes-models@5.1.0 @kubernetes-models/apimachinery@3.0.2 &&
  mkdir km am && tar xzf kubernetes-models-5*.tgz -C km &&
  tar xzf kubernetes-models-apimachinery-*.tgz -C am && cd - &&
  k8s-examples/validate/gen_k8s_schemas.py "$tmp/km/package" "$tmp/am/package"
"""
import json
import os
import re
import sys

# The kinds the examples use; each becomes one self-contained schema file.
KINDS = {
    "apps/v1/Deployment": "IIoK8sApiAppsV1Deployment",
    "batch/v1/Job": "IIoK8sApiBatchV1Job",
    "batch/v1/CronJob": "IIoK8sApiBatchV1CronJob",
    "v1/ServiceAccount": "IIoK8sApiCoreV1ServiceAccount",
    "v1/Service": "IIoK8sApiCoreV1Service",
    "v1/ConfigMap": "IIoK8sApiCoreV1ConfigMap",
    "v1/Secret": "IIoK8sApiCoreV1Secret",
    "rbac.authorization.k8s.io/v1/Role": "IIoK8sApiRbacV1Role",
    "rbac.authorization.k8s.io/v1/RoleBinding": "IIoK8sApiRbacV1RoleBinding",
}

# Type aliases of apimachinery that are not interfaces.
ALIASES = {
    "IIoK8sApimachineryPkgUtilIntstrIntOrString": {
        "oneOf": [{"type": "string"}, {"type": "integer"}]},
    "IIoK8sApimachineryPkgApiResourceQuantity": {
        "oneOf": [{"type": "string",
                   "pattern": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
                              r"(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$"},
                  {"type": "number"}]},
    "IIoK8sApimachineryPkgApisMetaV1Time": {"type": "string", "format": "date-time"},
    "IIoK8sApimachineryPkgApisMetaV1MicroTime": {"type": "string", "format": "date-time"},
    "IIoK8sApimachineryPkgApisMetaV1FieldsV1": {"type": "object"},
    "IIoK8sApimachineryPkgRuntimeRawExtension": {"type": "object"},
}

COMMENT = re.compile(r"/\*.*?\*/", re.S)
IFACE = re.compile(r"^export interface (\w+)(?: extends [\w, ]+)? \{\n(.*?)^\}", re.S | re.M)
EXPORT = re.compile(r"export type \{ (\w+) as (IIoK8s\w+)")


def split_props(body):
    """Yields (name, optional, type-text) of an interface body without comments."""
    i, n = 0, len(body)
    while True:
        m = re.compile(r'\s*"([^"]+)"(\?)?:\s*').match(body, i)
        if not m:
            if body[i:].strip():
                raise ValueError("cannot parse interface body near: " + body[i:i + 80])
            return
        j, depth = m.end(), 0
        while j < n:
            c = body[j]
            if c in "<{(":
                depth += 1
            elif c in ">})":
                depth -= 1
            elif c == '"':
                j = body.index('"', j + 1)
            elif c == ";" and depth == 0:
                break
            j += 1
        yield m.group(1), bool(m.group(2)), body[m.end():j].strip()
        i = j + 1


def split_top(text, sep):
    parts, depth, cur, j = [], 0, "", 0
    while j < len(text):
        c = text[j]
        if c == '"':
            k = text.index('"', j + 1)
            cur += text[j:k + 1]
            j = k + 1
            continue
        if c in "<{(":
            depth += 1
        elif c in ">})":
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
        j += 1
    parts.append(cur.strip())
    return parts


def ts_to_schema(t, refs, integer=False):
    t = t.strip()
    alts = split_top(t, "|")
    if len(alts) > 1:
        if all(a.startswith('"') for a in alts):
            return {"type": "string", "enum": [json.loads(a) for a in alts]}
        return {"anyOf": [ts_to_schema(a, refs) for a in alts]}
    if t.startswith('"'):
        return {"type": "string", "enum": [json.loads(t)]}
    if t.startswith("Array<") and t.endswith(">"):
        return {"type": "array", "items": ts_to_schema(t[6:-1], refs, integer)}
    m = re.fullmatch(r"\{\s*\[key: string\]:\s*(.*?);?\s*\}", t, re.S)
    if m:
        return {"type": "object", "additionalProperties": ts_to_schema(m.group(1), refs)}
    if t == "string":
        return {"type": "string"}
    if t == "number":
        return {"type": "integer" if integer else "number"}
    if t == "boolean":
        return {"type": "boolean"}
    if t in ("any", "unknown", "object", "{}"):
        return {}
    if re.fullmatch(r"IIoK8s\w+", t):
        refs.add(t)
        return {"$ref": "#/definitions/" + t}
    raise ValueError("unsupported TypeScript type: " + t)


def integer_props(js):
    """Property names whose compiled Ajv validator checks type integer."""
    root = re.search(r"export const validate=(validate\d+)", js).group(1)
    funcs = re.split(r"(?=function validate\d+\()", js)
    ints = set()
    for f in funcs:
        m = re.match(r"function (validate\d+)\(", f)
        if m and m.group(1) != root and 'params:{type:"integer"}' in f:
            ints.add(m.group(1))
    props = set()
    for m in re.finditer(r"(validate\d+)\(data\.(\w+)", js):
        if m.group(1) in ints:
            props.add(m.group(2))
    for m in re.finditer(r'(validate\d+)\(data\["([^"]+)"\]', js):
        if m.group(1) in ints:
            props.add(m.group(2))
    # Integer checks inlined into validate0 itself name the property in schemaPath.
    for m in re.finditer(r'schemaPath:"#/properties/([^/"]+)/(?:items/)?type",keyword:"type",params:\{type:"integer"\}', js):
        props.add(m.group(1))
    return props


def load(dirs):
    ifaces = {}
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in files:
                if not f.endswith(".d.ts") or "_schemas" in root:
                    continue
                text = open(os.path.join(root, f), encoding="utf-8").read()
                exports = dict(EXPORT.findall(text))
                for m in IFACE.finditer(text):
                    full = exports.get(m.group(1))
                    if not full:
                        continue
                    js_path = os.path.join(d, "_schemas", full[1:] + ".js")
                    ints = integer_props(open(js_path).read()) if os.path.exists(js_path) else set()
                    ifaces[full] = (list(split_props(COMMENT.sub("", m.group(2)))), ints)
    return ifaces


def definition(name, ifaces, refs):
    if name in ALIASES:
        return ALIASES[name]
    props, ints = ifaces[name]
    schema = {"type": "object", "properties": {}, "additionalProperties": False}
    required = []
    for pname, optional, ptype in props:
        s = ts_to_schema(ptype, refs, pname in ints)
        if optional:
            # The API server treats an explicit null like an absent field.
            s = {"anyOf": [s, {"type": "null"}]}
        else:
            required.append(pname)
        schema["properties"][pname] = s
    if required:
        schema["required"] = required
    return schema


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_k8s_schemas.py KUBERNETES_MODELS_DIR APIMACHINERY_DIR")
    km, am = sys.argv[1], sys.argv[2]
    version = json.load(open(os.path.join(km, "package.json")))["version"]
    ifaces = load([km, am])
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", "k8s")
    os.makedirs(out, exist_ok=True)
    for gvk, root in KINDS.items():
        defs, todo = {}, [root]
        while todo:
            n = todo.pop()
            if n in defs:
                continue
            refs = set()
            defs[n] = definition(n, ifaces, refs)
            todo.extend(sorted(refs - defs.keys()))
        schema = {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$comment": "Derived by gen_k8s_schemas.py from kubernetes-models@%s; do not edit." % version,
            "$ref": "#/definitions/" + root,
            "definitions": dict(sorted(defs.items())),
        }
        fname = gvk.replace("/", "_").replace(".", "-") + ".json"
        with open(os.path.join(out, fname), "w") as f:
            json.dump(schema, f, indent=1, sort_keys=False)
            f.write("\n")
        print("%-45s %4d definitions" % (fname, len(defs)))


if __name__ == "__main__":
    main()
