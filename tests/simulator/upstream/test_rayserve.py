"""Ray Serve's own autoscaling-policy tests, as data, against the simulator's Ray Serve model.

Source: ray-project/ray python/ray/serve/tests/unit/test_autoscaling_policy.py (the version with
TestReplicaQueueLengthPolicy, TestAutoscalingConfigParameters and
TestCustomPolicyWithDefaultParameters), with the wall-clock delays of the current
python/ray/serve/autoscaling_policy.py: as upstream's test does since then, each call advances a
clock by CONTROL_LOOP_INTERVAL_S (tick / 10) and a delay of D seconds waits ceil(D x 10) calls.
Each test names the upstream test it carries over; inputs and expected replica counts are
upstream's, the code under test is ours.

Upstream passes `ctx.policy_state` to every call; where its test does not thread the returned
state back, every call starts from an empty state, and so do we (a fresh DelayState).

Not carried over: test_callable_and_direct_values (AutoscalingContext's lazy attributes, API
plumbing), test_exclude_early_partial_period_in_timeseries_aggregation (metrics_utils'
time-weighted merge of replica series; the simulator averages one series per deployment),
TestAppLevelPolicyWithDefaultParameters and TestAppLevelPolicyStateIsolation (application-level
policies over several deployments; the simulator runs one deployment) and
TestGangSchedulingAutoscalingPolicy (gang scheduling; knobless renders no gangs). Checked
against ray-project/ray at 01624ad4bacd.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from plugins.apa.simulator.rayserve import (
    AutoscalingConfig,
    DelayState,
    apply_bounds,
    apply_delay,
    apply_scaling_factors,
    core_desired,
    default_policy,
)

TICKS_PER_SECOND = 10  # round(1 / CONTROL_LOOP_INTERVAL_S)


def wait_ticks(delay_s: float) -> int:
    return math.ceil(delay_s * TICKS_PER_SECOND)


class Clock:
    """The test's fake time.time(): tick / 10, advancing on every call."""

    def __init__(self) -> None:
        self.tick = 0

    def __call__(self) -> float:
        now = self.tick / TICKS_PER_SECOND
        self.tick += 1
        return now


Policy = Callable[[AutoscalingConfig, DelayState, float, int, int, float], int]


def queue_length_policy(
    config: AutoscalingConfig,
    state: DelayState,
    now: float,
    running: int,
    target: int,
    total: float,
) -> int:
    """wrapped_replica_queue_length_autoscaling_policy."""
    return default_policy(config, state, now, running, target, total)


def simple_custom(config: AutoscalingConfig, running: int, target: int, total: float) -> float:
    """The test module's simple_custom_policy: 3 replicas with any request, else 0."""
    return 3.0 if total > 0 else 0.0


def simple_custom_policy(
    config: AutoscalingConfig,
    state: DelayState,
    now: float,
    running: int,
    target: int,
    total: float,
) -> int:
    return default_policy(config, state, now, running, target, total, core=simple_custom)


def run_upscale_downscale_flow(
    policy: Policy, config: AutoscalingConfig, overload: float, start: int, upscale_target: int
) -> None:
    """_run_upscale_downscale_flow: every delay is waited out exactly, and an interruption in
    the other direction restarts it."""
    up = wait_ticks(config.upscale_delay_s)
    down = wait_ticks(config.downscale_delay_s)
    to_zero = wait_ticks(config.downscale_to_zero_delay_s or config.downscale_delay_s)
    state, clock = DelayState(), Clock()

    def call(total: float, replicas: int) -> int:
        return policy(config, state, clock(), replicas, replicas, total)

    for i in range(up):
        assert call(overload, start) == start, i
    assert call(overload, start) == upscale_target
    for i in range(down):
        assert call(0, upscale_target) == upscale_target, i
    assert call(0, upscale_target) == 1
    for i in range(to_zero):
        assert call(0, 1) == 1, i
    assert call(0, 1) == 0
    for i in range(up // 2):  # some scale-up decisions, not enough
        assert call(overload, 1) == 1, i
    call(0, 1)  # interrupted by a scale-down decision
    for i in range(up):  # so the whole delay again
        assert call(overload, 1) == 1, i
    assert call(overload, 1) == upscale_target
    for i in range(down // 2):
        assert call(0, upscale_target) == upscale_target, i
    call(overload, upscale_target)  # interrupted by a scale-up decision
    for i in range(down):
        assert call(0, upscale_target) == upscale_target, i
    assert call(0, upscale_target) == 1
    for i in range(to_zero // 2):
        assert call(0, 1) == 1, i
    call(overload, 1)
    for i in range(to_zero):
        assert call(0, 1) == 1, i
    assert call(0, 1) == 0


# --- TestReplicaQueueLengthPolicy ------------------------------------------------------------

FACTOR_CHOICES = [(True, True), (True, False), (False, True)]


def factors(upscale: bool, deprecated: bool, new: bool, value: float) -> dict[str, Any]:
    prefix = "up" if upscale else "down"
    return {
        f"{prefix}scale_smoothing_factor": value if deprecated else None,
        f"{prefix}scaling_factor": value if new else None,
    }


@pytest.mark.parametrize(("smoothing", "scaling"), FACTOR_CHOICES)
def test_scaling_factor_scale_up_from_0_replicas(smoothing: bool, scaling: bool) -> None:
    """test_scaling_factor_scale_up_from_0_replicas: the cold start is 1 x the factor."""
    config = AutoscalingConfig(
        min_replicas=0, max_replicas=2, **factors(True, smoothing, scaling, 10)
    )
    assert queue_length_policy(config, DelayState(), 0.0, 0, 0, 1) == 10
    config = replace(config, **factors(True, smoothing, scaling, 0.5))
    assert queue_length_policy(config, DelayState(), 0.0, 0, 0, 1) == 1  # ceil(1 x 0.5)


@pytest.mark.parametrize(("smoothing", "scaling"), FACTOR_CHOICES)
def test_scaling_factor_scale_down_to_0_replicas(smoothing: bool, scaling: bool) -> None:
    """test_scaling_factor_scale_down_to_0_replicas: down to 1 first, then 0; a factor < 1 never
    gets stuck above 0."""
    config = AutoscalingConfig(
        min_replicas=0,
        max_replicas=5,
        upscale_delay_s=0,
        downscale_delay_s=0,
        **factors(False, smoothing, scaling, 10),
    )
    state = DelayState()  # shared, never threaded back (delays are 0)
    assert queue_length_policy(config, state, 0.0, 5, 5, 0) == 1
    assert queue_length_policy(config, state, 0.0, 1, 1, 0) == 0
    config = replace(config, **factors(False, smoothing, scaling, 0.2))
    replicas = 5
    for _ in range(5):
        replicas = queue_length_policy(config, state, 0.0, replicas, replicas, 0)
    assert replicas == 0


@pytest.mark.parametrize("to_zero_delay_s", [None, 300.0])
def test_upscale_downscale_delay(to_zero_delay_s: float | None) -> None:
    """test_upscale_downscale_delay: cold start at once, then upscale_delay_s (30),
    downscale_delay_s (600) and downscale_to_zero_delay_s, each restarted by an interruption."""
    config = AutoscalingConfig(
        min_replicas=0,
        max_replicas=2,
        target_ongoing_requests=1,
        upscale_delay_s=30.0,
        downscale_delay_s=600.0,
        downscale_to_zero_delay_s=to_zero_delay_s,
    )
    assert queue_length_policy(config, DelayState(), 0.0, 0, 0, 1) == 1
    run_upscale_downscale_flow(queue_length_policy, config, 100, start=1, upscale_target=2)


def test_replicas_delayed_startup() -> None:
    """test_replicas_delayed_startup: the decision follows the running replicas' requests, and a
    drop waits for the downscale delay."""
    config = AutoscalingConfig(
        min_replicas=1,
        max_replicas=200,
        upscale_delay_s=0,
        downscale_delay_s=100000,
        target_ongoing_requests=1,
    )
    assert queue_length_policy(config, DelayState(), 0.0, 1, 1, 100) == 100
    assert queue_length_policy(config, DelayState(), 0.0, 1, 100, 100) == 100  # none started yet
    assert queue_length_policy(config, DelayState(), 0.0, 3, 100, 123) == 123  # two started
    assert queue_length_policy(config, DelayState(), 0.0, 4, 123, 10) == 123  # drained: delayed


@pytest.mark.parametrize("delay_s", [30.0, 0.0])
def test_fluctuating_ongoing_requests(delay_s: float) -> None:
    """test_fluctuating_ongoing_requests: with a delay, flapping load never moves the count;
    without, it follows every flap."""
    config = AutoscalingConfig(
        min_replicas=1,
        max_replicas=10,
        upscale_delay_s=delay_s,
        downscale_delay_s=delay_s,
        target_ongoing_requests=50,
    )
    if delay_s > 0:
        assert wait_ticks(delay_s) > 1
    underload, overload = 2 * 20, 100
    for trial in range(1000):
        if trial % 2 == 0:
            replicas = queue_length_policy(config, DelayState(), trial / 10, 1, 1, overload)
            assert replicas == (1 if delay_s > 0 else 2), trial
        else:
            replicas = queue_length_policy(config, DelayState(), trial / 10, 2, 2, underload)
            assert replicas == (2 if delay_s > 0 else 1), trial


@pytest.mark.parametrize("ongoing", [20, 100, 10])
def test_single_replica_receives_all_requests(ongoing: int) -> None:
    """test_single_replica_receives_all_requests: only the total counts, not its spread."""
    config = AutoscalingConfig(
        min_replicas=1,
        max_replicas=50,
        target_ongoing_requests=5,
        upscale_delay_s=0.0,
        downscale_delay_s=0.0,
    )
    assert queue_length_policy(config, DelayState(), 0.0, 4, 4, ongoing) == ongoing / 5


# --- TestAutoscalingConfigParameters ---------------------------------------------------------


def test_apply_scaling_factors() -> None:
    """test_apply_scaling_factors_upscale, _downscale and _stuck_downscale."""
    up = AutoscalingConfig(min_replicas=1, max_replicas=30, upscaling_factor=0.5)
    assert apply_scaling_factors(20, 10, up) == 15  # 10 + 0.5 x (20 - 10)
    down = AutoscalingConfig(min_replicas=1, max_replicas=30, downscaling_factor=0.5)
    assert apply_scaling_factors(5, 20, down) == 13  # ceil(20 - 0.5 x 15)
    assert apply_scaling_factors(9, 10, down) == 9  # ceil(9.5) = 10 would be stuck: 9


def test_apply_bounds() -> None:
    """test_apply_bounds."""
    assert apply_bounds(5, 1, 10) == 5


def test_apply_delay_logic_upscale() -> None:
    """test_apply_delay_logic_upscale: consecutive decisions for upscale_delay_s."""
    config = AutoscalingConfig(min_replicas=1, max_replicas=10, upscale_delay_s=0.3)
    state, clock = DelayState(), Clock()
    for i in range(wait_ticks(config.upscale_delay_s)):
        assert apply_delay(5, 1, config, state, clock()) == 1, f"scaled up on iteration {i}"
    assert apply_delay(5, 1, config, state, clock()) == 5


def test_apply_delay_logic_downscale() -> None:
    """test_apply_delay_logic_downscale: 4 -> 1 after downscale_delay_s, then 1 -> 0 after
    downscale_to_zero_delay_s."""
    config = AutoscalingConfig(
        min_replicas=0, max_replicas=10, downscale_to_zero_delay_s=0.4, downscale_delay_s=0.3
    )
    state, clock = DelayState(), Clock()
    for i in range(wait_ticks(config.downscale_delay_s)):
        assert apply_delay(0, 4, config, state, clock()) == 4, f"down on iteration {i}"
    assert apply_delay(0, 4, config, state, clock()) == 1
    for i in range(wait_ticks(0.4)):
        assert apply_delay(0, 1, config, state, clock()) == 1, f"to zero on tick {i}"
    assert apply_delay(0, 1, config, state, clock()) == 0


def test_upscale_delay_respected_with_slow_loop_steps() -> None:
    """test_upscale_delay_respected_with_slow_loop_steps: the delay is wall-clock time, so a
    loop that takes 0.6 s a step (0.5 s of work + CONTROL_LOOP_INTERVAL_S) scales up after
    upscale_delay_s of elapsed time, within one step, not after ceil(D x 10) calls (6x later)."""
    upscale_delay_s, step_s = 100.0, 0.5 + 0.1
    config = AutoscalingConfig(min_replicas=1, max_replicas=10, upscale_delay_s=upscale_delay_s)
    state, now = DelayState(), 0.0
    while apply_delay(5, 1, config, state, now) == 1:
        now += step_s
    assert upscale_delay_s <= now <= upscale_delay_s + step_s
    assert now / upscale_delay_s < 1.1


@pytest.mark.parametrize("upscaling_factor", [0.5, 1.0, 1.5, 2.0, 10.0])
def test_no_runaway_scaling_during_warmup(upscaling_factor: float) -> None:
    """TestWarmupScalingFeedbackLoop.test_no_runaway_scaling_during_warmup: replicas scheduled
    but none running yet and no traffic: the target holds at min_replicas for 100 calls, for
    any upscaling_factor (upstream's regression of a feedback loop to max_replicas)."""
    config = AutoscalingConfig(
        min_replicas=2,
        max_replicas=10,
        target_ongoing_requests=0.2,
        upscaling_factor=upscaling_factor,
        upscale_delay_s=5.0,
        downscale_delay_s=30.0,
    )
    state, clock, target = DelayState(), Clock(), config.min_replicas
    for tick in range(100):
        new_target = default_policy(config, state, clock(), 0, target, 0.0)
        assert new_target == target, f"tick {tick}: {target} -> {new_target}"
    assert target == config.min_replicas


# --- TestCustomPolicyWithDefaultParameters ---------------------------------------------------


@pytest.mark.parametrize("to_zero_delay_s", [None, 300.0])
def test_custom_policy_upscale_downscale_delay(to_zero_delay_s: float | None) -> None:
    """TestCustomPolicyWithDefaultParameters.test_upscale_downscale_delay: the defaults wrap any
    policy the same way."""
    config = AutoscalingConfig(
        min_replicas=0,
        max_replicas=4,
        target_ongoing_requests=1,
        upscale_delay_s=20.0,
        downscale_delay_s=400.0,
        downscale_to_zero_delay_s=to_zero_delay_s,
    )
    assert simple_custom_policy(config, DelayState(), 0.0, 0, 0, 1) == 1
    run_upscale_downscale_flow(simple_custom_policy, config, 70, start=1, upscale_target=3)


@pytest.mark.parametrize(
    ("current", "total", "up", "down", "expected"),
    [(1, 100, 0.5, None, 2), (1, 100, 1.0, None, 3), (3, 0, None, 0.5, 2), (3, 0, None, 1.0, 1)],
)
def test_custom_policy_apply_scaling_factors(
    current: int, total: float, up: float | None, down: float | None, expected: int
) -> None:
    """TestCustomPolicyWithDefaultParameters.test_apply_scaling_factors."""
    config = AutoscalingConfig(
        min_replicas=0,
        max_replicas=10,
        upscaling_factor=up,
        downscaling_factor=down,
        upscale_delay_s=0.0,
        downscale_delay_s=0.0,
        downscale_to_zero_delay_s=0.0,
    )
    assert simple_custom_policy(config, DelayState(), 0.0, current, current, total) == expected


def test_documented_defaults() -> None:
    """ray.serve.config.AutoscalingConfig as documented (Ray >= 2.32): target_ongoing_requests 2,
    upscale_delay_s 30, downscale_delay_s 600, look_back_period_s 30, smoothing factor 1."""
    config = AutoscalingConfig()
    assert (config.target_ongoing_requests, config.upscale_delay_s) == (2.0, 30.0)
    assert (config.downscale_delay_s, config.look_back_period_s) == (600.0, 30.0)
    assert config.upscaling() == config.downscaling() == 1.0
    assert core_desired(config, 10, 10, 45) == 22.5  # 45 requests over a target of 2
