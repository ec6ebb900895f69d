#!/usr/bin/env python3
"""Turns CustomResourceDefinitions into the validator's strict JSON Schemas
(schemas/k8s/<group>_<version>_<Kind>.json, the shape gen_k8s_schemas.py
writes): the CRD's openAPIV3Schema with apiVersion/kind pinned and
`additionalProperties: false` wherever the CRD lists properties (the API
server prunes unknown fields of a structural schema, so a misspelt field
would be silently dropped in a cluster: here it is an error). Descriptions
are dropped. Only to refresh the vendored files, e.g. mariadb-operator's:

  git clone https://github.com/mariadb-operator/mariadb-operator
  gen_crd_schemas.py mariadb-operator/config/crd/bases/k8s.mariadb.com_{users,grants}.yaml

(vendored: commit 8970edf8, mariadb-cluster-26.6.0-56-g8970edf8).
"""
import json
import os
import sys

import yaml

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", "k8s")


def strict(node):
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items()
           if k not in ("description",) and not k.startswith("x-kubernetes-")}
    if "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("x-kubernetes-int-or-string"):
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


def main(paths):
    for p in paths:
        with open(p) as f:
            crd = yaml.safe_load(f)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for v in crd["spec"]["versions"]:
            api = "%s/%s" % (group, v["name"])
            root = strict(v["schema"]["openAPIV3Schema"])
            root["properties"]["apiVersion"] = {"type": "string", "enum": [api]}
            root["properties"]["kind"] = {"type": "string", "enum": [kind]}
            root["properties"]["metadata"] = {"type": "object"}
            root["properties"].pop("status", None)  # written by the operator, not by us
            root["required"] = sorted(set(root.get("required", [])) | {"apiVersion", "kind", "spec"})
            name = "%s_%s_%s" % (group.replace(".", "-"), v["name"], kind)
            schema = {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/" + name,
                      "definitions": {name: root}}
            with open(os.path.join(OUT, name + ".json"), "w") as f:
                json.dump(schema, f, indent=1, sort_keys=True)
                f.write("\n")
            print("wrote", name)


if __name__ == "__main__":
    main(sys.argv[1:])
