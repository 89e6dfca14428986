"""JSON output of `knobless diff` (format version 1, documented in docs/guide/reviewing.md).

Stable: keys are sorted, lists have a defined order (environments, endpoints and objects by
name; field changes in document order), numbers are integers except CPU cores (a number with up
to three decimals). New keys may be added within a version; none is renamed or removed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from compiler.review.diff import FieldChange, ObjectChange
from compiler.review.summary import Capacity, EndpointFacts, EndpointSummary, Review

FORMAT_VERSION = 1


def _number(value: Decimal) -> int | float:
    value = value.quantize(Decimal("0.001")).normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def _capacity(capacity: Capacity | None) -> dict[str, Any] | None:
    if capacity is None:
        return None
    return {"gpus": capacity.gpus, "cpu_cores": _number(capacity.cpu)}


def _facts(facts: EndpointFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {
        "concurrency": {"min": facts.concurrency[0], "max": facts.concurrency[1]},
        "per_replica": None
        if facts.per_replica is None
        else {"min": facts.per_replica[0], "max": facts.per_replica[1]},
        "served": [
            {
                "name": s.name,
                "traffic_percent": s.traffic,
                "runtime": s.runtime,
                "gpus_per_replica": s.gpus,
                "gpu_type": s.gpu_type,
                "cpu_cores_per_replica": _number(s.cpu),
                "max_replicas": s.max_replicas,
                "max_replicas_from": s.replicas_from,
            }
            for s in facts.served
        ],
        "worst_case": _capacity(facts.worst_case),
    }


def _field(change: FieldChange) -> dict[str, Any]:
    return {"path": change.path, "op": change.op, "before": change.before, "after": change.after}


def _object(change: ObjectChange) -> dict[str, Any]:
    return {
        "kind": change.kind,
        "name": change.name,
        "file": f"rendered/{change.file}",
        "status": change.status,
        "changes": [_field(f) for f in change.fields],
    }


def _endpoint(endpoint: EndpointSummary) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "status": endpoint.status,
        "renamed_from": endpoint.renamed_from,
        "renamed_to": endpoint.renamed_to,
        "pods_restart": list(endpoint.restarts),
        "before": _facts(endpoint.before),
        "after": _facts(endpoint.after),
        "objects": [_object(o) for o in endpoint.objects],
    }


def review_to_data(review: Review) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "base": {"revision": review.base, "commit": review.base_commit},
        "changed": bool(review.changed_environments),
        "environments": [
            {
                "name": env.name,
                "status": env.status,
                "worst_case": {
                    "before": _capacity(env.worst_before),
                    "after": _capacity(env.worst_after),
                },
                "endpoints": [_endpoint(e) for e in env.endpoints],
                "platform": [_object(o) for o in env.platform],
            }
            for env in review.environments
        ],
    }


def render_json(review: Review) -> str:
    return json.dumps(review_to_data(review), indent=2, sort_keys=True, default=str) + "\n"
