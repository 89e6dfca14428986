"""Cut a CRD's openAPIV3Schema down to the fields knobless renders, closed against typos.

Shared by the hand-run regenerators of the committed contract schemas
(tests/render/contract/regenerate_crd_subsets.py, tests/argocd/contract/regenerate.py). The API
server silently prunes unknown fields, so every kept object gets `additionalProperties: false`:
a typo in a rendered object fails our tests instead of vanishing in the cluster.
"""

from __future__ import annotations

from typing import Any

KEEP = None
"""A subtree kept whole from the CRD."""

LABEL_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


METADATA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "namespace"],
    "additionalProperties": False,
    "properties": {
        "name": {
            "type": "string",
            "maxLength": 253,
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        },
        "namespace": {
            "type": "string",
            "maxLength": 63,
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        },
        "labels": {
            "type": "object",
            "propertyNames": {"pattern": LABEL_KEY, "maxLength": 317},
            "additionalProperties": {
                "type": "string",
                "maxLength": 63,
                "pattern": r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
            },
        },
        "annotations": {
            "type": "object",
            "propertyNames": {"pattern": LABEL_KEY},
            "additionalProperties": {"type": "string"},
        },
    },
}
"""ObjectMeta as the subsets render it: name, namespace, labels, annotations."""


def closed(schema: dict[str, Any]) -> dict[str, Any]:
    """The subtree whole, minus CEL rules (restated elsewhere when they matter), every object closed."""
    out = {k: v for k, v in schema.items() if k != "x-kubernetes-validations"}
    if "properties" in out:
        out["properties"] = {k: closed(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not out.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            out["additionalProperties"] = False
    if isinstance(out.get("items"), dict):
        out["items"] = closed(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = closed(out["additionalProperties"])
    return out


def cut(schema: dict[str, Any], subset: dict[str, Any] | None) -> dict[str, Any]:
    """Only the properties named in `subset` (recursively; `KEEP` keeps a subtree whole)."""
    if subset is None:
        return closed(schema)
    if schema.get("type") == "array":
        return {**schema, "items": cut(schema["items"], subset)}
    out = {k: v for k, v in schema.items() if k not in ("properties", "required")}
    out["properties"] = {name: cut(schema["properties"][name], sub) for name, sub in subset.items()}
    required = [name for name in schema.get("required", ()) if name in subset]
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    return out
