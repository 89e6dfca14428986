"""Printing a simulation: a rich table for people, stable JSON for tools."""

from __future__ import annotations

import json
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from plugins.apa.simulator.simulation import Simulation


def to_json_text(simulation: Simulation) -> str:
    # Insertion order is the documented order; no sort_keys (policies keep the order asked for).
    return json.dumps(simulation.to_json(), indent=2, allow_nan=False) + "\n"


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def _ttc(values: list[float | None]) -> str:
    if not values:
        return "-"
    return ", ".join("never" if v is None else f"{v:g}s" for v in values)


def policy_table(summaries: dict[str, dict[str, Any]], title: str, baseline: str | None) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column, justify in (
        ("policy", "left"),
        ("replica-s", "right"),
        ("vs " + (baseline or "-"), "right"),
        ("GPU-h", "right"),
        ("requests", "right"),
        ("over SLO", "right"),
        ("rejected", "right"),
        ("p50 ms", "right"),
        ("p99 ms", "right"),
        ("p99.9 ms", "right"),
        ("to capacity", "left"),
        ("dir. changes", "right"),
        ("target/replica", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    base = summaries.get(baseline or "", {}).get("replica_seconds")
    for name, s in summaries.items():
        target = s["per_replica_target"]
        shown_target = "-"
        if target is not None:
            shown_target = (
                f"{target['initial']:g}"
                if target["initial"] == target["final"]
                else f"{target['initial']:g}→{target['final']:g}"
            )
        table.add_row(
            name,
            f"{s['replica_seconds']:,.0f}",
            f"{s['replica_seconds'] / base:.2f}x" if base else "-",
            f"{s['gpu_hours']:,.2f}",
            f"{s['requests']:,}",
            _percent(s["over_slo_fraction"]),
            _percent(s["rejected_fraction"]),
            f"{s['latency_ms']['p50']:g}",
            f"{s['latency_ms']['p99']:g}",
            f"{s['latency_ms']['p999']:g}",
            _ttc(s["time_to_capacity_s"]),
            f"{s['direction_changes']}",
            shown_target,
        )
    return table


def print_text(simulation: Simulation, stream: TextIO) -> None:
    console = Console(file=stream, width=160, highlight=False, soft_wrap=False)
    system, profile, trace = simulation.system, simulation.profile, simulation.trace
    console.print(
        f"[bold]{system.endpoint}/{system.served}[/] in {system.env_name} "
        f"({system.runtime}, {system.traffic_percent}% of traffic): concurrency "
        f"{system.bounds.concurrency_min:g}..{system.bounds.concurrency_max:g}, per replica "
        f"{system.bounds.per_replica_min:g}..{system.bounds.per_replica_max:g} "
        f"(starts at {system.bounds.per_replica_initial:g}), replicas "
        f"{system.min_replicas}..{system.max_replicas}"
    )
    console.print(
        f"model: {profile.name}: service {profile.service_time_ms:g} ms (cv "
        f"{profile.service_time_cv:g}), true capacity {profile.replica_capacity:g}/replica, "
        f"start-up {profile.startup_s:g}s, SLO {profile.slo_ms:g} ms, timeout "
        f"{profile.timeout_s:g}s; trace `{trace.name}`: {trace.duration_s:g}s, "
        f"{trace.rps.min():g}..{trace.rps.max():g} rps; seed {simulation.settings.seed}"
    )
    baseline = "fixed" if "fixed" in simulation.summaries else None
    console.print(policy_table(simulation.summaries, "", baseline))
