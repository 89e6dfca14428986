"""The scaler's decision logic: samples in, decision out. No I/O, no clock (time is passed in).

Shared by the gRPC server and `knobless simulate`, so what the simulator predicts is what runs.

Horizontal axis (plugins/apa/horizontal.py, re-exported here): `answer` = replicas needed,
clamp(demand over the window, floor, max) / target, and IsActive. KEDA v2.20 reads the HPA target
only on reconcile, so the scaler keeps the HPA target at 1 and reports replicas needed; the HPA
computes ceil(value).

Vertical axis: `decide` adjusts the learned per-replica `target` from resource, latency and queue
signals: quick to decrease under stress — judged against the load the stress was seen at, so
replicas flooded by a horizontal lag do not shrink it — slow to increase when replicas are
saturated on concurrency yet healthy; only after a metric crossed its threshold for several
samples in a row, by a capped step, always within the per-replica bounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from plugins.apa.horizontal import (
    Answer,
    ArrivalEstimate,
    Bounds,
    ConcurrencyWindow,
    HorizontalWindow,
    aligned_instant,
    answer,
    demand,
    rate_range,
    replicas_needed,
    vertical_boundary,
)
from plugins.apa.metadata import ScheduleFloor
from plugins.apa.schedule import schedule_floor

__all__ = [
    "FLEET_CHANGE",
    "Answer",
    "ArrivalEstimate",
    "Bounds",
    "ConcurrencyWindow",
    "Decision",
    "HorizontalWindow",
    "ScheduleFloor",
    "Signals",
    "VerticalConfig",
    "VerticalState",
    "aligned_instant",
    "answer",
    "decide",
    "demand",
    "rate_range",
    "replicas_needed",
    "schedule_floor",
    "vertical_boundary",
]


@dataclass(frozen=True)
class Signals:
    """One sample of a served version, aggregated over its replicas. None = missing."""

    t: float
    replicas: float | None = None
    concurrency_per_replica: float | None = None
    cpu_utilization: float | None = None  # fraction of the CPU request, may exceed 1
    gpu_utilization: float | None = None  # 0..1
    memory_utilization: float | None = None  # fraction of the memory limit
    latency_ms: float | None = None  # mean (or p90) per request
    queue_per_replica: float | None = None  # requests waiting per replica


@dataclass(frozen=True)
class VerticalConfig:
    """Thresholds and pacing of the vertical axis.

    A resource is under stress above its `*_high`; it leaves room to grow below `*_low`.
    """

    cpu_high: float = 0.85
    cpu_low: float = 0.70
    gpu_high: float = 0.95
    gpu_low: float = 0.85
    memory_high: float = 0.90
    memory_low: float = 0.80
    latency_factor: float = 1.5  # stress when latency > baseline x this
    latency_ok_factor: float = 1.2  # healthy when latency <= baseline x this
    baseline_alpha: float = 0.1  # EWMA weight of a healthy latency sample in the baseline
    queue_high: float = 1.0  # waiting requests per replica
    # Replicas count as "saturated" at >= this fraction of the target. Lower (0.75-0.8) learns
    # up sooner but lets the GPU embedder's target overshoot its capacity on the diurnal trace
    # (2 direction changes in 5 minutes, knobless simulate): growth stays evidence-based.
    saturation: float = 0.9
    hysteresis_samples: int = 2  # consecutive stressed samples before a decrease
    increase_samples: int = 4  # consecutive saturated-and-healthy samples before an increase
    interval_s: float = 30.0
    max_step_up: float = 0.10  # an increase is at most +10 %...
    fast_step_up: float = 0.50  # ...or +50 % while every resource has >= `fast_headroom` x room
    fast_headroom: float = 2.0
    max_step_down: float = 0.30  # a decrease is at most -30 %

    def __post_init__(self) -> None:
        if not 0 < self.max_step_down < 1 or self.max_step_up <= 0:
            raise ValueError("max_step_down must be in (0, 1) and max_step_up > 0")
        if self.hysteresis_samples < 1 or self.increase_samples < 1:
            raise ValueError("hysteresis sample counts must be >= 1")


STRESS_METRICS = ("cpu", "gpu", "memory", "latency", "queue")
LOAD_METRICS = ("latency", "queue")
"""Stress judged per request in flight (`_capacity`: in flight per replica x a ratio)."""
FLEET_CHANGE = 0.5
"""Ready replicas moving by more than this fraction between two samples: the rate windows
(30 s) mix two fleet sizes while `replicas` is an instant gauge, so in flight per replica is
wrong by up to that much — and latency still carries the backlog the smaller fleet built. A
latency or queue reading then says nothing about the target; its streak holds. (On a 10x spike
this halved the CPU classifier's target mid-spike: 121 replicas for 38 needed.)"""


@dataclass(frozen=True)
class VerticalState:
    """The learned per-replica target and what hysteresis and the latency baseline need."""

    target: float
    stress_streaks: tuple[tuple[str, int], ...] = ()  # (metric, consecutive stressed samples)
    growth_streak: int = 0  # consecutive saturated-and-healthy samples
    latency_baseline_ms: float | None = None
    decided_at: float | None = None
    replicas: float | None = None  # ready replicas at the last sample (not persisted: optional)

    @classmethod
    def initial(cls, bounds: Bounds) -> VerticalState:
        return cls(target=bounds.clamp_target(bounds.per_replica_initial))

    def streak(self, metric: str) -> int:
        return dict(self.stress_streaks).get(metric, 0)


Action = Literal["hold", "increase", "decrease"]


@dataclass(frozen=True)
class Decision:
    state: VerticalState
    target: float
    action: Action
    reason: str
    code: str = "steady"  # low-cardinality reason (metrics label): steady, no_data, stress_cpu...


def _stress(sample: Signals, config: VerticalConfig, baseline: float | None) -> dict[str, float]:
    """Stressed metric -> the factor the target should shrink by (threshold / observed)."""
    found: dict[str, float] = {}
    if sample.cpu_utilization is not None and sample.cpu_utilization > config.cpu_high:
        found["cpu"] = config.cpu_high / sample.cpu_utilization
    if sample.gpu_utilization is not None and sample.gpu_utilization > config.gpu_high:
        found["gpu"] = config.gpu_high / sample.gpu_utilization
    if sample.memory_utilization is not None and sample.memory_utilization > config.memory_high:
        found["memory"] = config.memory_high / sample.memory_utilization
    if sample.latency_ms is not None and baseline is not None and baseline > 0:
        limit = baseline * config.latency_factor
        if sample.latency_ms > limit:
            found["latency"] = limit / sample.latency_ms
    if sample.queue_per_replica is not None and sample.queue_per_replica > config.queue_high:
        running = sample.concurrency_per_replica
        found["queue"] = running / (running + sample.queue_per_replica) if running else 0.0
    return found


def _capacity(
    metric: str, sample: Signals, running: float, config: VerticalConfig, baseline: float | None
) -> float:
    """In-flight requests per replica a stressed metric says a replica can take.

    Resources scale with load: `running` x threshold / observed. Latency: Little's law at the
    healthy latency for the throughput served (`running` x baseline / latency) — flooded
    replicas serve at their capacity, so this is what they can take, whatever the backlog.
    Queue: what runs, without what waits (the default concurrency counts both), or the
    throughput figure when it is larger: the queue is a gauge of this instant while `running`
    averages the rate window, so while a backlog grows their difference says little.
    """
    served = running * baseline / sample.latency_ms if sample.latency_ms and baseline else None
    if metric == "latency" and served is not None:
        return served
    if metric == "queue" and sample.queue_per_replica is not None:
        return max(running - sample.queue_per_replica, served or 0.0)
    for name, value, high in (
        ("cpu", sample.cpu_utilization, config.cpu_high),
        ("gpu", sample.gpu_utilization, config.gpu_high),
        ("memory", sample.memory_utilization, config.memory_high),
    ):
        if metric == name and value:
            return running * high / value
    return 0.0


def _known(sample: Signals) -> dict[str, float]:
    return {
        name: value
        for name, value in (
            ("cpu", sample.cpu_utilization),
            ("gpu", sample.gpu_utilization),
            ("memory", sample.memory_utilization),
            ("latency", sample.latency_ms),
            ("queue", sample.queue_per_replica),
        )
        if value is not None
    }


def _healthy_headroom(
    sample: Signals, config: VerticalConfig, baseline: float | None
) -> float | None:
    """Growth factor allowed by resource headroom, or None if the sample is not clearly healthy."""
    health = _known(sample)
    health.pop("memory", None)  # memory alone says nothing about room for more requests
    if not health:
        return None  # no evidence of health: never grow blind
    factor = math.inf
    for value, low, high in (
        (sample.cpu_utilization, config.cpu_low, config.cpu_high),
        (sample.gpu_utilization, config.gpu_low, config.gpu_high),
        (sample.memory_utilization, config.memory_low, config.memory_high),
    ):
        if value is None:
            continue
        if value > low:
            return None
        if value > 0:
            factor = min(factor, high / value)
    if sample.latency_ms is not None and (
        baseline is None or sample.latency_ms > baseline * config.latency_ok_factor
    ):
        return None
    if sample.queue_per_replica is not None and sample.queue_per_replica > 0:
        return None
    return factor


def decide(
    state: VerticalState,
    samples: Sequence[Signals],
    bounds: Bounds,
    config: VerticalConfig,
    now: float,
) -> Decision:
    """One vertical decision from the samples observed since the previous one (oldest first).

    Each sample extends or resets the per-metric stress streaks and the growth streak (a missing
    value leaves its streak unchanged). Decrease when some metric has been stressed for
    `hysteresis_samples` samples in a row, by the strongest indicated factor but at most
    `max_step_down`; otherwise increase when replicas have run at >= `saturation` x target while
    healthy for `increase_samples` samples, by at most `max_step_up` and the resource headroom.
    Streaks restart after every change. The target always stays within the per-replica bounds.
    """
    streaks = dict(state.stress_streaks) if state.stress_streaks else {}
    growth = state.growth_streak
    baseline = state.latency_baseline_ms
    stress_now: dict[str, float] = {}
    headroom: float | None = None
    seen_data = False
    fleet = state.replicas
    for sample in samples:
        known = _known(sample)
        seen_data = seen_data or bool(known) or sample.concurrency_per_replica is not None
        stress_now = _stress(sample, config, baseline)
        mixed = _fleet_changed(fleet, sample.replicas)
        if mixed:
            for metric in LOAD_METRICS:
                stress_now.pop(metric, None)
                known.pop(metric, None)  # neither extends nor breaks its streak
        if sample.replicas is not None:
            fleet = sample.replicas
        for metric in STRESS_METRICS:
            if metric in stress_now:
                streaks[metric] = streaks.get(metric, 0) + 1
            elif metric in known and not (metric == "latency" and baseline is None):
                streaks.pop(metric, None)
        headroom = _healthy_headroom(sample, config, baseline)
        saturated = (
            sample.concurrency_per_replica is not None
            and sample.concurrency_per_replica >= config.saturation * state.target
        )
        if (sample.concurrency_per_replica is not None or known) and not mixed:
            # A mixed sample's per-replica load is off by the fleet change: no growth evidence.
            growth = growth + 1 if (saturated and headroom is not None and not stress_now) else 0
        if sample.latency_ms is not None and "latency" not in stress_now and not mixed:
            if baseline is None:
                baseline = sample.latency_ms
            elif sample.latency_ms <= baseline * config.latency_ok_factor:
                baseline += config.baseline_alpha * (sample.latency_ms - baseline)
    # Direct construction: dataclasses.replace() is a measurable share of a 10,000-object round.
    base = VerticalState(
        state.target,
        tuple(sorted(streaks.items())) if streaks else (),
        growth,
        baseline,
        now,
        fleet,
    )
    target = state.target
    clamped = bounds.clamp_target(target)
    stable = {m: f for m, f in stress_now.items() if streaks.get(m, 0) >= config.hysteresis_samples}
    running = samples[-1].concurrency_per_replica if samples else None
    # What one replica can take under this stress, judged against the load it ran at rather
    # than the target: replicas flooded far above the target because there are too few of them
    # (the horizontal axis is catching up) say nothing against the target — shrinking it then
    # only multiplies replicas once the lag is over. Without a load figure, the target itself
    # is the reference, shrunk by the strongest factor.
    capacity = 0.0
    if stable:
        capacity = (
            target * min(stable.values())
            if running is None
            else min(_capacity(m, samples[-1], running, config, baseline) for m in stable)
        )
    if stable and target > bounds.per_replica_min and capacity >= target:
        return Decision(
            base,
            target,
            "hold",
            f"hold target {_fmt(target)}: stress at {_fmt(running or 0.0)} in flight per "
            f"replica, above what the target asks: too few replicas, not too high a target",
            "overloaded",
        )
    if stable and target > bounds.per_replica_min:
        factor = max(capacity / target, 1.0 - config.max_step_down)
        new = bounds.clamp_target(target * factor)
        worst = min(stable, key=lambda m: (stable[m], m))
        detail = ", ".join(_describe(m, samples[-1], config, baseline) for m in sorted(stable))
        new_state = VerticalState(new, (), 0, baseline, now, fleet)
        return Decision(
            new_state,
            new,
            "decrease",
            f"decrease target {_fmt(target)} -> {_fmt(new)}: {detail} for {streaks[worst]} samples",
            f"stress_{worst}",
        )
    can_grow = headroom is not None and clamped < bounds.per_replica_max
    if growth >= config.increase_samples and can_grow and headroom is not None:
        # Far from every resource threshold (a target started 30x too low), grow faster: the
        # headroom still caps the step, so it never jumps past a threshold.
        step = config.fast_step_up if headroom >= config.fast_headroom else config.max_step_up
        factor = min(1.0 + step, headroom)
        new = bounds.clamp_target(target * factor)
        if new > target:
            new_state = VerticalState(new, (), 0, baseline, now, fleet)
            return Decision(
                new_state,
                new,
                "increase",
                f"increase target {_fmt(target)} -> {_fmt(new)}: replicas saturated at "
                f"{_fmt(samples[-1].concurrency_per_replica or 0.0)} in flight and healthy "
                f"for {growth} samples",
                "saturated_healthy",
            )
    if clamped != target:
        return Decision(
            VerticalState(clamped, base.stress_streaks, growth, baseline, now, fleet),
            clamped,
            "decrease" if clamped < target else "increase",
            f"target {_fmt(target)} moved into per-replica bounds "
            f"{_fmt(bounds.per_replica_min)}..{_fmt(bounds.per_replica_max)}",
            "bounds",
        )
    if not seen_data:
        return Decision(base, target, "hold", f"hold target {_fmt(target)}: no data", "no_data")
    if stress_now:
        pending = ", ".join(
            f"{m} {streaks.get(m, 0)}/{config.hysteresis_samples}" for m in sorted(stress_now)
        )
        why = "at per-replica minimum" if target <= bounds.per_replica_min else "not yet stable"
        return Decision(
            base, target, "hold", f"hold target {_fmt(target)}: stress {why} ({pending})", "pending"
        )
    if growth:
        why = (
            "at per-replica maximum"
            if clamped >= bounds.per_replica_max
            else f"saturated and healthy {growth}/{config.increase_samples}"
        )
        return Decision(base, target, "hold", f"hold target {_fmt(target)}: {why}", "pending")
    return Decision(base, target, "hold", f"hold target {_fmt(target)}: steady", "steady")


def _fleet_changed(before: float | None, now: float | None) -> bool:
    if before is None or now is None:
        return False
    return abs(now - before) > FLEET_CHANGE * max(before, 1.0)


def _describe(metric: str, sample: Signals, config: VerticalConfig, baseline: float | None) -> str:
    if metric == "cpu":
        return f"cpu {_fmt(sample.cpu_utilization or 0.0)} > {_fmt(config.cpu_high)}"
    if metric == "gpu":
        return f"gpu {_fmt(sample.gpu_utilization or 0.0)} > {_fmt(config.gpu_high)}"
    if metric == "memory":
        return f"memory {_fmt(sample.memory_utilization or 0.0)} > {_fmt(config.memory_high)}"
    if metric == "latency":
        return (
            f"latency {_fmt(sample.latency_ms or 0.0)} ms > {_fmt(config.latency_factor)} x "
            f"baseline {_fmt(baseline or 0.0)} ms"
        )
    return f"queue {_fmt(sample.queue_per_replica or 0.0)}/replica > {_fmt(config.queue_high)}"


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
