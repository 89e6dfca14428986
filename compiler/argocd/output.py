"""What `knobless argocd` prints: status tables (rich on a terminal), JSON, unified diffs."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import yaml

from compiler.argocd.models import Application, ResourceDiff

COLUMNS = ("APPLICATION", "SYNC", "HEALTH", "REVISION", "OPERATION")


def status_row(app: Application) -> dict[str, Any]:
    state = app.status.operationState
    return {
        "name": app.name,
        "project": app.spec.project,
        "sync": app.status.sync.status,
        "health": app.status.health.status,
        "revision": app.status.sync.revision,
        "operation": state.phase if state else "",
        "operationMessage": state.message if state else "",
        "autoSync": app.spec.auto_sync,
    }


def print_status(apps: Sequence[Application], fmt: str, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    rows = [status_row(app) for app in apps]
    if fmt == "json":
        print(json.dumps(rows, indent=2, sort_keys=True), file=out)
        return
    cells = [
        (r["name"], r["sync"], r["health"], r["revision"][:7], r["operation"] or "-") for r in rows
    ]
    if out.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*COLUMNS)
        for row in cells:
            table.add_row(*row)
        Console(file=out).print(table)
        return
    widths = [max(len(c[i]) for c in [COLUMNS, *cells]) for i in range(len(COLUMNS))]
    for row in [COLUMNS, *cells]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=out)


def _as_yaml(state: str) -> list[str]:
    # Argo CD sends "null" (or nothing) for a side that does not exist.
    if state in ("", "null"):
        return []
    text = yaml.safe_dump(json.loads(state), sort_keys=True, default_flow_style=False)
    return text.splitlines(keepends=True)


def unified_diff(resources: Sequence[ResourceDiff]) -> str:
    """live (normalizedLiveState) vs target (predictedLiveState) of every resource that differs,
    as a unified diff of YAML; hooks are skipped, as `argocd app diff` does."""
    chunks = []
    for item in sorted(resources, key=lambda r: (r.group, r.kind, r.namespace, r.name)):
        if item.hook:
            continue
        live, target = _as_yaml(item.normalizedLiveState), _as_yaml(item.predictedLiveState)
        if live == target:
            continue
        ref = "/".join(p for p in (item.group or "core", item.kind, item.namespace, item.name) if p)
        chunks.append(
            "".join(
                difflib.unified_diff(live, target, fromfile=f"live/{ref}", tofile=f"target/{ref}")
            )
        )
    return "".join(chunks)
