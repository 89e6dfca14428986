"""Model zoo benchmark: does the vertical axis learn each model's capacity, from any start?

    flock /tmp/bench.lock .venv/bin/python bench/zoo.py [--markdown FILE] [--plot PNG]
        [--seed N] [--only SUBSTRING]... [--traces constant,diurnal,cost_drift]

Fourteen model profiles (bench/zoo_profiles.py), three 2 h traces each (constant; a day
compressed into 2 h, 0.3x..1x; cost drift 1x -> 2x -> 1x at 0.6x the rate), no warm-up (the
trace starts at once: learning is measured from the first request). Per cell:
- `apa` started from the runtime default, 10x too low and 10x too high (no tuning);
- `informed`: the same scaler started at the true capacity — what perfect learning would get
  behind the same horizontal axis and HPA (the perfectly informed reference);
- `fixed` tuned per profile: the largest per-replica target (a grid of fractions of the true
  capacity) whose misses (over SLO + rejected) stay within the SLO budget on every trace — the
  tax a team pays to find it; the peers' defaults `kpa`, `cpu` and `ray` when the simulator has
  them. All in the same run, on the same Poisson arrivals.
Targets checked (PASS/FAIL): converged (+-15% of the true capacity) within 600 s from each
start; at most one target change per 10 min after convergence on the constant trace; cost <=
1.15x tuned `fixed` and misses <= its misses + 0.3 points; over the zoo, apa's total cost beats
each peer by >= 2x at equal or fewer misses, or the peer misses >= 5x more.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from zoo_profiles import ZOO, ZooModel, zoo_system  # noqa: E402

from plugins.apa.decision import VerticalState  # noqa: E402
from plugins.apa.simulator.constants import POLICIES  # noqa: E402
from plugins.apa.simulator.policies import ApaPolicy, View  # noqa: E402
from plugins.apa.simulator.simulation import Settings, simulate  # noqa: E402
from plugins.apa.simulator.trace import Trace  # noqa: E402

DURATION_S = 7200
TRACES = ("constant", "diurnal", "cost_drift")
STARTS = (("default", None), ("low", 0.1), ("high", 10.0))
"""(label, start as a multiple of the true capacity; None: the runtime default)."""
PEERS = tuple(p for p in ("kpa", "cpu", "ray") if p in POLICIES)
FIXED_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0)
"""`fixed` targets tried, as fractions of the true capacity."""
SLO_BUDGET = 0.01
CONVERGE_LIMIT_S = 600.0
COST_LIMIT = 1.15
MISS_MARGIN = 0.003
CHANGE_WINDOW_S = 600.0


def zoo_trace(name: str, model: ZooModel) -> Trace:
    t = np.arange(0.0, DURATION_S + 1.0, 60.0)
    rate = model.rate
    cost = np.ones_like(t)
    if name == "constant":
        rps = np.full_like(t, rate)
    elif name == "diurnal":
        # Night, morning ramp, peak, evening: a day's shape in 2 h.
        rps = rate * (0.3 + 0.7 * np.sin(math.pi * t / DURATION_S) ** 2)
    else:
        rps = np.full_like(t, 0.6 * rate)
        cost = np.interp(t, [0, 1800, 3600, 5400, 6600, DURATION_S], [1, 1, 2, 2, 1, 1])
    return Trace(name, t, rps, cost)


def capped_oracle(truth: np.ndarray) -> type[ApaPolicy]:
    """The scaler with a perfectly informed vertical axis under the same caps: at every
    decision the target moves toward the true capacity (capacity / cost now), by at most
    +50 % / -30 %, no hysteresis. No learning rule with those caps does better from the same
    start; the rest of the scaler (baseline, horizontal axis) is the shipped one."""

    class CappedOracle(ApaPolicy):
        def vertical(self, view: View, instant: float) -> None:
            current = self.state.target
            super().vertical(view, instant)  # the baseline and streaks, as shipped
            true = float(truth[min(max(int(instant), 0), len(truth) - 1)])
            want = self.bounds.clamp_target(true)
            step = min(
                max(want, current * (1 - self.config.max_step_down)),
                current * (1 + self.config.max_step_up),
            )
            state = self.state
            self.state = VerticalState(
                step, state.stress_streaks, state.growth_streak, state.latency_baseline_ms,
                state.decided_at, state.replicas,
            )  # fmt: skip
            if self.targets and self.targets[-1][0] == view.now:
                self.targets.pop()
            if step != current:
                self.targets.append((view.now, step))

    return CappedOracle


def misses(summary: dict[str, Any]) -> float:
    return float(summary["over_slo_fraction"]) + float(summary["rejected_fraction"])


@dataclass
class Cell:
    model: ZooModel
    trace: str
    apa: dict[str, dict[str, Any]]  # start label -> summary
    changes: dict[str, int]  # start label -> most target changes in 10 min after convergence
    informed: dict[str, Any]
    oracle: dict[str, dict[str, Any]]  # start label -> the capped oracle's summary
    peers: dict[str, dict[str, Any]]
    fixed_grid: dict[float, dict[str, Any]]
    targets: dict[str, list[tuple[float, float]]]


def most_changes_after(targets: list[tuple[float, float]], converged: float | None) -> int:
    if converged is None:
        return -1
    times = [t for t, _ in targets[1:] if t > converged]
    worst = 0
    for k, t in enumerate(times):
        worst = max(worst, sum(1 for u in times[k:] if u - t < CHANGE_WINDOW_S))
    return worst


def run_cell(model: ZooModel, trace_name: str, seed: int) -> Cell:
    system = zoo_system(ROOT, model)
    trace = zoo_trace(trace_name, model)
    capacity = model.profile.replica_capacity
    apa: dict[str, dict[str, Any]] = {}
    changes: dict[str, int] = {}
    targets: dict[str, list[tuple[float, float]]] = {}
    base = Settings(seed=seed, warmup_s=0)

    def settings(**values: Any) -> Settings:
        return Settings(**{**base.__dict__, **values})

    for label, factor in STARTS:
        start = None if factor is None else factor * capacity
        sim = simulate(system, model.profile, trace, ["apa"], settings(initial_target=start))
        summary = sim.summaries["apa"]
        apa[label] = summary
        run_targets = sim.runs["apa"].targets
        targets[label] = run_targets
        changes[label] = most_changes_after(
            run_targets, summary["per_replica_target"]["converged_s"]
        )
    informed = simulate(
        system, model.profile, trace, ["apa"], settings(initial_target=capacity)
    ).summaries["apa"]
    _, cost = trace.sample(np.arange(0.0, DURATION_S + 1.0))
    oracle_policy = capped_oracle(capacity / cost)
    oracle: dict[str, dict[str, Any]] = {}
    for label, factor in STARTS:
        start = None if factor is None else factor * capacity
        oracle[label] = simulate(
            system, model.profile, trace, ["apa"], settings(initial_target=start),
            apa_policy=oracle_policy,
        ).summaries["apa"]  # fmt: skip
    peers = dict(simulate(system, model.profile, trace, list(PEERS), base).summaries)
    grid: dict[float, dict[str, Any]] = {}
    for fraction in FIXED_GRID:
        run = simulate(
            system, model.profile, trace, ["fixed"], settings(fixed_target=fraction * capacity)
        )
        grid[fraction] = run.summaries["fixed"]
    return Cell(model, trace_name, apa, changes, informed, oracle, peers, grid, targets)


def tuned_fraction(cells: list[Cell]) -> float:
    """The largest grid target meeting the SLO budget on every trace; else the fewest misses."""
    meeting = [f for f in FIXED_GRID if all(misses(c.fixed_grid[f]) <= SLO_BUDGET for c in cells)]
    if meeting:
        return max(meeting)
    return min(FIXED_GRID, key=lambda f: (max(misses(c.fixed_grid[f]) for c in cells), -f))


def fmt_s(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f}"


def pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def report(cells: list[Cell]) -> tuple[list[str], list[str], dict[str, float]]:
    """(the per-cell table, the verdict lines, zoo totals)."""
    by_model: dict[str, list[Cell]] = {}
    for cell in cells:
        by_model.setdefault(cell.model.profile.name, []).append(cell)
    peer_cols = "".join(f" {p} |" for p in PEERS)
    lines = [
        "| profile | C | trace | converged_s default / low / high | apa cost vs fixed "
        "d / l / h | apa misses d / l / h | fixed: target, misses | capped oracle converged_s, "
        "cost d / l / h | capped oracle misses d / l / h | informed |" + peer_cols,
        "|---|---:|---|---|---|---|---|---|---|---|" + "---|" * len(PEERS),
    ]
    totals: dict[str, float] = {}
    verdict: dict[str, list[str]] = {"converge": [], "oscillate": [], "cost": [], "misses": []}
    for name, group in by_model.items():
        fraction = tuned_fraction(group)
        for cell in group:
            fixed = cell.fixed_grid[fraction]
            base_cost = fixed["replica_seconds"]

            def cost(summary: dict[str, Any], base: float = base_cost) -> str:
                return f"{summary['replica_seconds'] / base:.2f}x"

            def both(summary: dict[str, Any], base: float = base_cost) -> str:
                return f"{summary['replica_seconds'] / base:.2f}x, {pct(misses(summary))}"

            starts = [s for s, _ in STARTS]
            conv = [cell.apa[s]["per_replica_target"]["converged_s"] for s in starts]
            oracle_conv = [cell.oracle[s]["per_replica_target"]["converged_s"] for s in starts]
            lines.append(
                f"| {name} | {cell.model.profile.replica_capacity:g} | {cell.trace} | "
                + " / ".join(fmt_s(c) for c in conv)
                + " | "
                + " / ".join(cost(cell.apa[s]) for s in starts)
                + " | "
                + " / ".join(pct(misses(cell.apa[s])) for s in starts)
                + f" | {fraction:g}x, {pct(misses(fixed))} | "
                + " / ".join(
                    f"{fmt_s(c)}, {cost(cell.oracle[s])}"
                    for c, s in zip(oracle_conv, starts, strict=True)
                )
                + " | "
                + " / ".join(pct(misses(cell.oracle[s])) for s in starts)
                + f" | {both(cell.informed)} |"
                + "".join(f" {both(cell.peers[p])} |" for p in PEERS)
            )
            label = f"{name} / {cell.trace}"
            for start, c, oc in zip(starts, conv, oracle_conv, strict=True):
                apa, oracle = cell.apa[start], cell.oracle[start]
                if c is None or c > CONVERGE_LIMIT_S:
                    verdict["converge"].append(
                        f"{label} from {start}: {fmt_s(c)} s (capped oracle {fmt_s(oc)} s)"
                    )
                if apa["replica_seconds"] > COST_LIMIT * base_cost:
                    verdict["cost"].append(
                        f"{label} from {start}: {cost(apa)} (capped oracle {cost(oracle)}, "
                        f"informed {cost(cell.informed)})"
                    )
                if misses(apa) > misses(fixed) + MISS_MARGIN:
                    verdict["misses"].append(
                        f"{label} from {start}: {pct(misses(apa))} vs {pct(misses(fixed))} "
                        f"(capped oracle {pct(misses(oracle))}, informed "
                        f"{pct(misses(cell.informed))})"
                    )
            if cell.trace == "constant":
                for start in starts:
                    if cell.changes[start] > 1:
                        verdict["oscillate"].append(
                            f"{label} from {start}: {cell.changes[start]} changes in 10 min"
                        )
            requests = float(fixed["requests"])
            for key, summary in (
                [(f"apa {s}", cell.apa[s]) for s in starts]
                + [(f"oracle {s}", cell.oracle[s]) for s in starts]
                + [("fixed", fixed), ("informed", cell.informed)]
                + [(p, cell.peers[p]) for p in PEERS]
            ):
                totals[f"{key} cost"] = totals.get(f"{key} cost", 0.0) + summary["replica_seconds"]
                totals[f"{key} missed"] = (
                    totals.get(f"{key} missed", 0.0) + misses(summary) * requests
                )
            totals["requests"] = totals.get("requests", 0.0) + requests
    out = []
    for key, title in (
        ("converge", f"converged within {CONVERGE_LIMIT_S:g} s from every start"),
        ("oscillate", "at most one target change per 10 min after convergence (constant)"),
        ("cost", f"cost <= {COST_LIMIT}x tuned fixed"),
        ("misses", f"misses <= tuned fixed's + {100 * MISS_MARGIN:g} points"),
    ):
        failed = verdict[key]
        out.append(f"{'PASS' if not failed else 'FAIL'} {title}: {len(failed)} failing")
        out.extend(f"    {f}" for f in failed)
    fixed_total = totals["fixed cost"]
    out.append(
        "zoo totals (replica-seconds vs tuned fixed, missed requests / all): "
        + ", ".join(
            f"{key} {totals[f'{key} cost'] / fixed_total:.2f}x "
            f"{pct(totals[f'{key} missed'] / totals['requests'])}"
            for key in (
                [f"apa {s}" for s, _ in STARTS]
                + [f"oracle {s}" for s, _ in STARTS]
                + ["informed", "fixed", *PEERS]
            )
        )
    )
    for peer in PEERS:
        for start, _ in STARTS:
            apa_cost = totals[f"apa {start} cost"]
            apa_miss = totals[f"apa {start} missed"] / totals["requests"]
            peer_cost = totals[f"{peer} cost"]
            peer_miss = totals[f"{peer} missed"] / totals["requests"]
            ok = (peer_cost >= 2 * apa_cost and apa_miss <= peer_miss) or (
                peer_miss >= 5 * apa_miss
            )
            out.append(
                f"{'PASS' if ok else 'FAIL'} zoo vs {peer} (apa from {start}): cost "
                f"{peer_cost / apa_cost:.2f}x apa's, misses {pct(peer_miss)} vs apa's "
                f"{pct(apa_miss)} ({peer_miss / max(apa_miss, 1e-12):.1f}x)"
            )
    return lines, out, totals


def write_plot(cells: list[Cell], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    constant = [c for c in cells if c.trace == "constant"]
    cols = 4
    rows = math.ceil(len(constant) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(16, 3.0 * rows), sharex=True, squeeze=False)
    colors = {"default": "#1b7837", "low": "#2166ac", "high": "#b2182b"}
    for ax, cell in zip(axes.flat, constant, strict=False):
        capacity = cell.model.profile.replica_capacity
        for start, _ in STARTS:
            points = cell.targets[start]
            t = [p[0] / 60 for p in points] + [DURATION_S / 60]
            v = [p[1] / capacity for p in points] + [points[-1][1] / capacity]
            ax.step(t, v, where="post", color=colors[start], label=start)
        ax.axhspan(0.85, 1.15, color="#dddddd")
        ax.set_yscale("log")
        ax.set_ylim(0.05, 20)
        ax.axvline(CONVERGE_LIMIT_S / 60, color="#888888", lw=0.8, ls="--")
        ax.set_title(f"{cell.model.profile.name} (C={capacity:g})", fontsize=9)
    for ax in axes.flat[len(constant) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.supxlabel("minutes (constant trace; dashed: 10 min)")
    fig.supylabel("learned target / true capacity (band: +-15%)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--only", action="append", default=[], help="profile name substring")
    parser.add_argument("--traces", default=",".join(TRACES))
    args = parser.parse_args()
    started = time.perf_counter()
    models = [m for m in ZOO if not args.only or any(o in m.profile.name for o in args.only)]
    cells = [
        run_cell(model, trace, args.seed) for model in models for trace in args.traces.split(",")
    ]
    lines, verdict, _ = report(cells)
    print("\n".join(lines))
    print()
    print("\n".join(verdict))
    print(f"\n{len(cells)} cells in {time.perf_counter() - started:.0f} s")
    if args.markdown:
        args.markdown.write_text("\n".join([*lines, "", *verdict]) + "\n")
    if args.plot:
        write_plot(cells, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
