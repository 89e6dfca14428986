"""Figures from what the load generator recorded: latency per load level, the knee, the measured
profile, and the simulator's prediction for the same load (pure functions, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plugins.apa.simulator.engine import Inputs, simulate_policy
from plugins.apa.simulator.policies import View
from plugins.apa.simulator.profile import Profile
from plugins.apa.simulator.queueing import LOG_BIN
from plugins.apa.simulator.results import LatencyDistribution

KNEE_RISE = 1.5
"""The knee: the in-flight count at which p50 latency is 50% above its low-load value."""
SETTLE_S = 3.0
"""Requests sent in a phase's first seconds are left out (the queue of the previous level)."""


@dataclass(frozen=True)
class Level:
    """One load level in steady state."""

    rate: float  # offered, requests per second
    throughput: float  # completed OK per second
    in_flight: float  # Little's law: throughput x mean latency
    p50_ms: float
    p99_ms: float
    mean_ms: float
    cv: float  # of latency
    errors: int
    dropped: int

    def to_json(self) -> dict[str, float]:
        return {k: round(float(v), 3) for k, v in self.__dict__.items()}


def levels(result: dict[str, object], settle_s: float = SETTLE_S) -> list[Level]:
    """Per phase of one load-generator run, its steady part."""
    phases = result["phases"]
    requests = result["requests"]
    assert isinstance(phases, list) and isinstance(requests, list)
    found = []
    begin = 0.0
    for index, phase in enumerate(phases):
        seconds = float(phase["seconds"])
        lo, hi = begin + settle_s, begin + seconds
        mine = [r for r in requests if r[0] == index and lo <= r[1] < hi]
        ok = np.array([r[2] for r in mine if r[3] == 200], dtype=float)
        span = hi - lo
        if len(ok) == 0:
            found.append(
                Level(
                    phase["rate"],
                    0.0,
                    0.0,
                    math.nan,
                    math.nan,
                    math.nan,
                    math.nan,
                    len(mine),
                    int(phase["dropped"]),
                )
            )
        else:
            throughput = len(ok) / span
            found.append(
                Level(
                    rate=float(phase["rate"]),
                    throughput=throughput,
                    in_flight=throughput * float(ok.mean()) / 1000.0,
                    p50_ms=float(np.percentile(ok, 50)),
                    p99_ms=float(np.percentile(ok, 99)),
                    mean_ms=float(ok.mean()),
                    cv=float(ok.std() / ok.mean()),
                    errors=len(mine) - len(ok),
                    dropped=int(phase["dropped"]),
                )
            )
        begin += seconds
    return found


@dataclass(frozen=True)
class Knee:
    in_flight: float
    rate: float  # the offered rate at the knee (interpolated)
    p50_ms: float


def knee(low: Level, sweep: Sequence[Level], rise: float = KNEE_RISE) -> Knee | None:
    """Where p50 reaches `rise` x the low-load p50 for good, interpolated linearly between
    levels (in-flight and rate alike); None if no level of the sweep got there.

    p50 is read as its lower envelope from above (each level's p50 is the least of it and every
    higher level's): on a shared machine one level can catch a burst of someone else's work,
    and a knee is where latency stays up, not where it spiked once."""
    threshold = rise * low.p50_ms
    ordered = sorted(sweep, key=lambda lv: lv.rate)
    envelope = [min(lv.p50_ms for lv in ordered[i:]) for i in range(len(ordered))]
    previous, previous_p50 = low, low.p50_ms
    for level, p50 in zip(ordered, envelope, strict=True):
        if p50 >= threshold:
            span = p50 - previous_p50
            f = 1.0 if span <= 0 else (threshold - previous_p50) / span
            span = level.p50_ms - previous.p50_ms
            f = 1.0 if span <= 0 else (threshold - previous.p50_ms) / span
            return Knee(
                in_flight=previous.in_flight + f * (level.in_flight - previous.in_flight),
                rate=previous.rate + f * (level.rate - previous.rate),
                p50_ms=threshold,
            )
        previous, previous_p50 = level, p50
    return None


def measured_profile(low: Level, saturated_throughput: float, startup_s: float) -> Profile:
    """The simulator's profile from the sweep: service time and its spread at low load, and the
    capacity the replica's throughput shows (the most it completed per second x service time)."""
    from plugins.apa.simulator.profile import runtime_profile

    base = runtime_profile("mlflow", cpu_cores=1.0)
    return base.with_overrides(
        name="digits (measured)",
        service_time_ms=low.mean_ms,
        service_time_cv=low.cv,
        replica_capacity=saturated_throughput * low.mean_ms / 1000.0,
        startup_s=startup_s,
    )


class _Hold:
    """A policy that keeps one replica (the sweep's fleet)."""

    name = "one replica"
    initial = 1

    def tick(self, view: View) -> int | None:
        return None


def predict(
    profile: Profile, rate: float, seconds: int = 600, seed: int = 1
) -> tuple[float, float]:
    """(p50, p99) ms the simulator's replica model gives one replica at a constant `rate`."""
    rng = np.random.default_rng(seed)
    warmup = 30
    steps = warmup + seconds
    inputs = Inputs(
        arrivals=rng.poisson(rate, steps).astype(float),
        rate=np.full(steps, rate),
        cost=np.ones(steps),
        profile=profile,
        scrape_s=1,
        warmup_steps=warmup,
        max_replicas=1,
    )
    run = simulate_policy(_Hold(), inputs)
    recorded = np.nonzero(run.slowdown)[0]
    latency = LatencyDistribution(recorded * LOG_BIN, run.slowdown[recorded], profile)
    return latency.quantile(0.5), latency.quantile(0.99)
