"""The vertical learning rule: capacity from the load replicas carry, exact cases and properties.

A replica model stands in for the pods: CPU `idle + slope x in_flight` up to its capacity C
(flat past it), latency the service time up to C and `in_flight / C` times it past it — the
shape plugins/apa/simulator/profile.py gives every zoo model. Its limit L is where the CPU line
reaches `cpu_high`, what the rule is meant to learn.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.apa.capacity import EMPTY_FIT, Estimate, add_point, combine, resource_estimate
from plugins.apa.decision import (
    Bounds,
    Decision,
    Signals,
    VerticalConfig,
    VerticalState,
    _lesser,
    _usable,
    decide,
)

CONFIG = VerticalConfig()
BOUNDS = Bounds(
    concurrency_min=0, concurrency_max=10_000, per_replica_min=1, per_replica_max=1000,
    per_replica_initial=10,
)  # fmt: skip


@dataclass(frozen=True)
class Replica:
    capacity: float
    idle: float = 0.05
    busy: float = 0.95
    service_ms: float = 100.0

    @property
    def limit(self) -> float:
        """In flight where the CPU reaches `cpu_high` (<= capacity when busy >= cpu_high)."""
        return (CONFIG.cpu_high - self.idle) / (self.busy - self.idle) * self.capacity

    def sample(self, t: float, load: float, replicas: float = 4, **missing: bool) -> Signals:
        u = min(load, self.capacity) / self.capacity
        return Signals(
            t=t,
            replicas=replicas,
            concurrency_per_replica=load,
            cpu_utilization=None if missing.get("cpu") else self.idle + (self.busy - self.idle) * u,
            memory_utilization=0.5,
            latency_ms=None
            if missing.get("latency")
            else self.service_ms * max(1.0, load / self.capacity),
        )


def replay(state: VerticalState, samples: list[Signals], bounds: Bounds = BOUNDS) -> list[Decision]:
    decisions = []
    for sample in samples:
        decision = decide(state, (sample,), bounds, CONFIG, now=sample.t)
        decisions.append(decision)
        state = decision.state
    return decisions


# --- the estimates -------------------------------------------------------------------------


def test_a_fit_over_two_loads_finds_where_the_line_meets_the_threshold() -> None:
    fit = EMPTY_FIT
    for load, cpu in ((2.0, 0.05 + 0.09 * 2), (2.0, 0.05 + 0.09 * 2), (4.0, 0.05 + 0.09 * 4)):
        fit = add_point(fit, load, (cpu, None), 0.85)
    estimate = resource_estimate(fit, 0, 0.9, 0.1, 30.0)
    assert estimate is not None
    assert (estimate.exact, estimate.source) == (True, "cpu fit")
    assert estimate.value == pytest.approx((0.9 - 0.05) / 0.09)
    assert resource_estimate(fit, 1, 0.95, 0.1, 30.0) is None  # no GPU points


def test_one_load_bounds_from_below_under_the_threshold_and_from_above_over_it() -> None:
    below = add_point(EMPTY_FIT, 3.0, (0.3, None), 0.85)
    low = resource_estimate(below, 0, 0.9, 0.1, 30.0)
    assert low is not None and (low.exact, low.value) == (False, pytest.approx(9.0))
    above = add_point(EMPTY_FIT, 3.0, (1.0, None), 0.85)
    high = resource_estimate(above, 0, 0.9, 0.1, 30.0)
    assert high is not None and (high.exact, high.value) == (True, pytest.approx(2.7))


def test_a_fit_reaching_far_past_every_load_seen_is_only_a_lower_bound() -> None:
    fit = add_point(EMPTY_FIT, 1.0, (0.001, None), 1.0)
    fit = add_point(fit, 2.0, (0.002, None), 1.0)
    estimate = resource_estimate(fit, 0, 0.9, 0.1, 30.0)
    assert estimate is not None and (estimate.exact, estimate.value) == (
        False,
        pytest.approx(900.0),
    )  # 1.5 x 0.9 / 0.0015


# --- the rule, exact -----------------------------------------------------------------------


def test_from_ten_times_too_low_the_target_grows_by_capped_steps_to_the_fit() -> None:
    model = Replica(capacity=100.0)
    state = VerticalState(target=10.0)
    # The horizontal axis keeps replicas at ~9 in flight, then (after its stabilization) 18.
    loads = [9.0] * 3 + [18.0] * 12
    decisions = replay(state, [model.sample(30.0 * (k + 1), n) for k, n in enumerate(loads)])
    targets = [d.target for d in decisions]
    assert targets[:3] == [10.0, 15.0, 22.5]  # two healthy samples, then +50 % a decision
    assert decisions[1].reason == (
        "increase target 10 -> 15: cpu at one load says a replica takes at least 61.8, "
        "healthy for 2 samples"
    )
    assert decisions[1].code == "estimate_up"
    assert targets[-1] == pytest.approx(model.limit)  # 94.4: the fit, once loads spread
    assert max(b / a for a, b in itertools.pairwise(targets)) <= 1.5 + 1e-9


def test_from_ten_times_too_high_without_stress_the_fit_brings_it_down() -> None:
    # A provisioned floor holds replicas at a few requests each: nothing is stressed, yet the
    # CPU per request in flight says a replica takes 94.4, not 1000. (Loads of 0.5-1% of the
    # target are too little for the "no claim past the evidence" cap: the fit decides.)
    model = Replica(capacity=100.0)
    loads = [5.0, 5.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    samples = [model.sample(30.0 * (k + 1), n) for k, n in enumerate(loads)]
    decisions = replay(VerticalState(target=1000.0), samples)
    downs = [d for d in decisions if d.action == "decrease"]
    assert downs[0].code == "estimate_down"
    assert downs[0].reason == (
        "decrease target 1000 -> 700: cpu fit says a replica takes 94.4 (for 2 samples)"
    )
    assert [d.target for d in downs][-1] == pytest.approx(model.limit)
    assert all(d.target >= 0.7 * p.target for d, p in zip(decisions[1:], decisions, strict=False))


def test_idle_replicas_on_a_floor_do_not_drag_a_right_target_down() -> None:
    # The ramp's first minutes in prod: 10 rps on a floor of 8 replicas, 0.02 in flight each,
    # the CPU at its idle use. The CPU line through the origin reads 0.02 x 0.8 / 0.05 = 0.32 a
    # replica; taken as the evidence it took a right target from 80 to the minimum (8x the
    # replicas). At 0.02% of the target the load says nothing about it: the target holds.
    model = Replica(capacity=100.0)
    samples = [model.sample(30.0 * (k + 1), 0.02) for k in range(20)]
    decisions = replay(VerticalState(target=80.0), samples)
    assert {d.action for d in decisions} == {"hold"}
    assert [d.target for d in decisions] == [80.0] * 20
    # Without the share (the rule before) the same samples bring it down by capped steps.
    state, targets = VerticalState(target=80.0), []
    for sample in samples[:4]:
        decision = decide(
            state, (sample,), BOUNDS, replace(CONFIG, min_support_share=0.0), sample.t
        )
        state = decision.state
        targets.append(decision.target)
    assert targets == pytest.approx([80.0, 56.0, 39.2, 27.44])


def test_within_the_deadband_the_target_holds() -> None:
    model = Replica(capacity=100.0)
    samples = [model.sample(30.0 * (k + 1), n) for k, n in enumerate([40.0, 80.0] * 10)]
    decisions = replay(VerticalState(target=90.0), samples)
    assert {d.action for d in decisions} == {"hold"}
    assert decisions[-1].reason == "hold target 90: steady (cpu fit says 94.4)"


def test_the_latency_knee_is_the_capacity_and_caps_growth() -> None:
    # An I/O-bound replica: the CPU barely moves, so its fit says far more than the pool takes;
    # past the knee the latency says 40, and growth stops there.
    model = Replica(capacity=40.0, idle=0.02, busy=0.2)
    state = VerticalState(target=50.0, latency_baseline_ms=100.0, healthy_load=30.0)
    flooded = replay(state, [model.sample(30, 80.0), model.sample(60, 80.0)])
    # Saturated: the queue that waits one service time is 160 slots at rho 0.994, 40.2 each.
    assert flooded[-1].state.knee == pytest.approx(40.227, abs=1e-3)
    assert (flooded[-1].action, flooded[-1].code) == ("decrease", "stress_latency")
    calm = replay(flooded[-1].state, [model.sample(90 + 30 * k, 30.0) for k in range(6)])
    assert max(d.target for d in calm) <= 40.0 + 1e-9


def test_a_queueing_fleet_is_not_read_as_a_knee_at_its_utilization() -> None:
    # Seen in the zoo (CPU ensemble: one slot, 120 ms, idle CPU 0.1): 14 replicas at 1.187 in
    # flight each, latency 1.351x the baseline. Little's law alone read the slots busy (0.879)
    # as the capacity and took a right target of 1.02 down to 0.879, then 0.777; the queue of
    # 14 one-slot replicas explains the latency with 0.995 each. The CPU's one-load bound is
    # taken against the slots busy too (0.911; against the requests in flight it said 1.23).
    bounds = Bounds(
        concurrency_min=0, concurrency_max=10_000, per_replica_min=0.1, per_replica_max=100,
        per_replica_initial=2,
    )  # fmt: skip
    state = VerticalState(target=1.02, latency_baseline_ms=120.0, replicas=14.0)
    loaded = [
        Signals(
            t=30.0 * (k + 1),
            replicas=14.0,
            concurrency_per_replica=1.187,
            cpu_utilization=0.868,
            latency_ms=1.351 * 120.0,
        )
        for k in range(3)
    ]
    decisions = replay(state, loaded, bounds)
    assert [d.action for d in decisions] == ["hold"] * 3
    assert decisions[-1].state.knee == pytest.approx(0.99525, abs=1e-5)
    assert decisions[-1].reason == "hold target 1.02: steady (cpu at one load says 0.911)"


@pytest.mark.parametrize(("queue", "grows"), [(0.0, True), (0.05, True), (0.1, True), (0.2, False)])
def test_a_trace_of_waiting_requests_is_still_healthy(queue: float, grows: bool) -> None:
    # vLLM's waiting gauge averaged over a fleet at a quarter of its capacity: 0.02-0.05 a
    # replica. Up to a tenth of `queue_high` (1) growth goes on; more holds it.
    model = Replica(capacity=100.0)
    samples = [
        replace(model.sample(30.0 * (k + 1), n), queue_per_replica=queue)
        for k, n in enumerate([20.0, 30.0, 20.0, 30.0])
    ]
    decisions = replay(VerticalState(target=10.0), samples)
    assert (decisions[-1].target > 10.0) is grows
    if not grows:
        assert {d.action for d in decisions} == {"hold"}


def test_latency_alone_probes_a_bounded_step_past_the_healthy_load() -> None:
    model = Replica(capacity=100.0)
    samples = [model.sample(30.0 * (k + 1), 9.0, cpu=True) for k in range(4)]
    decisions = replay(VerticalState(target=10.0), samples)
    assert decisions[-1].target == pytest.approx(13.5)  # 1.5 x the 9 in flight seen healthy
    assert decisions[2].code == "probe"
    assert decisions[2].reason == (
        "increase target 10 -> 13.5: probe past the healthy load says a replica takes 13.5, "
        "healthy for 2 samples"
    )


# --- properties ----------------------------------------------------------------------------

replicas_model = st.builds(
    Replica,
    capacity=st.floats(2.0, 500.0),
    idle=st.floats(0.0, 0.5),
    busy=st.floats(0.91, 1.0),
    service_ms=st.floats(2.0, 20_000.0),
)
maybe = st.one_of(st.none(), st.floats(0.0, 5.0))


@settings(max_examples=200, deadline=None)
@given(
    target=st.floats(1.0, 1000.0),
    raw=st.lists(
        st.tuples(maybe, maybe, maybe, st.one_of(st.none(), st.floats(0.0, 1e5)), maybe),
        min_size=1,
        max_size=30,
    ),
)
def test_the_target_never_leaves_its_bounds(
    target: float, raw: list[tuple[float | None, ...]]
) -> None:
    bounds = replace(BOUNDS, per_replica_min=2.0, per_replica_max=200.0)
    state = VerticalState(target=bounds.clamp_target(target))
    samples = [
        Signals(
            t=30.0 * (k + 1),
            replicas=3,
            concurrency_per_replica=None if load is None else 100 * load,
            cpu_utilization=cpu,
            gpu_utilization=gpu,
            latency_ms=latency,
            queue_per_replica=queue,
        )
        for k, (load, cpu, gpu, latency, queue) in enumerate(raw)
    ]
    for decision in replay(state, samples, bounds):
        assert bounds.per_replica_min <= decision.target <= bounds.per_replica_max


@settings(max_examples=150, deadline=None)
@given(
    model=replicas_model,
    target=st.floats(1.0, 1000.0),
    loads=st.lists(st.floats(0.01, 5.0), min_size=2, max_size=12),
    keep_load=st.booleans(),
)
def test_the_target_never_grows_on_missing_data(
    model: Replica, target: float, loads: list[float], keep_load: bool
) -> None:
    # Evidence first (the rule has learned something), then only gaps: no CPU, no GPU, no
    # latency, no queue — with or without the in-flight figure.
    learned = replay(
        VerticalState(target=target),
        [model.sample(30.0 * (k + 1), n * model.capacity) for k, n in enumerate(loads)],
    )[-1]
    gaps = [
        Signals(
            t=30.0 * (len(loads) + k + 1),
            replicas=4 if keep_load else None,
            concurrency_per_replica=model.capacity if keep_load else None,
        )
        for k in range(6)
    ]
    decisions = replay(learned.state, gaps)
    assert all(d.target <= learned.target for d in decisions)
    assert all(d.action != "increase" for d in decisions)


@settings(max_examples=200, deadline=None)
@given(
    model=replicas_model,
    start=st.floats(0.05, 1.0),
    loads=st.lists(st.floats(1.0, 8.0), min_size=1, max_size=25),
    latency_known=st.booleans(),
)
def test_the_target_never_shrinks_because_of_a_horizontal_lag(
    model: Replica, start: float, loads: list[float], latency_known: bool
) -> None:
    # A target at or below what a replica takes (L), then replicas flooded at or above it, up to
    # 8x, because there are too few of them (the horizontal axis lags). Every signal is what such
    # replicas show; none of it may lower the target.
    target = max(BOUNDS.per_replica_min, start * model.limit)
    samples = [
        model.sample(30.0 * (k + 1), n * target, latency=not latency_known)
        for k, n in enumerate(loads)
    ]
    decisions = replay(VerticalState(target=target), samples)
    assert all(d.action != "decrease" for d in decisions)
    assert decisions[-1].target <= max(target, model.limit * (1 + 1e-9))


# --- the folded evidence (decide's fast path) agrees with capacity.combine ------------------

estimates = st.builds(
    Estimate,
    st.floats(0.0, 100.0),
    st.booleans(),
    st.sampled_from(["cpu fit", "gpu fit", "the latency knee", "the evidence so far"]),
)


@settings(max_examples=300, deadline=None)
@given(exact=st.lists(estimates, max_size=4), lower=st.lists(estimates, max_size=4))
def test_folding_estimates_two_at_a_time_is_combine(
    exact: list[Estimate], lower: list[Estimate]
) -> None:
    folded_exact: Estimate | None = None
    for e in exact:
        folded_exact = _lesser(folded_exact, e)
    folded_lower: Estimate | None = None
    for e in lower:
        folded_lower = _lesser(folded_lower, e)
    assert _usable(folded_exact) == combine(exact)
    assert _usable(_lesser(folded_exact, folded_lower)) == combine(exact + lower)


def test_a_hold_formats_its_reason_when_read_and_compares_by_it() -> None:
    model = Replica(capacity=100.0)
    first = decide(VerticalState(target=90.0), (model.sample(30.0, 50.0),), BOUNDS, CONFIG, 30.0)
    again = decide(VerticalState(target=90.0), (model.sample(30.0, 50.0),), BOUNDS, CONFIG, 30.0)
    assert first.action == "hold"
    assert first == again
    assert first.reason == "hold target 90: steady (cpu at one load says 90)"  # 50 x 0.9 / 0.5
    assert first != decide(VerticalState(target=80.0), (model.sample(30.0, 50.0),), BOUNDS,
                           CONFIG, 30.0)  # fmt: skip
