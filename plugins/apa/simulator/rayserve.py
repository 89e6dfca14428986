"""Ray Serve's default autoscaling policy, as ray-project/ray computes it
(python/ray/serve/autoscaling_policy.py: `replica_queue_length_autoscaling_policy` wrapped by
`_apply_autoscaling_config`).

Pure arithmetic on the controller's view: running replicas, the deployment's current target and
the total ongoing requests (running + queued at the handles, each replica's average over the
look-back period). `RayPolicy` (policies.py) feeds it; the upstream unit tests
(tests/unit/test_autoscaling_policy.py) run against these functions as data in
tests/apa/simulator/upstream/test_rayserve.py.

Defaults are `ray.serve.config.AutoscalingConfig`'s as documented (Ray >= 2.32):
target_ongoing_requests 2, upscale_delay_s 30, downscale_delay_s 600, downscale_to_zero_delay_s
unset (= downscale_delay_s), look_back_period_s 30, smoothing/scaling factors 1. Replicas record
their ongoing requests every 0.5 s and push them every 10 s
(RAY_SERVE_REPLICA_AUTOSCALING_METRIC_*_INTERVAL_S); the controller decides every 0.1 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

TARGET_ONGOING_REQUESTS = 2.0
UPSCALE_DELAY_S = 30.0
DOWNSCALE_DELAY_S = 600.0
LOOK_BACK_PERIOD_S = 30.0
METRICS_PUSH_INTERVAL_S = 10.0
CONTROL_LOOP_INTERVAL_S = 0.1
DELAY_ELAPSED_EPS_S = 1e-6
"""Upstream's tolerance on `now - first decision >= delay` (float clocks)."""


@dataclass(frozen=True)
class AutoscalingConfig:
    min_replicas: int = 1
    max_replicas: int = 1
    target_ongoing_requests: float = TARGET_ONGOING_REQUESTS
    upscale_delay_s: float = UPSCALE_DELAY_S
    downscale_delay_s: float = DOWNSCALE_DELAY_S
    downscale_to_zero_delay_s: float | None = None
    look_back_period_s: float = LOOK_BACK_PERIOD_S
    smoothing_factor: float = 1.0
    upscale_smoothing_factor: float | None = None
    downscale_smoothing_factor: float | None = None
    upscaling_factor: float | None = None
    downscaling_factor: float | None = None

    def upscaling(self) -> float:
        """get_upscaling_factor: the newest name wins over the deprecated ones."""
        if self.upscaling_factor is not None:
            return self.upscaling_factor
        if self.upscale_smoothing_factor is not None:
            return self.upscale_smoothing_factor
        return self.smoothing_factor

    def downscaling(self) -> float:
        if self.downscaling_factor is not None:
            return self.downscaling_factor
        if self.downscale_smoothing_factor is not None:
            return self.downscale_smoothing_factor
        return self.smoothing_factor


@dataclass
class DelayState:
    """The policy state the controller keeps between calls: the direction of the consecutive
    decisions so far (>0 up, <0 down) and when the first of them was made."""

    counter: int = 0
    since: float | None = None


def core_desired(config: AutoscalingConfig, running: int, target: int, total: float) -> float:
    """_core_replica_queue_length_policy: running x (total / (target_ongoing x running))."""
    if running == 0:
        return float(target)
    error_ratio = total / (config.target_ongoing_requests * running)
    return running * error_ratio


def apply_scaling_factors(desired: float, current: int, config: AutoscalingConfig) -> int:
    """_apply_scaling_factors: move by factor x the distance; never stuck one above a
    lower desired count."""
    if current == 0:
        return math.ceil(desired)
    delta = desired - current
    factor = config.upscaling() if delta > 0 else config.downscaling()
    scaled = math.ceil(current + factor * delta)
    if math.ceil(desired) < current and scaled == current:
        scaled -= 1
    return scaled


def apply_delay(
    desired: int, target: int, config: AutoscalingConfig, state: DelayState, now: float
) -> int:
    """_apply_delay_logic (wall clock): a change only once the same direction has been wanted
    for the delay; 1 -> 0 waits downscale_to_zero_delay_s; other scale-downs stop at 1."""
    decision = target
    if desired > target:
        if state.counter < 0:
            state.counter, state.since = 0, None
        state.counter += 1
        if state.since is None:
            state.since = now
        if now - state.since + DELAY_ELAPSED_EPS_S >= config.upscale_delay_s:
            state.counter, state.since = 0, None
            decision = desired
    elif desired < target:
        if state.counter > 0:
            state.counter, state.since = 0, None
        state.counter -= 1
        if target == 1:
            delay = config.downscale_delay_s
            if config.downscale_to_zero_delay_s is not None:
                delay = config.downscale_to_zero_delay_s
        else:
            delay = config.downscale_delay_s
            desired = max(1, desired)
        if state.since is None:
            state.since = now
        if now - state.since + DELAY_ELAPSED_EPS_S >= delay:
            state.counter, state.since = 0, None
            decision = desired
    else:
        state.counter, state.since = 0, None
    return decision


def apply_bounds(replicas: int, min_replicas: int, max_replicas: int) -> int:
    return max(min_replicas, min(max_replicas, replicas))


CorePolicy = Callable[[AutoscalingConfig, int, int, float], float]
"""A policy before the defaults are applied: (config, running, target, total) -> replicas."""


def default_policy(
    config: AutoscalingConfig,
    state: DelayState,
    now: float,
    running: int,
    target: int,
    total: float,
    core: CorePolicy = core_desired,
) -> int:
    """`_apply_autoscaling_config(policy)`: with no running replica and requests waiting, the
    cold start (at once, unbounded); else the policy, the scaling factors, the delays and the
    min/max bounds. The default `core` is replica_queue_length_autoscaling_policy's."""
    if running == 0 and total > 0:
        return max(math.ceil(1 * config.upscaling()), target)
    scaled = apply_scaling_factors(core(config, running, target, total), running, config)
    if running == 0 and scaled > 0:
        decision = scaled
    else:
        decision = apply_delay(max(0, scaled), target, config, state, now)
    return apply_bounds(decision, config.min_replicas, config.max_replicas)


@dataclass
class Controller:
    """One deployment's autoscaling state in the Serve controller."""

    config: AutoscalingConfig
    state: DelayState = field(default_factory=DelayState)

    def decide(self, now: float, running: int, target: int, total: float) -> int:
        """The default policy; the deployment's bounds hold for the cold start too."""
        desired = default_policy(self.config, self.state, now, running, target, total)
        return apply_bounds(desired, self.config.min_replicas, self.config.max_replicas)
