"""The peers at their documented defaults and tuned, against tuned `fixed` and `apa`, on the zoo.

    flock /tmp/bench.lock .venv/bin/python bench/zoo_peers.py [--markdown FILE] [--seed N]
        [--only SUBSTRING]... [--traces constant,diurnal,cost_drift]

Same profiles, traces and served systems as bench/zoo.py (2 h, no warm-up). Per profile, `fixed`
is tuned as zoo.py tunes it (the largest grid target whose misses stay within the SLO budget on
every trace run); the peers then run twice: at their documented defaults (`kpa`: soft target
100 x 70% utilization; `ray`: target_ongoing_requests 2; `cpu`: HPA at 80% CPU) and tuned as a
team would, to the same per-replica target as tuned `fixed` (`kpa+`: autoscaling.knative.dev/target
at 100% utilization; `ray+`: target_ongoing_requests). `cpu` has no concurrency knob and runs
once. `apa` starts from the runtime default, untuned. Cells: cost (replica-seconds) vs tuned
`fixed` and misses (over SLO + rejected). `ray in flight` is Little's law over the run (mean
arrival rate x service time / mean replicas): what the default target_ongoing_requests holds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from zoo import DURATION_S, FIXED_GRID, SLO_BUDGET, TRACES, misses, zoo_trace  # noqa: E402
from zoo_profiles import ZOO, ZooModel, zoo_system  # noqa: E402

from plugins.apa.simulator.simulation import Settings, simulate  # noqa: E402

COLUMNS = ("apa", "kpa", "kpa+", "ray", "ray+", "cpu")
"""`+`: tuned to the profile's best fixed target."""


def run_profile(model: ZooModel, traces: list[str], seed: int) -> list[dict[str, Any]]:
    """One row per trace: every column's summary, the tuned fraction and ray's in-flight."""
    system = zoo_system(ROOT, model)
    capacity = model.profile.replica_capacity
    base = Settings(seed=seed, warmup_s=0)
    runs = {name: zoo_trace(name, model) for name in traces}
    grid = {
        (name, f): simulate(
            system, model.profile, trace, ["fixed"], Settings(**{**base.__dict__, "fixed_target": f * capacity})
        ).summaries["fixed"]
        for name, trace in runs.items()
        for f in FIXED_GRID
    }  # fmt: skip
    meeting = [f for f in FIXED_GRID if all(misses(grid[t, f]) <= SLO_BUDGET for t in traces)]
    fraction = (
        max(meeting)
        if meeting
        else min(FIXED_GRID, key=lambda f: (max(misses(grid[t, f]) for t in traces), -f))
    )
    tuned = Settings(**{**base.__dict__, "peer_target": fraction * capacity})
    rows = []
    for name, trace in runs.items():
        defaults = simulate(system, model.profile, trace, ["apa", "kpa", "ray", "cpu"], base)
        plus = simulate(system, model.profile, trace, ["kpa", "ray"], tuned).summaries
        summaries = dict(defaults.summaries)
        summaries["kpa+"], summaries["ray+"] = plus["kpa"], plus["ray"]
        arrivals = float(defaults.inputs.arrivals.sum())
        in_flight = arrivals / DURATION_S * model.profile.service_time_ms / 1000.0
        rows.append(
            {
                "model": model,
                "trace": name,
                "fraction": fraction,
                "fixed": grid[name, fraction],
                "arrivals": arrivals,
                "ray_in_flight": in_flight / summaries["ray"]["replicas"]["mean"],
                **summaries,
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| profile | C | trace | fixed: target, misses |"
        + "".join(f" {c} |" for c in COLUMNS)
        + " ray in flight |",
        "|---|---:|---|---|" + "---|" * len(COLUMNS) + "---:|",
    ]
    totals = {c: [0.0, 0.0] for c in ("fixed", *COLUMNS)}  # replica-s, missed requests
    for row in rows:
        base = row["fixed"]["replica_seconds"]
        cells = []
        for c in ("fixed", *COLUMNS):
            totals[c][0] += row[c]["replica_seconds"]
            totals[c][1] += misses(row[c]) * row["arrivals"]
        for c in COLUMNS:
            cells.append(f" {row[c]['replica_seconds'] / base:.2f}x, {100 * misses(row[c]):.2f}% |")
        capacity = row["model"].profile.replica_capacity
        lines.append(
            f"| {row['model'].profile.name} | {capacity:g} | {row['trace']} | "
            f"{row['fraction'] * capacity:g} ({row['fraction']:g}x), "
            f"{100 * misses(row['fixed']):.2f}% |"
            + "".join(cells)
            + f" {row['ray_in_flight']:.2f} |"
        )
    requests = sum(row["arrivals"] for row in rows)
    fixed_cost = totals["fixed"][0]
    lines.append(
        "| **total** | | | 1.00x, "
        f"{100 * totals['fixed'][1] / requests:.2f}% |"
        + "".join(
            f" {totals[c][0] / fixed_cost:.2f}x, {100 * totals[c][1] / requests:.2f}% |"
            for c in COLUMNS
        )
        + " |"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", default=[], help="profile name substring")
    parser.add_argument("--traces", default=",".join(TRACES))
    args = parser.parse_args(argv)
    traces = [t for t in args.traces.split(",") if t]
    unknown = sorted(set(traces) - set(TRACES))
    if unknown:
        parser.error(f"unknown traces {unknown}; known: {', '.join(TRACES)}")
    models = [m for m in ZOO if not args.only or any(s in m.profile.name for s in args.only)]
    started = time.perf_counter()
    rows = [row for model in models for row in run_profile(model, traces, args.seed)]
    lines = table(rows)
    lines.append("")
    lines.append(
        f"{len(models)} profiles x {len(traces)} traces, seed {args.seed}, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
