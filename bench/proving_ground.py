"""The proving ground: the real scaler and the simulator's replica model against real parts.

    flock /tmp/bench.lock python bench/proving_ground.py [--short] [--steps 1,2,3,4] [--out DIR]

Everything runs on 127.0.0.1, started here: an MLflow registry with a scikit-learn digits model,
the model container `knobless compile` renders (bench/proving/site, environment `local`) run as a
process in a cgroup with its CPU limit as CFS quota, HAProxy 2.6 with its Prometheus exporter,
prometheus-process-exporter, Prometheus scraping every second, the real `knobless scaler` with
the rendered query templates and trigger metadata polled like KEDA, and an open-loop Poisson load
generator pinned to a core of its own.

1. Sweep: latency by load on one replica; the knee = in-flight where p50 is 1.5x its low-load value.
2. Vertical: the scaler, from the runtime's default per-replica target and from 4x the knee,
   learns a target within +-20% of the knee within 10 minutes of load (reasons printed).
3. Simulator: given the measured profile, its p50/p99 at 30/80/120% of the knee's rate, within 25%.
4. Horizontal: a load step on 1..2 replicas driven by the scaler through the HPA arithmetic; the
   time to follow it against the simulator's prediction for the same step (+-30%).

`--short` (CI, under 3 minutes): a shorter sweep, step 2 from above only, step 3 at 80%.
Prints JSON (and writes it with a plot into --out).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.proving.analysis import (  # noqa: E402
    Level,
    knee,
    levels,
    measured_profile,
    predict,
)
from bench.proving.ground import (  # noqa: E402
    ENDPOINT,
    ENVIRONMENT,
    SERVED,
    SITE,
    Ground,
    proving_ground,
)
from bench.proving.plot import write_plot  # noqa: E402
from bench.proving.steps import follow, learn  # noqa: E402
from plugins.apa.simulator.endpoint import served_system  # noqa: E402

SWEEP = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SWEEP_SHORT = (0.3, 0.5, 0.65, 0.8, 0.95)
"""Offered rates as fractions of the replica's overload throughput, which a first level at
OVERLOAD x 1 / (low-load latency) measures: a replica's knee is where it nears its capacity,
and 1 / (low-load latency) says little of that (a replica of more than one slot, or one whose
low-load latency is its idle core's: 8.3 ms at 5 rps, 6.7 ms at 35, on a quiet machine)."""
OVERLOAD = 3.0
LEARN_S, LEARN_S_SHORT = 600.0, 60.0
SHORT_SCALER = {"vertical": {"intervalSeconds": 10}}
"""The CI version decides every 10 s instead of 30 s (the same rule, three times as often)."""
LOW_RATE = 5.0
CHECK_LEVELS = (0.3, 0.8, 1.2)
CHECK_LEVELS_SHORT = (0.8,)
PREDICTION_TOLERANCE = 0.25


def sweep(ground: Ground, out: Path, short: bool) -> dict[str, Any]:
    seconds = 9.0 if short else 20.0
    low = levels(ground.load([(LOW_RATE, seconds + (0 if short else 5))], out / "low.json"))[0]
    overload_rate = round(OVERLOAD * 1000.0 / low.mean_ms, 1)
    (overload,) = levels(ground.load([(overload_rate, seconds)], out / "overload.json", seed=6))
    saturated = overload.throughput
    rates = [round(saturated * f, 1) for f in (SWEEP_SHORT if short else SWEEP)]
    swept = levels(ground.load([(r, seconds) for r in rates], out / "sweep.json", seed=2))
    found = knee(low, swept)
    return {
        "low": low,
        "levels": [*swept, overload],
        "knee": found,
        "saturated_throughput": saturated,
    }


def check_simulator(
    ground: Ground, out: Path, step1: dict[str, Any], short: bool
) -> dict[str, Any]:
    found = step1["knee"]
    startup_s = ground.replicas[0].ready_after_s or 10.0
    profile = measured_profile(step1["low"], step1["saturated_throughput"], startup_s)
    fractions = CHECK_LEVELS_SHORT if short else CHECK_LEVELS
    rates = [round(found.rate * f, 1) for f in fractions]
    seconds = 15.0 if short else 45.0
    measured = levels(ground.load([(r, seconds) for r in rates], out / "check.json", seed=3))
    rows = []
    for fraction, rate, level in zip(fractions, rates, measured, strict=True):
        p50, p99 = predict(profile, rate)
        rows.append(
            {
                "fraction_of_knee": fraction,
                "rate": rate,
                "measured": {
                    "p50_ms": round(level.p50_ms, 2),
                    "p99_ms": round(level.p99_ms, 2),
                    "in_flight": round(level.in_flight, 3),
                },
                "simulated": {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2)},
                "p50_ratio": round(p50 / level.p50_ms, 3),
                "p99_ratio": round(p99 / level.p99_ms, 3),
                "within": abs(p50 / level.p50_ms - 1) <= PREDICTION_TOLERANCE
                and abs(p99 / level.p99_ms - 1) <= PREDICTION_TOLERANCE,
            }
        )
    return {"profile": profile.to_json(), "levels": rows}


def _json(value: Any) -> Any:
    if isinstance(value, Level):
        return value.to_json()
    if hasattr(value, "__dataclass_fields__"):
        return {k: _json(v) for k, v in value.__dict__.items()}
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI version (under 3 minutes)")
    parser.add_argument("--steps", default="1,2,3,4", help="comma-separated steps to run")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "proving")
    parser.add_argument("--plot", type=Path, help="PNG path (default: OUT/proving_ground.png)")
    args = parser.parse_args()
    steps = {int(s) for s in args.steps.split(",")}
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"short": args.short}
    started = time.monotonic()
    config = SHORT_SCALER if args.short else None
    with (
        tempfile.TemporaryDirectory(prefix="proving-") as tmp,
        proving_ground(Path(tmp), scaler_config=config) as ground,
    ):
        report["startup_s"] = round(ground.replicas[0].ready_after_s or 0.0, 1)
        step1 = sweep(ground, args.out, args.short)
        report["sweep"] = _json(step1)
        if step1["knee"] is None:
            print(json.dumps(_json(report), indent=2))
            raise SystemExit("no knee: p50 never rose 50% in the sweep")
        found = step1["knee"]
        if 3 in steps:
            report["simulator"] = check_simulator(ground, args.out, step1, args.short)
        if 2 in steps:
            starts: dict[str, float | None] = {"above": round(4 * found.in_flight, 2)}
            if not args.short:
                starts = {"default": None, **starts}
            report["learning"] = learn(
                ground,
                found.in_flight,
                found.rate,
                args.out,
                seconds=LEARN_S_SHORT if args.short else LEARN_S,
                starts=starts,
                phase_s=20.0 if args.short else 60.0,
            )
        if 4 in steps and not args.short:
            startup_s = ground.replicas[0].ready_after_s or 10.0
            profile = measured_profile(step1["low"], step1["saturated_throughput"], startup_s)
            system = served_system(SITE, ENVIRONMENT, ENDPOINT, SERVED)
            report["horizontal"] = follow(
                ground, profile, system, found.rate, args.out, before_s=120.0, after_s=180.0
            )
    report["seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(_json(report), indent=2)
    (args.out / "proving_ground.json").write_text(text + "\n")
    write_plot(json.loads(text), args.plot or args.out / "proving_ground.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
