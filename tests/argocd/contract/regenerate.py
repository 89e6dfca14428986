"""Regenerate the Argo CD contract excerpts from the upstream files (run by hand, not by pytest).

    python -m tests.argocd.contract.regenerate /path/to/argo-cd-v3.5.1

reads `assets/swagger.json` and `manifests/crds/application-crd.yaml` of argoproj/argo-cd v3.5.1
(Apache-2.0; commit 109ca7ca71139e514114499d294a492e7910a965) — or a folder holding those two files
as `swagger.json` and `application-crd.yaml` — and writes:

- tests/argocd/contract/swagger-excerpt.json: the paths and methods the client calls and every
  definition they reference, unchanged;
- schemas/crds/argocd-application.schema.json: the Application fields knobless renders, cut from
  the CRD's openAPIV3Schema (types, required, descriptions unchanged) and closed with
  `additionalProperties: false`, because the API server silently prunes unknown fields (and Argo
  CD then reports a perpetual diff).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.render.contract.crd_subset import DNS_SUBDOMAIN, KEEP, LABEL_KEY, LABEL_VALUE, cut

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
UPSTREAM = "argoproj/argo-cd v3.5.1 (commit 109ca7ca71139e514114499d294a492e7910a965), Apache-2.0"

USED_OPERATIONS: dict[str, tuple[str, ...]] = {
    "/api/v1/session": ("post",),
    "/api/v1/applications": ("get",),
    "/api/v1/applications/{name}": ("get",),
    "/api/v1/applications/{name}/sync": ("post",),
    "/api/v1/applications/{name}/rollback": ("post",),
    "/api/v1/applications/{name}/operation": ("delete",),
    "/api/v1/applications/{applicationName}/managed-resources": ("get",),
}

SUBSET: dict[str, Any] = {
    "project": KEEP,
    "source": {
        "repoURL": KEEP,
        "targetRevision": KEEP,
        "path": KEEP,
        "directory": {"recurse": KEEP, "include": KEEP, "exclude": KEEP},
    },
    "destination": KEEP,
    "syncPolicy": {
        "automated": KEEP,
        "syncOptions": KEEP,
        "retry": KEEP,
        "managedNamespaceMetadata": KEEP,
    },
    "ignoreDifferences": KEEP,
    "revisionHistoryLimit": KEEP,
}


def swagger_excerpt(swagger: dict[str, Any]) -> dict[str, Any]:
    paths = {
        path: {method: swagger["paths"][path][method] for method in methods}
        for path, methods in USED_OPERATIONS.items()
    }
    definitions = swagger["definitions"]
    wanted: set[str] = set()
    pending = re.findall(r"#/definitions/([\w.]+)", json.dumps(paths))
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(re.findall(r"#/definitions/([\w.]+)", json.dumps(definitions[name])))
    return {
        "x-provenance": f"Trimmed excerpt of assets/swagger.json of {UPSTREAM}: only the "
        "operations knobless calls and the definitions they reference, unchanged.",
        "swagger": swagger["swagger"],
        "info": swagger["info"],
        "consumes": swagger["consumes"],
        "produces": swagger["produces"],
        "paths": paths,
        "definitions": {name: definitions[name] for name in sorted(wanted)},
    }


def application_schema(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    root = version["schema"]["openAPIV3Schema"]
    spec = cut(root["properties"]["spec"], SUBSET)
    # Argo CD's own validation, not in the CRD: exactly one of server or name.
    spec["properties"]["destination"]["oneOf"] = [{"required": ["server"]}, {"required": ["name"]}]
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": f"The subset of the Application CRD knobless renders, cut from "
        f"manifests/crds/application-crd.yaml of {UPSTREAM} by "
        "tests/argocd/contract/regenerate.py. metadata follows Kubernetes ObjectMeta.",
        "title": "Argo CD Application (knobless subset)",
        "x-knobless-kind": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"},
        "description": root["description"],
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": f"{crd['spec']['group']}/{version['name']}"},
            "kind": {"const": crd["spec"]["names"]["kind"]},
            "metadata": {
                "type": "object",
                "required": ["name", "namespace"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
                    "namespace": {"type": "string", "maxLength": 63, "pattern": DNS_SUBDOMAIN},
                    "labels": {
                        "type": "object",
                        "propertyNames": {"pattern": LABEL_KEY, "maxLength": 317},
                        "additionalProperties": {
                            "type": "string",
                            "maxLength": 63,
                            "pattern": LABEL_VALUE,
                        },
                    },
                    "annotations": {**string_map, "propertyNames": {"pattern": LABEL_KEY}},
                    "finalizers": {
                        "type": "array",
                        "items": {
                            "enum": [
                                "resources-finalizer.argocd.argoproj.io",
                                "resources-finalizer.argocd.argoproj.io/background",
                            ]
                        },
                    },
                },
            },
            "spec": spec,
        },
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1])
    swagger_path = next(
        p for p in (source / "assets/swagger.json", source / "swagger.json") if p.exists()
    )
    crd_path = next(
        p
        for p in (source / "manifests/crds/application-crd.yaml", source / "application-crd.yaml")
        if p.exists()
    )
    swagger = json.loads(swagger_path.read_text())
    crd = yaml.safe_load(crd_path.read_text())
    (HERE / "swagger-excerpt.json").write_text(
        json.dumps(swagger_excerpt(swagger), indent=1) + "\n"
    )
    target = REPO / "schemas/crds/argocd-application.schema.json"
    target.write_text(json.dumps(application_schema(crd), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
