"""Autoscaling benchmark: every standard trace x model profile through apa, fixed, cpu, kpa, ray.

    /work/venv/bin/python bench/autoscaling.py [--markdown FILE] [--plot-dir DIR] [--seed N]

All policies of a row share one run (same Poisson arrivals, same cluster model); ratios are
against `fixed` measured in the same run. Then the issue's targets, PASS/FAIL each:
  1. spike10x: apa has <= 1% of requests over the SLO (rejected ones count as over) while using
     <= 0.7x the replica-seconds of `fixed` tuned to the same SLO (the largest per-replica
     target, on a grid, with which `fixed` itself stays within 1% on the spike);
  2. spike10x (issue 12): apa misses at most `oracle-hpa`'s share + 0.5 points, at <= 1.2x
     its replica-seconds; next to it the same with Kubernetes' default HPA scale-up (before);
  2b. spike10x, at equal misses (a separate reading, next to 2, never instead of it): apa's
     replica-seconds at most 1.2x those of `oracle-hpa` with the least standing spare that
     misses no more than apa (with no spare when it already does): where apa buys fewer misses
     with more replicas than `oracle-hpa` (the 70B LLM), 2 compares costs at unequal misses;
  3. ramp, CPU classifier (pods start in 10 s), no provisioned floor: capacity for
     10,000 rps within 45 s of the ramp's start, in each of ten loop phases;
  4. diurnal: at most one scale direction change in any 5 minutes.
Next to them, what no reactive policy can beat (plugins/apa/simulator/oracle.py): `oracle` knows
the true demand every second and sets the replicas at once (pods still start in their time),
`oracle-hpa` reports it through KEDA and the HPA as rendered; with the standing spare either
needs to meet the spike target. The ramp is also run over ten loop phases (seeds), since one
phase can hide a sync landing just before or after the data.
Profiles use the example endpoints in the prod environment; trace rates (written for the CPU
classifier) are scaled per profile so each endpoint sees the same shapes within its range.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plugins.apa.horizontal import HorizontalWindow  # noqa: E402
from plugins.apa.simulator.endpoint import ServedSystem, served_system  # noqa: E402
from plugins.apa.simulator.hpa import ScalingPolicy  # noqa: E402
from plugins.apa.simulator.oracle import ORACLES  # noqa: E402
from plugins.apa.simulator.policies import ApaPolicy, View  # noqa: E402
from plugins.apa.simulator.profile import Profile, runtime_profile  # noqa: E402
from plugins.apa.simulator.report import policy_table  # noqa: E402
from plugins.apa.simulator.simulation import POLICIES, Settings, Simulation, simulate  # noqa: E402
from plugins.apa.simulator.trace import load_trace  # noqa: E402

TRACES = ("spike10x", "ramp", "diurnal", "bursty", "zero_and_back", "cost_drift")
PROFILES = (
    # (label, endpoint in prod, rate scale)
    ("CPU classifier", "fraud-scorer", 1.0),
    ("GPU embedder", "doc-embedder", 0.25),
    ("70B LLM", "support-llm", 0.0015),
)
NO_FLOOR_TRACES = ("zero_and_back",)
"""Traces run on the endpoint with concurrency min 0 (scale to zero), the case they exercise."""
SLO_BUDGET = 0.01
SPIKE_COST_RATIO = 0.7
RAMP_LIMIT_S = 45.0
THRASH_LIMIT = 1
HEADROOM_GRID = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0)
"""Standing spare (x the demand) tried for the reference policies on the spike."""
RAMP_SEEDS = range(1, 11)
DEFAULT_SCALE_UP = (ScalingPolicy("Percent", 100, 15.0), ScalingPolicy("Pods", 4, 15.0))
"""Kubernetes' default scale-up, max(+100%, +4 pods) per 15 s: what knobless rendered before
issue 12 (the rendered one lets a sync reach the proposal; the cap is the scaler's answer)."""
EQUAL_MISSES_STEPS = 8
"""Bisection steps for the equal-misses reference: the spare is found to within 19/256x."""
REFERENCE_MARGIN = 0.005
REFERENCE_COST = 1.2
"""Issue 12's spike target: apa misses at most `oracle-hpa` + 0.5 points, at <= 1.2x its cost."""
FIXED_GRID = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)
"""`fixed` targets tried when tuning to the SLO, as fractions of the true capacity."""


# --- what-if: variations of the shipped scaler ----------------------------------------------
# These wrap the shipped decision code (never copy it) to show what each part of it buys, and
# what a change to the rendered HPA behavior would.


class LittlesLaw(ApaPolicy):
    """The horizontal window without the gateway rate: demand is Little's law on the measured
    latency, the backlog an overload builds included (the scaler before the demand signal)."""

    def sample(self, view: View, instant: float) -> None:
        self.window.add(instant, view.observed.concurrency_rate(instant), 0.0)


class RateOnly(ApaPolicy):
    """Demand from the request rate itself, not the arrivals reconstructed from it: a window
    not told the query's range (the gRPC server until its registry passes it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = HorizontalWindow(self.system.window_s)


class NoFleetGuard(ApaPolicy):
    """`decide` without the replicas of its previous sample: latency and queue stress count
    while the fleet is changing (the vertical loop before the fleet-change guard)."""

    def vertical(self, view: View, instant: float) -> None:
        self.state = replace(self.state, replicas=None)
        super().vertical(view, instant)


class NoJumpGuard(ApaPolicy):
    """The windows without their jump guards: every reading counts at once (the scaler before
    issue 12, whose cap was the HPA's doubling per sync)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = HorizontalWindow(
            self.system.window_s, self.window.rate_range_s, jump_limit=math.inf
        )


WHAT_IF: tuple[tuple[str, type[ApaPolicy], bool, int | None], ...] = (
    # (label, scaler, Kubernetes' default HPA scale-up, rate() range of the queries)
    ("apa as shipped", ApaPolicy, False, None),
    ("- arrival estimate (rate only)", RateOnly, False, None),
    ("- fleet-change guard", NoFleetGuard, False, None),
    ("- demand signal (Little's law)", LittlesLaw, False, None),
    ("rate()[1m] instead of [30s]", ApaPolicy, False, 60),
    ("- jump guard", NoJumpGuard, False, None),
    ("HPA default scale-up (+100%/+4 per 15 s)", ApaPolicy, True, None),
)


def what_if(console: Console, seed: int) -> list[str]:
    lines = [
        "| profile | trace | variant | replica-s | vs fixed | over SLO + rejected (fixed) | "
        "to capacity | target/replica |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for label, endpoint, scale in PROFILES:
        system = served_system(ROOT, "prod", endpoint)
        profile = runtime_profile(
            system.runtime, cpu_cores=system.cpu_cores, gpu_count=system.gpu_count
        )
        for name in ("spike10x", "ramp", "bursty", "cost_drift"):
            trace = load_trace(ROOT / "bench" / "traces" / f"{name}.csv").scaled(scale)
            # The ramp target is about growing from almost nothing: no provisioned floor.
            served = without_floor(system) if name == "ramp" else system
            fixed = simulate(served, profile, trace, ["fixed"], Settings(seed=seed))
            base = fixed.summaries["fixed"]["replica_seconds"]
            for variant, policy, slow, window in WHAT_IF:
                runs_on = default_scale_up(served) if slow else served
                settings = Settings(seed=seed, rate_window_s=window)
                sim = simulate(runs_on, profile, trace, ["apa"], settings, apa_policy=policy)
                s = sim.summaries["apa"]
                target = s["per_replica_target"]
                ttc = ", ".join("never" if v is None else f"{v:g}" for v in s["time_to_capacity_s"])
                lines.append(
                    f"| {label} | {name} | {variant} | {s['replica_seconds']:,.0f} | "
                    f"{s['replica_seconds'] / base:.2f}x | {100 * slo_miss(s):.2f}% "
                    f"({100 * slo_miss(fixed.summaries['fixed']):.2f}%) | {ttc or '-'} | "
                    f"{target['initial']:g} → {target['final']:g} |"
                )
    for line in lines:
        console.print(line)
    return lines


def without_floor(system: ServedSystem) -> ServedSystem:
    """The same served version with concurrency min 0: KEDA may scale it to zero (the
    renderer's rule: minReplicaCount 0 when the floor is 0 and there is no schedule)."""
    bounds = replace(system.bounds, concurrency_min=0.0)
    return replace(system, bounds=bounds, min_replicas=0 if not system.schedule else 1)


def default_scale_up(system: ServedSystem) -> ServedSystem:
    up = replace(system.behavior.up, policies=DEFAULT_SCALE_UP)
    return replace(system, behavior=replace(system.behavior, up=up))


def reference(
    system: ServedSystem, profile: Profile, trace: Any, seed: int
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[float, float] | None]]:
    """The oracles on this trace, and for each the least standing spare on HEADROOM_GRID that
    meets the SLO budget with its replica-seconds (None if none on the grid does)."""
    base = simulate(system, profile, trace, ORACLES, Settings(seed=seed)).summaries
    needed: dict[str, tuple[float, float] | None] = {}
    for name in ORACLES:
        needed[name] = None
        for headroom in HEADROOM_GRID:
            settings = Settings(seed=seed, headroom=headroom)
            summary = simulate(system, profile, trace, [name], settings).summaries[name]
            if slo_miss(summary) <= SLO_BUDGET:
                needed[name] = (headroom, float(summary["replica_seconds"]))
                break
    return dict(base), needed


def equal_misses(
    system: ServedSystem, profile: Profile, trace: Any, seed: int, misses: float
) -> tuple[float, float, float] | None:
    """The least standing spare (x the demand, to EQUAL_MISSES_STEPS halvings between 1 and
    HEADROOM_GRID's top) with which `oracle-hpa` misses no more than `misses`, its
    replica-seconds and its misses: the perfectly informed cost of apa's miss level. None if
    even the top misses more (misses fall as the spare grows, so bisection finds the least)."""

    def run(headroom: float) -> dict[str, Any]:
        settings = Settings(seed=seed, headroom=headroom)
        return dict(simulate(system, profile, trace, ["oracle-hpa"], settings).summaries)[
            "oracle-hpa"
        ]

    low, high = 1.0, HEADROOM_GRID[-1]
    top = run(high)
    if slo_miss(top) > misses:
        return None
    best = (high, float(top["replica_seconds"]), slo_miss(top))
    first = run(low)
    if slo_miss(first) <= misses:
        return low, float(first["replica_seconds"]), slo_miss(first)
    for _ in range(EQUAL_MISSES_STEPS):
        middle = (low + high) / 2
        summary = run(middle)
        if slo_miss(summary) <= misses:
            high, best = middle, (middle, float(summary["replica_seconds"]), slo_miss(summary))
        else:
            low = middle
    return best


def ramp_phases(system: ServedSystem, profile: Profile, trace: Any) -> tuple[int, str]:
    """APA and `oracle-hpa` time to capacity on the ramp over RAMP_SEEDS (loop phases): how
    many phases meet RAMP_LIMIT_S, and the figures."""
    apa: list[float] = []
    oracle: list[float] = []
    for seed in RAMP_SEEDS:
        sim = simulate(system, profile, trace, ["apa", "oracle-hpa"], Settings(seed=seed))
        for into, name in ((apa, "apa"), (oracle, "oracle-hpa")):
            steps = sim.summaries[name]["time_to_capacity_s"]
            into.append(math.inf if not steps or steps[0] is None else float(steps[0]))
    met = sum(1 for v in apa if v <= RAMP_LIMIT_S)
    return met, (
        f"over {len(apa)} loop phases (seeds {RAMP_SEEDS.start}-{RAMP_SEEDS.stop - 1}): "
        f"met in {met}, {min(apa):g}-{max(apa):g} s (median {statistics.median(apa):g} s); "
        f"oracle-hpa {min(oracle):g}-{max(oracle):g} s"
    )


def slo_miss(summary: dict[str, Any]) -> float:
    return float(summary["over_slo_fraction"]) + float(summary["rejected_fraction"])


def tune_fixed(
    system: ServedSystem, profile: Profile, trace: Any, seed: int
) -> tuple[float, dict[str, Any], bool]:
    """The largest `fixed` target on the grid that keeps the spike within the SLO budget."""
    best: tuple[float, dict[str, Any]] | None = None
    closest: tuple[float, dict[str, Any]] | None = None
    for fraction in FIXED_GRID:
        target = fraction * profile.replica_capacity
        sim = simulate(system, profile, trace, ["fixed"], Settings(seed=seed, fixed_target=target))
        summary = sim.summaries["fixed"]
        if slo_miss(summary) <= SLO_BUDGET:
            best = (target, summary)
        if closest is None or slo_miss(summary) < slo_miss(closest[1]):
            closest = (target, summary)
    if best is not None:
        return best[0], best[1], True
    assert closest is not None
    return closest[0], closest[1], False


def reference_note(
    refs: dict[str, dict[str, Any]],
    needed: dict[str, tuple[float, float] | None],
    tuned_cost: float,
) -> str:
    parts = []
    for name, label in (("oracle", "reacting at once"), ("oracle-hpa", "behind the rendered HPA")):
        need = needed[name]
        spare = (
            f"needs {need[0]:g}x the demand standing to meet 1% ({need[1] / tuned_cost:.2f}x "
            "fixed tuned's cost)"
            if need is not None
            else f"no spare up to {HEADROOM_GRID[-1]:g}x meets 1%"
        )
        parts.append(f"perfectly informed {label}: {100 * slo_miss(refs[name]):.2f}%, {spare}")
    return "; ".join(parts)


def equal_misses_note(apa: dict[str, Any], frontier: tuple[float, float, float] | None) -> str:
    """apa's cost against the perfectly informed cost of its own miss level: comparing costs
    at unequal misses says little when one policy keeps more spare than the other."""
    if frontier is None:
        return f"oracle-hpa misses more than apa even with {HEADROOM_GRID[-1]:g}x the demand"
    spare, cost, _ = frontier
    return (
        f"at apa's misses oracle-hpa needs {spare:.2f}x the demand standing: apa costs "
        f"{apa['replica_seconds'] / cost:.2f}x that"
    )


def equal_misses_verdict(
    label: str, apa: dict[str, Any], frontier: tuple[float, float, float] | None
) -> tuple[str, bool, str]:
    """Target 2b: apa's replica-seconds against `oracle-hpa`'s at the least spare that misses
    no more than apa (no spare when `oracle-hpa` already does): the same cost ratio, REFERENCE_COST,
    read at equal misses. Fails when no spare on the grid gets `oracle-hpa` to apa's misses
    (then there is nothing to compare with, and apa is not shown to be as cheap)."""
    name = (
        f"spike10x {label}, at equal misses (next to the target above, not instead): apa's "
        f"replica-s <= {REFERENCE_COST:g}x oracle-hpa's with the least spare that misses no more"
    )
    if frontier is None:
        return name, False, equal_misses_note(apa, frontier)
    spare, cost, misses = frontier
    ratio = apa["replica_seconds"] / cost
    return (
        name,
        ratio <= REFERENCE_COST,
        f"apa {100 * slo_miss(apa):.2f}%, {apa['replica_seconds']:,.0f} replica-s; oracle-hpa "
        f"with {spare:.2f}x the demand standing {100 * misses:.2f}%, {cost:,.0f} replica-s: "
        f"apa costs {ratio:.2f}x that",
    )


def markdown_table(summaries: dict[str, dict[str, Any]]) -> list[str]:
    base = summaries.get("fixed", {}).get("replica_seconds")
    lines = [
        "| policy | replica-s | vs fixed | GPU-h | over SLO | rejected | p99 ms | to capacity | "
        "dir. changes (max/5 min) | target/replica |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for name, s in summaries.items():
        target = s["per_replica_target"]
        shown = (
            "-"
            if target is None
            else (
                f"{target['initial']:g}"
                if target["initial"] == target["final"]
                else f"{target['initial']:g} → {target['final']:g}"
            )
        )
        ttc = ", ".join("never" if v is None else f"{v:g}" for v in s["time_to_capacity_s"]) or "-"
        ratio = f"{s['replica_seconds'] / base:.2f}x" if base else "-"
        lines.append(
            f"| {name} | {s['replica_seconds']:,.0f} | {ratio} | {s['gpu_hours']:,.1f} | "
            f"{100 * s['over_slo_fraction']:.2f}% | {100 * s['rejected_fraction']:.2f}% | "
            f"{s['latency_ms']['p99']:g} | {ttc} | {s['direction_changes']} "
            f"({s['direction_changes_max_5min']}) | {shown} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown here")
    parser.add_argument(
        "--plot-dir", type=Path, help="write the spike10x plot of each profile here"
    )
    parser.add_argument("--traces", nargs="*", default=list(TRACES), choices=TRACES)
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also measure variations of the scaler (without the arrival estimate, the "
        "fleet-change guard, the jump guard or the demand signal, a 1 m rate range, Kubernetes' "
        "default HPA scale-up) on "
        "spike10x, ramp (no floor), bursty and cost_drift",
    )
    args = parser.parse_args(argv)
    console = Console(width=170, highlight=False)
    started = time.monotonic()
    markdown: list[str] = []
    summary = [
        "| profile | trace | " + " | ".join(POLICIES) + " |",
        "|---|---|" + "---|" * len(POLICIES),
    ]
    verdicts: list[tuple[str, bool, str]] = []
    for label, endpoint, scale in PROFILES:
        system = served_system(ROOT, "prod", endpoint)
        profile = runtime_profile(
            system.runtime, cpu_cores=system.cpu_cores, gpu_count=system.gpu_count
        )
        markdown += [f"### {label} ({endpoint}, {profile.runtime})", ""]
        for name in args.traces:
            trace = load_trace(ROOT / "bench" / "traces" / f"{name}.csv").scaled(scale)
            runs_on = without_floor(system) if name in NO_FLOOR_TRACES else system
            settings = Settings(seed=args.seed)
            sim: Simulation = simulate(runs_on, profile, trace, POLICIES, settings)
            summaries = dict(sim.summaries)
            floor = " (concurrency min 0)" if runs_on is not system else ""
            title = f"{label} — {name}{floor} — rps x{scale:g}"
            if name == "spike10x":
                target, tuned, met = tune_fixed(runs_on, profile, trace, args.seed)
                summaries[f"fixed@{target:g}"] = tuned
                apa = summaries["apa"]
                ratio = apa["replica_seconds"] / tuned["replica_seconds"]
                ok = slo_miss(apa) <= SLO_BUDGET and ratio <= SPIKE_COST_RATIO
                note = (
                    f"apa over SLO + rejected {100 * slo_miss(apa):.2f}% (<= 1%), replica-s "
                    f"{ratio:.2f}x of fixed tuned to the SLO (target {target:g}/replica"
                    f"{'' if met else ', which still misses the SLO: no grid target meets it'})"
                )
                refs, needed = reference(runs_on, profile, trace, args.seed)
                summaries.update(refs)
                note += "; " + reference_note(refs, needed, tuned["replica_seconds"])
                verdicts.append((f"spike10x {label}", ok, note))
                oracle = summaries["oracle-hpa"]
                cost = apa["replica_seconds"] / oracle["replica_seconds"]
                margin = slo_miss(apa) - slo_miss(oracle)
                slow = default_scale_up(runs_on)
                before = simulate(slow, profile, trace, ["apa", "oracle-hpa"], settings).summaries
                frontier = equal_misses(runs_on, profile, trace, args.seed, slo_miss(apa))
                verdicts.append(
                    (
                        f"spike10x {label}: apa misses <= oracle-hpa + 0.5 points at <= 1.2x its "
                        "replica-s",
                        margin <= REFERENCE_MARGIN and cost <= REFERENCE_COST,
                        f"apa {100 * slo_miss(apa):.2f}% vs oracle-hpa "
                        f"{100 * slo_miss(oracle):.2f}% ({100 * margin:+.2f} points), "
                        f"{cost:.2f}x its replica-s; oracle (no HPA) "
                        f"{100 * slo_miss(summaries['oracle']):.2f}%; with Kubernetes' default "
                        f"scale-up (before): apa {100 * slo_miss(before['apa']):.2f}%, "
                        f"oracle-hpa {100 * slo_miss(before['oracle-hpa']):.2f}%; "
                        + equal_misses_note(apa, frontier),
                    )
                )
                verdicts.append(equal_misses_verdict(label, apa, frontier))
                if args.plot_dir is not None:
                    from plugins.apa.simulator.plot import write_plot

                    write_plot(sim, args.plot_dir / f"simulate-spike10x-{endpoint}.png")
            if name == "diurnal":
                worst = sim.summaries["apa"]["direction_changes_max_5min"]
                verdicts.append(
                    (
                        f"diurnal {label}",
                        worst <= THRASH_LIMIT,
                        f"apa: at most {worst} direction change(s) in any 5 min "
                        f"({sim.summaries['apa']['direction_changes']} in the day)",
                    )
                )
            console.print(policy_table(summaries, title, "fixed"))
            base = summaries["fixed"]["replica_seconds"]
            cells = [
                f"{summaries[p]['replica_seconds'] / base:.2f}x, {100 * slo_miss(summaries[p]):.1f}%"
                for p in POLICIES
            ]
            summary.append(f"| {label} | {name}{floor} | " + " | ".join(cells) + " |")
            markdown += [f"**{name}**{floor}", "", *markdown_table(summaries), ""]
            if name == "ramp" and label == "CPU classifier":
                bare = without_floor(system)
                bare_sim = simulate(bare, profile, trace, POLICIES, settings)
                console.print(
                    policy_table(bare_sim.summaries, f"{title} (concurrency min 0)", "fixed")
                )
                markdown += [
                    "**ramp** (concurrency min 0)",
                    "",
                    *markdown_table(bare_sim.summaries),
                    "",
                ]
                steps = bare_sim.summaries["apa"]["time_to_capacity_s"]
                reached = steps[0] if steps else None
                ramps_met, phases = ramp_phases(bare, profile, trace)
                verdicts.append(
                    (
                        f"ramp 10 -> 10,000 rps, 10 s pods: capacity within "
                        f"{RAMP_LIMIT_S:g} s in 10 of 10 phases",
                        ramps_met == len(RAMP_SEEDS),
                        f"apa reached capacity {reached}s after the ramp started (no floor); "
                        f"{sim.summaries['apa']['time_to_capacity_s']} with prod's floor; "
                        + phases,
                    )
                )
    if args.what_if:
        console.print("\n[bold]what-if: variations of the shipped scaler[/]")
        markdown += ["### What-if: variations of the shipped scaler", ""]
        markdown += [*what_if(console, args.seed), ""]
    elapsed = time.monotonic() - started
    console.print("\n[bold]targets[/]")
    lines = ["| target | result | detail |", "|---|---|---|"]
    for name, ok, note in verdicts:
        console.print(f"  {'PASS' if ok else 'FAIL'}  {name}: {note}")
        lines.append(f"| {name} | {'PASS' if ok else 'FAIL'} | {note} |")
    console.print(f"\nbenchmark took {elapsed:.0f}s")
    if args.markdown is not None:
        header = [
            f"Measured with `python bench/autoscaling.py --seed {args.seed}` ({elapsed:.0f} s).",
            "",
        ]
        legend = [
            "",
            "Each cell: replica-seconds relative to `fixed` (same run), then the share of requests "
            "over the SLO or rejected.",
            "",
        ]
        document = header + lines + legend + summary + [""] + markdown
        args.markdown.write_text("\n".join(document) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
