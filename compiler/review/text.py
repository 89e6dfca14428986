"""Plain-text output of `knobless diff`, and the phrases the Markdown output shares."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from compiler.review.diff import FieldChange, ObjectChange
from compiler.review.summary import (
    Capacity,
    EndpointFacts,
    EndpointSummary,
    EnvironmentSummary,
    Review,
)

MARKERS = {"added": "+", "removed": "-", "changed": "~"}
VALUE_WIDTH = 120


def cores(value: Decimal) -> str:
    return format(value.normalize(), "f")


def value_text(value: Any) -> str:
    """A value on one line: plain strings bare, everything else as compact JSON, truncated."""
    if isinstance(value, str) and value and value.strip() == value and "\n" not in value:
        text = value
    else:
        text = json.dumps(value, sort_keys=False, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def field_line(change: FieldChange) -> str:
    if change.op == "added":
        return f"{change.path}: + {value_text(change.after)}"
    if change.op == "removed":
        return f"{change.path}: - {value_text(change.before)}"
    if change.op == "reordered":
        return f"{change.path}: reordered {value_text(change.before)} -> {value_text(change.after)}"
    return f"{change.path}: {value_text(change.before)} -> {value_text(change.after)}"


def object_title(change: ObjectChange, endpoint: EndpointSummary | None = None) -> str:
    note = ""
    served = change.name.removeprefix(f"{endpoint.name}-") if endpoint else None
    if endpoint is not None and change.kind == "Deployment" and served in endpoint.restarts:
        note = " (pods restart)"
    return f"{MARKERS[change.status]} {change.kind} {change.name}{note}"


def _range(value: tuple[int, int]) -> str:
    return f"{value[0]}..{value[1]}"


def _move(old: str | None, new: str | None) -> str:
    if old == new or old is None:
        return str(new)
    if new is None:
        return f"was {old}"
    return f"{old} -> {new}"


def traffic_text(endpoint: EndpointSummary) -> str | None:
    old = endpoint.before.traffic if endpoint.before else {}
    new = endpoint.after.traffic if endpoint.after else {}
    if old == new and len(new) < 2:
        return None
    if endpoint.status != "changed":
        side = new or old
        return ", ".join(f"{name} {pct}%" for name, pct in side.items())
    if old == new:
        return None
    parts = []
    for name in [*new, *(n for n in old if n not in new)]:
        if name not in old:
            parts.append(f"{name} (new) {new[name]}%")
        elif name not in new:
            parts.append(f"{name} (removed) was {old[name]}%")
        elif old[name] != new[name]:
            parts.append(f"{name} {old[name]}% -> {new[name]}%")
    return ", ".join(parts)


def concurrency_text(endpoint: EndpointSummary) -> str:
    old = _range(endpoint.before.concurrency) if endpoint.before else None
    new = _range(endpoint.after.concurrency) if endpoint.after else None
    return _move(old, new)


def _gpus(facts: EndpointFacts | None) -> str | None:
    if facts is None or not any(s.gpus for s in facts.served):
        return None
    return ", ".join(
        f"{s.name} {s.gpus}" + (f" {s.gpu_type}" if s.gpu_type else "") for s in facts.served
    )


def gpus_text(endpoint: EndpointSummary) -> str | None:
    old, new = _gpus(endpoint.before), _gpus(endpoint.after)
    if old is None and new is None:
        return None
    old = old or ("none" if endpoint.before else None)
    new = new or ("none" if endpoint.after else None)
    return _move(old, new)


def capacity_text(old: Capacity | None, new: Capacity | None) -> str:
    gpus = _move(None if old is None else str(old.gpus), None if new is None else str(new.gpus))
    cpu = _move(None if old is None else cores(old.cpu), None if new is None else cores(new.cpu))
    return f"GPUs {gpus}, CPU {cpu} cores"


def endpoint_worst_case(endpoint: EndpointSummary) -> str | None:
    old = endpoint.before.worst_case if endpoint.before else None
    new = endpoint.after.worst_case if endpoint.after else None
    if endpoint.status == "changed" and old == new:
        return None
    return capacity_text(old, new)


def restart_text(endpoint: EndpointSummary) -> str:
    if endpoint.status == "added":
        return f"new (renamed from {endpoint.renamed_from})" if endpoint.renamed_from else "new"
    if endpoint.status == "removed":
        return f"removed (renamed to {endpoint.renamed_to})" if endpoint.renamed_to else "removed"
    if endpoint.restarts:
        return f"pods restart ({', '.join(endpoint.restarts)})"
    return "no pod restarts"


def endpoint_phrases(endpoint: EndpointSummary) -> list[str]:
    phrases = [restart_text(endpoint)]
    traffic = traffic_text(endpoint)
    if traffic:
        phrases.append(f"traffic {traffic}")
    phrases.append(f"concurrency {concurrency_text(endpoint)}")
    gpus = gpus_text(endpoint)
    if gpus:
        phrases.append(f"GPUs/replica {gpus}")
    worst = endpoint_worst_case(endpoint)
    if worst:
        phrases.append(f"worst case {worst}")
    return phrases


def header(review: Review) -> str:
    commit = f" ({review.base_commit[:12]})" if review.base_commit else ""
    return f"knobless diff: {review.base}{commit} -> working tree"


def environment_line(review_env: EnvironmentSummary) -> str:
    count = len(review_env.endpoints)
    noun = "endpoint changes" if count == 1 else "endpoints change"
    status = "" if review_env.status == "changed" else f" ({review_env.status})"
    worst = capacity_text(review_env.worst_before, review_env.worst_after)
    return f"{review_env.name}{status}: {count} {noun} · worst case at max concurrency: {worst}"


def render_text(review: Review) -> str:
    lines = [header(review), ""]
    changed = review.changed_environments
    if not changed:
        lines.append("No changes: the rendered output is identical.")
        return "\n".join(lines) + "\n"
    for env in changed:
        lines.append(environment_line(env))
        for endpoint in env.endpoints:
            marker = MARKERS[endpoint.status]
            lines.append(f"  {marker} {endpoint.name}: " + " · ".join(endpoint_phrases(endpoint)))
        if env.platform:
            lines.append(f"  ~ platform: {len(env.platform)} object(s)")
    lines += ["", "Details"]
    for env in changed:
        for endpoint in env.endpoints:
            lines.append(f"{env.name}/{endpoint.name}")
            lines.extend(object_lines(endpoint.objects, endpoint))
        if env.platform:
            lines.append(f"{env.name}/platform")
            lines.extend(object_lines(env.platform, None))
    return "\n".join(lines) + "\n"


def object_lines(objects: tuple[ObjectChange, ...], endpoint: EndpointSummary | None) -> list[str]:
    lines = []
    for change in objects:
        lines.append(f"  {object_title(change, endpoint)}")
        lines.extend(f"      {field_line(f)}" for f in change.fields)
    return lines
