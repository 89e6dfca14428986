"""`knobless explain`: one endpoint's resolved spec, with where every value came from.

Each value of the merged spec is shown with its Origin: the endpoint file and line, the layer of
the environment file that set it (defaults, patch, override), a workload definition, or a
default of the compiler (a value nobody wrote). Then, per served version, the runtime chosen and
why, and the resources with the workload they came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from compiler.context import EndpointContext, Origin
from compiler.validation import dotted

FieldPath = tuple[str | int, ...]
DEFAULT = Origin("(default)", 0, 0, "compiler-default")
COMMENT_COLUMN_MAX = 56


@dataclass(frozen=True)
class Value:
    path: FieldPath
    value: Any
    origin: Origin


def origin_of(endpoint: EndpointContext, path: FieldPath) -> Origin:
    """The layer that wrote `path`; a value no layer wrote is a default of the spec model."""
    if path in endpoint.origins:
        return endpoint.origins[path]
    if any(p[: len(path)] == path for p in endpoint.origins):
        return endpoint.locate(path)
    return DEFAULT


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, dict | list) or not value


def spec_data(endpoint: EndpointContext) -> dict[str, Any]:
    data: dict[str, Any] = endpoint.spec.model_dump(mode="json", exclude_none=True)
    return data


def values(endpoint: EndpointContext) -> list[Value]:
    """Every leaf of the resolved spec, in document order, with its origin."""
    found: list[Value] = []

    def walk(value: Any, path: FieldPath) -> None:
        if _is_leaf(value):
            found.append(Value(path, value, origin_of(endpoint, path)))
        elif isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*path, key))
        else:
            for index, child in enumerate(value):
                walk(child, (*path, index))

    walk(spec_data(endpoint), ())
    return found


def _scalar(value: Any) -> str:
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()


Line = tuple[str, Origin | None]


def _entries(
    mapping: dict[str, Any], path: FieldPath, indent: int, endpoint: EndpointContext
) -> list[Line]:
    lines: list[Line] = []
    pad = " " * indent
    for key, child in mapping.items():
        child_path = (*path, key)
        if _is_leaf(child):
            lines.append((f"{pad}{key}: {_scalar(child)}", origin_of(endpoint, child_path)))
        elif isinstance(child, dict):
            lines.append((f"{pad}{key}:", None))
            lines.extend(_entries(child, child_path, indent + 2, endpoint))
        else:
            lines.append((f"{pad}{key}:", None))
            for index, item in enumerate(child):
                lines.extend(_item(item, (*child_path, index), indent + 2, endpoint))
    return lines


def _item(item: Any, path: FieldPath, indent: int, endpoint: EndpointContext) -> list[Line]:
    pad = " " * indent
    if _is_leaf(item):
        return [(f"{pad}- {_scalar(item)}", origin_of(endpoint, path))]
    if isinstance(item, list):
        return [(f"{pad}- {json.dumps(item)}", origin_of(endpoint, path))]
    lines = _entries(item, path, indent + 2, endpoint)
    first_text, first_origin = lines[0]
    lines[0] = (f"{pad}- {first_text[indent + 2 :]}", first_origin)
    return lines


def where(origin: Origin) -> str:
    """`file:line:col (layer)`, or just the layer for a value no file wrote."""
    if origin.path.startswith("("):
        return origin.layer
    return origin.format()


def _aligned(lines: list[Line]) -> list[str]:
    width = min(COMMENT_COLUMN_MAX, max(len(text) for text, _ in lines) + 2)
    out = []
    for text, origin in lines:
        if origin is None:
            out.append(text)
        else:
            out.append(f"{text.ljust(width)}  # {where(origin)}")
    return out


def _resources_text(endpoint: EndpointContext, index: int) -> list[str]:
    served = endpoint.served[index]
    resources = served.resources
    gpu = (
        f"{resources.gpu_count} GPU"
        + ("s" if resources.gpu_count > 1 else "")
        + (f" ({resources.gpu_type})" if resources.gpu_type else "")
        if resources.gpu_count
        else "no GPU"
    )
    lines = [f"  resources: cpu {resources.cpu}, memory {resources.memory}, {gpu}"]
    if resources.workload:
        origin = origin_of(endpoint, ("served", index, "compute", "cpu"))
        lines.append(f"    from workload `{resources.workload}`: {where(origin)}")
    else:
        origin = origin_of(endpoint, ("served", index, "compute"))
        lines.append(f"    given explicitly: {where(origin)}")
    return lines


def render_text(endpoint: EndpointContext) -> str:
    name, env = endpoint.spec.name, endpoint.environment.name
    out = [
        f"{name} in {env} (from {endpoint.source}; values by layer: defaults < endpoint < patch "
        "< override)",
        "",
    ]
    out += _aligned(_entries(spec_data(endpoint), (), 0, endpoint))
    for index, served in enumerate(endpoint.served):
        runtime = f"  runtime: {served.runtime.name}: {served.runtime.reason}"
        if served.spec.runtime:
            runtime += f" (set at {where(origin_of(endpoint, ('served', index, 'runtime')))})"
        out += [
            "",
            f"served {served.spec.name}:",
            runtime,
            *_image_text(endpoint, index),
            *_resources_text(endpoint, index),
            f"  traffic: {served.traffic_percent}%",
        ]
    return "\n".join(out) + "\n"


def _image_text(endpoint: EndpointContext, index: int) -> list[str]:
    """The MLflow runtime's image: the one images.lock built for this version's dependencies,
    or the generic one."""
    served = endpoint.served[index]
    if served.runtime.name != "mlflow":
        return []
    image = served.image
    if image is None:
        why = endpoint.environment.images.waiver(served.spec.model or "")
        note = f"images.unlocked: {why}" if why else "images.lock has no entry for this model here"
        return [f"  image: {endpoint.environment.runtimes.mlflow} (generic: {note})"]
    return [
        f"  image: {image.reference}",
        f"    dependencies {image.dependencies[:16]}: {where(image.origin)}",
    ]


def _origin_data(origin: Origin) -> dict[str, Any]:
    return {"path": origin.path, "line": origin.line, "col": origin.col, "layer": origin.layer}


def _served_data(endpoint: EndpointContext, index: int) -> dict[str, Any]:
    item = endpoint.served[index]
    resources = item.resources
    resource_path = ("served", index, "compute", "cpu" if resources.workload else "")
    return {
        "name": item.spec.name,
        "runtime": {
            "name": item.runtime.name,
            "reason": item.runtime.reason,
            "chosen": item.spec.runtime is None,
            "origin": _origin_data(origin_of(endpoint, ("served", index, "runtime"))),
        },
        "resources": {
            "cpu": resources.cpu,
            "memory": resources.memory,
            "gpu_count": resources.gpu_count,
            "gpu_type": resources.gpu_type,
            "workload": resources.workload,
            "origin": _origin_data(origin_of(endpoint, tuple(p for p in resource_path if p != ""))),
        },
        "traffic_percent": item.traffic_percent,
        "image": None
        if item.image is None
        else {
            "reference": item.image.reference,
            "dependencies": item.image.dependencies,
            "origin": _origin_data(item.image.origin),
        },
    }


def render_json(endpoint: EndpointContext) -> str:
    served = [_served_data(endpoint, index) for index in range(len(endpoint.served))]
    data = {
        "format_version": 1,
        "endpoint": endpoint.spec.name,
        "environment": endpoint.environment.name,
        "source": endpoint.source,
        "values": [
            {"path": dotted(v.path), "value": v.value, "origin": _origin_data(v.origin)}
            for v in values(endpoint)
        ],
        "served": served,
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
