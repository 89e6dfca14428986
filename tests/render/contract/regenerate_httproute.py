"""Regenerate schemas/crds/gateway-httproute.schema.json from the Gateway API HTTPRoute CRD.

    python -m tests.render.contract.regenerate_httproute \
        ../shared/reference/gateway-api/gateway.networking.k8s.io_httproutes.yaml

The CRD is kubernetes-sigs/gateway-api v1.6.1, standard channel,
config/crd/standard/gateway.networking.k8s.io_httproutes.yaml (Apache-2.0). We keep the v1 schema
of exactly the fields knobless renders, with every constraint the CRD states (types, patterns,
lengths, enums, ranges, required), close every object (`additionalProperties: false`, stricter
than the API server's pruning, so a typo fails instead of vanishing), and restate as JSON Schema
the CEL rules (`x-kubernetes-validations`) that bear on those fields. The output is committed;
tests use it without the CRD.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.render.contract.crd_subset import METADATA

OUTPUT = Path(__file__).resolve().parents[3] / "schemas" / "crds" / "gateway-httproute.schema.json"
PROVENANCE = (
    "The subset of the HTTPRoute CRD (v1) knobless renders, cut from "
    "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml of kubernetes-sigs/gateway-api "
    "v1.6.1 (commit 8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3), Apache-2.0, by "
    "tests/render/contract/regenerate_httproute.py. CEL rules on these fields are restated as "
    "JSON Schema; metadata follows Kubernetes ObjectMeta."
)

# Which properties of each object we keep (the rest of the CRD is not rendered).
KEEP: dict[str, tuple[str, ...]] = {
    "spec": ("parentRefs", "hostnames", "rules"),
    "spec.parentRefs[]": ("group", "kind", "name", "namespace", "sectionName", "port"),
    "spec.rules[]": ("name", "matches", "filters", "backendRefs", "timeouts"),
    "spec.rules[].matches[]": ("path", "headers"),
    "spec.rules[].matches[].path": ("type", "value"),
    "spec.rules[].matches[].headers[]": ("type", "name", "value"),
    "spec.rules[].filters[]": ("type", "urlRewrite"),
    "spec.rules[].filters[].urlRewrite": ("hostname", "path"),
    "spec.rules[].filters[].urlRewrite.path": ("type", "replaceFullPath", "replacePrefixMatch"),
    "spec.rules[].backendRefs[]": ("group", "kind", "name", "namespace", "port", "weight"),
    "spec.rules[].timeouts": ("request", "backendRequest"),
}
DROP = (
    "description",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
)

# CEL on HTTPPathMatch, for types Exact and PathPrefix: absolute, no '//', '/./', '/../', '%2f',
# '%2F', '#', not ending in '/..' or '/.', and only URL path characters.
_PATH_VALUE_RULES = {
    "if": {"properties": {"type": {"enum": ["Exact", "PathPrefix"]}}},
    "then": {
        "properties": {
            "value": {
                "allOf": [
                    {"pattern": "^/"},
                    {"not": {"pattern": "//|/\\./|/\\.\\./|%2f|%2F|#"}},
                    {"not": {"pattern": "/\\.\\.?$"}},
                    {"pattern": "^(?:[-A-Za-z0-9/._~!\\$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$"},
                ]
            }
        }
    },
}
# CEL on HTTPBackendRef: "Must have port for Service reference" (group "" and kind Service; the
# CRD defaults group to "" and kind to Service).
_BACKEND_PORT_RULE = {
    "if": {
        "properties": {"group": {"const": ""}, "kind": {"const": "Service"}},
    },
    "then": {"required": ["port"]},
}
# CEL on HTTPRouteFilter: the member named by `type` must be set (here: urlRewrite).
_FILTER_RULE = {
    "if": {"properties": {"type": {"const": "URLRewrite"}}, "required": ["type"]},
    "then": {"required": ["urlRewrite"]},
}
# CEL on HTTPPathModifier: the member named by `type` must be set, the other must not.
_PATH_MODIFIER_RULES = [
    {
        "if": {"properties": {"type": {"const": "ReplacePrefixMatch"}}},
        "then": {"required": ["replacePrefixMatch"], "not": {"required": ["replaceFullPath"]}},
    },
    {
        "if": {"properties": {"type": {"const": "ReplaceFullPath"}}},
        "then": {"required": ["replaceFullPath"], "not": {"required": ["replacePrefixMatch"]}},
    },
]
EXTRA_RULES: dict[str, list[dict[str, Any]]] = {
    "spec.rules[].matches[].path": [_PATH_VALUE_RULES],
    "spec.rules[].backendRefs[]": [_BACKEND_PORT_RULE],
    "spec.rules[].filters[]": [_FILTER_RULE],
    "spec.rules[].filters[].urlRewrite.path": _PATH_MODIFIER_RULES,
}


def escape_class_dollars(pattern: str) -> str:
    """`$` inside a character class, escaped: the same regex, but safe for validators (such as
    fastjsonschema) that rewrite every bare `$` into an end-of-string anchor."""
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif char == "$" and in_class:
            out.append("\\")
        out.append(char)
    return "".join(out)


def _strip(node: Any, where: str) -> Any:
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("pattern"), str):
        node = {**node, "pattern": escape_class_dollars(node["pattern"])}
    result = {k: copy.deepcopy(v) for k, v in node.items() if k not in DROP and k != "properties"}
    if node.get("type") == "array" and "items" in node:
        result["items"] = _strip(node["items"], f"{where}[]")
    if "properties" in node:
        keep = KEEP.get(where)
        if keep is None:
            raise SystemExit(f"no KEEP entry for {where}: decide which fields to keep")
        properties = node["properties"]
        result["properties"] = {
            k: _strip(properties[k], f"{where}.{k}") for k in keep if k in properties
        }
        missing = [k for k in keep if k not in properties]
        if missing:
            raise SystemExit(f"{where}: the CRD has no {missing}")
        result["additionalProperties"] = False
        if "required" in node:
            result["required"] = [k for k in node["required"] if k in keep]
        # The filter's `type` enum lists every filter; we render (and allow) URLRewrite only.
        if where == "spec.rules[].filters[]":
            result["properties"]["type"]["enum"] = ["URLRewrite"]
    if where in EXTRA_RULES:
        result["allOf"] = EXTRA_RULES[where]
    return result


def build(crd: dict[str, Any]) -> dict[str, Any]:
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    root = version["schema"]["openAPIV3Schema"]
    spec = _strip(root["properties"]["spec"], "spec")
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": PROVENANCE,
        "title": "Gateway API HTTPRoute (knobless subset)",
        "x-knobless-kind": {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute"},
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": "gateway.networking.k8s.io/v1"},
            "kind": {"const": "HTTPRoute"},
            "metadata": METADATA,
            "spec": spec,
        },
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    crd = yaml.safe_load(Path(argv[0]).read_text())
    OUTPUT.write_text(json.dumps(build(crd), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
