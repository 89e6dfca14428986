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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from plugins.apa.capacity import (
    FIT_RESOURCES,
    Estimate,
    add_point,
    busy_slots,
    knee_estimate,
    resource_estimate,
)
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

    A resource is under stress above its `*_high`; the capacity estimates (plugins/apa/capacity.py)
    are where its line per request in flight reaches that same threshold, so learning and stress
    agree on what a replica can take.
    """

    cpu_high: float = 0.90
    gpu_high: float = 0.95
    memory_high: float = 0.90
    latency_factor: float = 1.5  # stress when latency > baseline x this
    latency_ok_factor: float = 1.2  # healthy when latency <= baseline x this; above: the knee
    baseline_alpha: float = 0.1  # EWMA weight of a healthy latency sample above the baseline...
    baseline_down_alpha: float = 0.5  # ...and of one below it (a first sample may be loaded)
    queue_high: float = 1.0  # waiting requests per replica
    hysteresis_samples: int = 2  # consecutive samples before a decrease
    increase_samples: int = 2  # consecutive healthy samples saying "more" before an increase
    interval_s: float = 30.0
    max_step_up: float = 0.50  # an increase is at most +50 % per decision
    max_step_down: float = 0.30  # a decrease is at most -30 % per decision
    deadband: float = 0.10  # an estimate within +-10 % of the target changes nothing
    fit_decay: float = 0.85  # weight of the fit's past per sample (half-life ~2 min at 30 s)
    min_spread: float = 0.10  # load spread (std / mean) a slope needs
    max_extrapolation: float = 30.0  # a fit says at most this x the mean load it saw
    probe_factor: float = 1.5  # without a resource signal: grow to at most this x the healthy load
    evidence_margin: float = 1.2  # with one: at most this x what the evidence supports
    # Replicas carrying less than this share of the target say nothing about it: at 10 rps on
    # a floor of 8 replicas (0.02 in flight each, the CPU at its idle use) the line through the
    # origin read 0.64 a replica and took a right target from 8 to 1 in 150 s (64 replicas).
    min_support_share: float = 0.02
    knee_memory_s: float = 3600.0  # a latency knee caps growth this long (or until healthier)

    def __post_init__(self) -> None:
        if not 0 < self.max_step_down < 1 or self.max_step_up <= 0:
            raise ValueError("max_step_down must be in (0, 1) and max_step_up > 0")
        if self.hysteresis_samples < 1 or self.increase_samples < 1:
            raise ValueError("hysteresis sample counts must be >= 1")
        if not 0 < self.fit_decay <= 1 or self.deadband < 0 or self.probe_factor < 1:
            raise ValueError("fit_decay must be in (0, 1], deadband >= 0, probe_factor >= 1")


STRESS_METRICS = ("cpu", "gpu", "memory", "latency", "queue")
LOAD_METRICS = ("latency", "queue")
"""Stress judged per request in flight (`_capacity`: in flight per replica x a ratio)."""
FLEET_CHANGE = 0.5
"""Ready replicas moving by more than this fraction between two samples: the rate windows
(30 s) mix two fleet sizes while `replicas` is an instant gauge, so in flight per replica is
wrong by up to that much — and latency still carries the backlog the smaller fleet built. A
latency or queue reading then says nothing about the target; its streak holds, and no fit or
knee learns from it. (On a 10x spike this halved the CPU classifier's target mid-spike: 121
replicas for 38 needed.)"""


@dataclass(frozen=True)
class VerticalState:
    """The learned per-replica target and the evidence behind it (hysteresis streaks, the
    latency baseline, the resource fit, the latency knee, the highest healthy load)."""

    target: float
    stress_streaks: tuple[tuple[str, int], ...] = ()  # (metric, consecutive stressed samples)
    growth_streak: int = 0  # consecutive healthy samples whose estimate is above the target
    latency_baseline_ms: float | None = None
    decided_at: float | None = None
    replicas: float | None = None  # ready replicas at the last sample (not persisted: optional)
    fit: tuple[float, ...] = ()  # capacity.add_point sums (empty: nothing fitted yet)
    knee: float | None = None  # capacity the latency knee showed (in flight per replica)
    knee_at: float | None = None
    knee_resources: float | None = None  # what the resource fit said when the knee was seen
    healthy_load: float = 0.0  # most in flight per replica seen with healthy latency
    shrink_streak: int = 0  # consecutive samples whose exact estimate is below the target

    @classmethod
    def initial(cls, bounds: Bounds) -> VerticalState:
        return cls(target=bounds.clamp_target(bounds.per_replica_initial))

    def streak(self, metric: str) -> int:
        return dict(self.stress_streaks).get(metric, 0)


Action = Literal["hold", "increase", "decrease"]


class Decision:
    """What `decide` chose: the new state and target, the action, why (`reason`) and a
    low-cardinality reason `code` (a metrics label: steady, no_data, stress_cpu, ...).

    A hold's reason is formatted only when read: 10,000 ScaledObjects hold every 30 s, and the
    sampler logs holds at DEBUG only (formatting them all took a third of a round's CPU)."""

    __slots__ = ("_reason", "action", "code", "state", "target")

    def __init__(
        self,
        state: VerticalState,
        target: float,
        action: Action,
        reason: str | Callable[[], str],
        code: str = "steady",
    ) -> None:
        self.state = state
        self.target = target
        self.action: Action = action
        self._reason = reason
        self.code = code

    @property
    def reason(self) -> str:
        if not isinstance(self._reason, str):
            self._reason = self._reason()
        return self._reason

    def _key(self) -> tuple[VerticalState, float, str, str, str]:
        return (self.state, self.target, self.action, self.reason, self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decision) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Decision(target={self.target!r}, action={self.action!r}, code={self.code!r}, "
            f"reason={self.reason!r}, state={self.state!r})"
        )


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


HEALTHY_QUEUE_SHARE = 0.1
"""Waiting requests per replica still healthy, as a share of `queue_high`: vLLM's waiting gauge
averaged over a fleet reads 0.02-0.05 a replica at 25% of its capacity (a request between its
arrival and its first batch), and "nothing queued" held a 70B model's growth at 48 for 96 for
six minutes on spike10x."""


def _healthy(sample: Signals, config: VerticalConfig, baseline: float | None) -> bool:
    """Clear evidence that replicas have room: a load figure and a CPU, GPU or latency reading,
    latency within `latency_ok_factor` of the baseline, next to nothing queued. Missing data is never
    evidence of health: the target never grows blind."""
    if sample.concurrency_per_replica is None or sample.concurrency_per_replica <= 0:
        return False
    if (
        sample.cpu_utilization is None
        and sample.gpu_utilization is None
        and (sample.latency_ms is None or baseline is None)
    ):
        return False
    if sample.latency_ms is not None and (
        baseline is None or sample.latency_ms > baseline * config.latency_ok_factor
    ):
        return False
    queue = sample.queue_per_replica
    return queue is None or queue <= HEALTHY_QUEUE_SHARE * config.queue_high


@dataclass(frozen=True)
class _Evidence:
    """What the samples say a replica can take: at most `ceiling` (two-sided estimates: fits
    with spread, the knee), at least `floor` (lower bounds); growth goes up to `grow_to`."""

    ceiling: Estimate | None
    grow_to: Estimate | None


def _least_resource(fit: tuple[float, ...], config: VerticalConfig) -> float | None:
    """The least of what the fitted resources' lines say a replica takes (None: no line)."""
    values = [
        e.value
        for index, high in ((0, config.cpu_high), (1, config.gpu_high))
        if (e := resource_estimate(fit, index, high, config.min_spread, config.max_extrapolation))
        is not None
    ]
    return min(values) if values else None


def _lesser(a: Estimate | None, b: Estimate | None) -> Estimate | None:
    """The binding one of two estimates, ordered as `capacity.combine` orders them."""
    if a is None:
        return b
    if b is None or a.value < b.value:
        return a
    if b.value < a.value:
        return b
    return a if (not a.exact, a.source) <= (not b.exact, b.source) else b


def _usable(estimate: Estimate | None) -> Estimate | None:
    if estimate is None or not math.isfinite(estimate.value) or estimate.value <= 0:
        return None
    return estimate


_ONE_LOAD = tuple(f"{name} at one load" for name in FIT_RESOURCES)


def _evidence(
    fit: tuple[float, ...],
    knee: float | None,
    knee_resources: float | None,
    healthy_load: float,
    sample: Signals | None,
    config: VerticalConfig,
    target: float,
    baseline: float | None,
) -> _Evidence:
    # Per fitted resource what its line says a replica takes (exact or a lower bound), folded
    # as found (this runs for every sample of every ScaledObject): the least exact estimate,
    # the least lower bound, the least of either.
    exact: Estimate | None = None
    lower: Estimate | None = None
    least: float | None = None
    load = None
    if sample is not None and sample.concurrency_per_replica:
        load = busy_slots(sample.concurrency_per_replica, sample.latency_ms, baseline)
    for index, high in ((0, config.cpu_high), (1, config.gpu_high)):
        estimate = resource_estimate(fit, index, high, config.min_spread, config.max_extrapolation)
        value = None
        if sample is not None:
            value = sample.cpu_utilization if index == 0 else sample.gpu_utilization
        if load and value and value <= high and (estimate is None or not estimate.exact):
            # This sample's own line through the origin: a lower bound for this resource, the
            # better one when the fit's points are older or fewer (a fleet still changing).
            one = load * high / value
            if estimate is None or one > estimate.value:
                estimate = Estimate(one, False, _ONE_LOAD[index])
        if estimate is None:
            continue
        least = estimate.value if least is None else min(least, estimate.value)
        if estimate.exact:
            exact = _lesser(exact, estimate)
        else:
            lower = _lesser(lower, estimate)
    if knee is not None:
        # The knee, moved by as much as the resources' estimate moved since it was seen: a knee
        # measured while each request cost twice the CPU is half the capacity once the cost is
        # back, and the other way round (cost drift) — the ratio holds even when the fit's own
        # figure is off. A pure pool or connection limit shows no such change and stays put.
        scaled = knee if knee_resources is None or least is None else knee * least / knee_resources
        exact = _lesser(exact, Estimate(scaled, True, "the latency knee"))
    # No claim past what anything supports: the most seen healthy, or what every resource's
    # line allows, with a probe's margin. A target far above it (a start 10x too high, held by
    # a provisioned floor or the HPA's scale-down window where nothing stresses) comes down.
    support = healthy_load if least is None else max(healthy_load, least)
    if support > 0 and healthy_load >= config.min_support_share * target:
        # Without a resource line (latency alone) this is the probe: a bounded step past the
        # load already seen healthy, kept only while latency stays healthy (past the knee, the
        # knee decides).
        if least is not None:
            # Tighter: a resource line's lower bound errs low by the idle use, so a target held
            # just above it makes the fleet change, and the fit gets the spread it needs.
            margin, source = config.evidence_margin, "the evidence so far"
        else:
            margin, source = config.probe_factor, "probe past the healthy load"
        exact = _lesser(exact, Estimate(support * margin, True, source))
    return _Evidence(_usable(exact), _usable(_lesser(exact, lower)))


def decide(
    state: VerticalState,
    samples: Sequence[Signals],
    bounds: Bounds,
    config: VerticalConfig,
    now: float,
) -> Decision:
    """One vertical decision from the samples observed since the previous one (oldest first).

    Each sample extends or resets the per-metric stress streaks (a missing value leaves its
    streak unchanged), teaches the latency baseline when healthy, adds a point to the resource
    fit when replicas run below their knee and thresholds, and records the knee when past it.
    Then, in order:
    1. stress for `hysteresis_samples` samples in a row: decrease quickly, to what the stressed
       metric says a replica takes at the load it was seen at (never because of a lag: when
       that is above the target, hold), at most `max_step_down`;
    2. an exact estimate below the target by more than `deadband`, for `hysteresis_samples`
       samples: decrease to it, at most `max_step_down`;
    3. healthy samples whose estimate (exact or a lower bound) is above the target by more than
       `deadband`, `increase_samples` in a row: increase to it, at most `max_step_up`.
    The target always stays within the per-replica bounds; every decision says why.
    """
    streaks = dict(state.stress_streaks) if state.stress_streaks else {}
    growth = state.growth_streak
    shrink = state.shrink_streak
    baseline = state.latency_baseline_ms
    fit = state.fit
    knee, knee_at, knee_resources = state.knee, state.knee_at, state.knee_resources
    healthy_load = state.healthy_load
    stress_now: dict[str, float] = {}
    seen_data = False
    healthy = False
    fresh = False  # the last sample had a load figure: estimates may move the target
    fleet = state.replicas
    evidence = _Evidence(None, None)
    for sample in samples:
        latency = sample.latency_ms
        queue = sample.queue_per_replica
        stress_now = _stress(sample, config, baseline)
        mixed = _fleet_changed(fleet, sample.replicas)
        # The fit needs load and use over the same replicas: the rates average the window while
        # `replicas` is an instant gauge, so a sample right after any fleet change pairs the
        # new count with the old fleet's use (and made the agent's fit read 512 for 300).
        steady_fleet = fleet is not None and sample.replicas == fleet
        # A fleet that grew still gives growth evidence: its load per replica reads low (the
        # window's requests over the new count) and its latency high (the old fleet's backlog),
        # so a healthy reading then is healthy, and a bound from it errs low.
        grew = (
            mixed and sample.replicas is not None and fleet is not None and sample.replicas > fleet
        )
        if mixed:
            for metric in LOAD_METRICS:
                stress_now.pop(metric, None)
            latency_known = queue_known = False  # neither extends nor breaks its streak
        else:
            latency_known, queue_known = latency is not None, queue is not None
        known = (
            sample.cpu_utilization is not None
            or sample.gpu_utilization is not None
            or sample.memory_utilization is not None
            or latency_known
            or queue_known
        )
        seen_data = seen_data or known or sample.concurrency_per_replica is not None
        if sample.replicas is not None:
            fleet = sample.replicas
        if stress_now or streaks:  # nothing stressed and no streak: nothing to count or break
            for metric, present in (
                ("cpu", sample.cpu_utilization is not None),
                ("gpu", sample.gpu_utilization is not None),
                ("memory", sample.memory_utilization is not None),
                ("latency", latency_known and baseline is not None),
                ("queue", queue_known),
            ):
                if metric in stress_now:
                    streaks[metric] = streaks.get(metric, 0) + 1
                elif present:
                    streaks.pop(metric, None)
        load = sample.concurrency_per_replica
        past_knee = (
            latency is not None
            and baseline is not None
            and latency > baseline * config.latency_ok_factor
        )
        if load is not None and load > 0 and not mixed:
            if past_knee and latency is not None and baseline is not None and steady_fleet:
                # Throughput per replica needs the replicas the window served with.
                knee = knee_estimate(load, latency, baseline, sample.replicas)
                knee_at = sample.t
                knee_resources = _least_resource(fit, config)
            elif not past_knee:
                # The linear part only: past the knee or a threshold the line bends.
                cpu, gpu = sample.cpu_utilization, sample.gpu_utilization
                point = (
                    cpu if cpu is not None and cpu <= config.cpu_high else None,
                    gpu if gpu is not None and gpu <= config.gpu_high else None,
                )
                if point != (None, None) and steady_fleet:
                    fit = add_point(
                        fit, busy_slots(load, latency, baseline), point, config.fit_decay
                    )
                if latency is not None and baseline is not None:
                    healthy_load = max(healthy_load, load)
                    if knee is not None and load > knee:
                        knee = knee_at = knee_resources = None  # healthy past it: it moved
        if knee_at is not None and sample.t - knee_at > config.knee_memory_s:
            knee = knee_at = knee_resources = None
        # Only unstressed samples teach the baseline: a first reading from replicas with a hot
        # CPU or a queue is a loaded latency, and a baseline learned from it hides every knee
        # (the linear model started 10x too high held 3x its capacity for 8 minutes).
        if latency is not None and not stress_now and not mixed:
            if baseline is None:
                baseline = latency
            elif latency < baseline:
                baseline += config.baseline_down_alpha * (latency - baseline)
            elif latency <= baseline * config.latency_ok_factor:
                baseline += config.baseline_alpha * (latency - baseline)
        healthy = (not mixed or grew) and not stress_now and _healthy(sample, config, baseline)
        fresh = load is not None and load > 0
        evidence = _evidence(
            fit, knee, knee_resources, healthy_load, sample, config, state.target, baseline
        )
        target = state.target
        ceiling, grow_to = evidence.ceiling, evidence.grow_to
        if not mixed and (load is not None or known):
            too_high = ceiling is not None and ceiling.value * (1 + config.deadband) < target
            shrink = shrink + 1 if too_high else 0
        if (not mixed or grew) and (load is not None or known):
            more = grow_to is not None and grow_to.value > target * (1 + config.deadband)
            growth = growth + 1 if (healthy and more) else 0
    base = VerticalState(
        state.target,
        tuple(sorted(streaks.items())) if streaks else (),
        growth,
        baseline,
        now,
        fleet,
        fit,
        knee,
        knee_at,
        knee_resources,
        healthy_load,
        shrink,
    )
    return _choose(
        state,
        base,
        samples,
        bounds,
        config,
        streaks,
        stress_now,
        evidence,
        seen_data,
        healthy,
        fresh,
    )


CEILING_SHARE = 0.95
"""The fleet is at its ceiling when its replicas x the target reach this share of
concurrency.max (the HPA's rounding and tolerance keep it a little under)."""


def _at_ceiling(sample: Signals, bounds: Bounds, target: float) -> bool:
    """Whether the horizontal axis cannot add replicas: the fleet holds the concurrency max."""
    replicas = sample.replicas
    return replicas is not None and replicas * target >= CEILING_SHARE * bounds.concurrency_max


def _choose(
    state: VerticalState,
    base: VerticalState,
    samples: Sequence[Signals],
    bounds: Bounds,
    config: VerticalConfig,
    streaks: dict[str, int],
    stress_now: dict[str, float],
    evidence: _Evidence,
    seen_data: bool,
    healthy: bool,
    fresh: bool,
) -> Decision:
    target = state.target
    baseline = base.latency_baseline_ms
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
    blind_at_ceiling = stable and baseline is None and _at_ceiling(samples[-1], bounds, target)
    if blind_at_ceiling:
        # No more replicas are coming (replicas x target is the concurrency ceiling), so the
        # stress is the target's, not a horizontal lag; with no healthy latency ever seen a
        # saturated resource cannot say by how much (0.9 / 0.99 CPU), so the quick step. Seen:
        # a single-slot model started 10x too high held 9.2 for 1 with 64% rejected for 2 h.
        capacity = target * (1.0 - config.max_step_down)
    if stable and target > bounds.per_replica_min and capacity >= target * (1 - 1e-9):
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
        if blind_at_ceiling:
            detail += " at the concurrency ceiling, no healthy latency seen yet"
        # Streaks go on: a stress that outlasts the decrease is judged again, against the load
        # it is seen at, so a lag after the change holds the target rather than shrinking it.
        return Decision(
            _moved(base, new, stress_reset=False),
            new,
            "decrease",
            f"decrease target {_fmt(target)} -> {_fmt(new)}: {detail} for {streaks[worst]} samples",
            f"stress_{worst}",
        )
    ceiling, grow_to = evidence.ceiling, evidence.grow_to
    if (
        ceiling is not None
        and fresh
        and base.shrink_streak >= config.hysteresis_samples
        and clamped > bounds.per_replica_min
    ):
        new = bounds.clamp_target(max(ceiling.value, target * (1.0 - config.max_step_down)))
        if new < target:
            return Decision(
                _moved(base, new),
                new,
                "decrease",
                f"decrease target {_fmt(target)} -> {_fmt(new)}: {ceiling.source} says a "
                f"replica takes {_fmt(ceiling.value)} (for {base.shrink_streak} samples)",
                "estimate_down",
            )
    if (
        grow_to is not None
        and healthy  # the last sample itself: a gap never extends an old streak into growth
        and base.growth_streak >= config.increase_samples
        and clamped < bounds.per_replica_max
    ):
        new = bounds.clamp_target(min(grow_to.value, target * (1.0 + config.max_step_up)))
        if new > target:
            probe = grow_to.source.startswith("probe")
            what = "at least" if not grow_to.exact else ""
            return Decision(
                _moved(base, new),
                new,
                "increase",
                f"increase target {_fmt(target)} -> {_fmt(new)}: {grow_to.source} says a "
                f"replica takes {what + ' ' if what else ''}{_fmt(grow_to.value)}, healthy for "
                f"{base.growth_streak} samples",
                "probe" if probe else "estimate_up",
            )
    if clamped != target:
        return Decision(
            _moved(base, clamped, stress_reset=False),
            clamped,
            "decrease" if clamped < target else "increase",
            f"target {_fmt(target)} moved into per-replica bounds "
            f"{_fmt(bounds.per_replica_min)}..{_fmt(bounds.per_replica_max)}",
            "bounds",
        )
    if not seen_data:
        return Decision(
            base, target, "hold", lambda: f"hold target {_fmt(target)}: no data", "no_data"
        )
    if stress_now:
        counts = {m: streaks.get(m, 0) for m in stress_now}

        def stressed() -> str:
            pending = ", ".join(
                f"{m} {counts[m]}/{config.hysteresis_samples}" for m in sorted(counts)
            )
            why = "at per-replica minimum" if target <= bounds.per_replica_min else "not yet stable"
            return f"hold target {_fmt(target)}: stress {why} ({pending})"

        return Decision(base, target, "hold", stressed, "pending")
    if base.shrink_streak and ceiling is not None:
        return Decision(
            base,
            target,
            "hold",
            lambda: (
                f"hold target {_fmt(target)}: {ceiling.source} says {_fmt(ceiling.value)} "
                f"({base.shrink_streak}/{config.hysteresis_samples})"
            ),
            "pending",
        )
    if base.growth_streak and grow_to is not None:

        def growing() -> str:
            why = (
                "at per-replica maximum"
                if clamped >= bounds.per_replica_max
                else f"{grow_to.source} says {_fmt(grow_to.value)} "
                f"({base.growth_streak}/{config.increase_samples})"
            )
            return f"hold target {_fmt(target)}: {why}"

        return Decision(base, target, "hold", growing, "pending")
    shown = evidence.grow_to or evidence.ceiling

    def steady() -> str:
        said = f" ({shown.source} says {_fmt(shown.value)})" if shown is not None else ""
        return f"hold target {_fmt(target)}: steady{said}"

    return Decision(base, target, "hold", steady, "steady")


def _moved(base: VerticalState, target: float, *, stress_reset: bool = True) -> VerticalState:
    """The state after a change: hysteresis restarts for stress (a new target is judged
    afresh); the estimate streaks go on, so a target far off keeps moving every decision."""
    return VerticalState(
        target,
        () if stress_reset else base.stress_streaks,
        base.growth_streak,
        base.latency_baseline_ms,
        base.decided_at,
        base.replicas,
        base.fit,
        base.knee,
        base.knee_at,
        base.knee_resources,
        base.healthy_load,
        base.shrink_streak,
    )


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
