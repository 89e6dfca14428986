"""Knative's KPA decider, as knative/serving computes it (pkg/autoscaler/scaling/autoscaler.go).

Pure arithmetic on what the metric collector averaged (stable and panic windows of per-second
concurrency) and the ready pod count; `KpaPolicy` (policies.py) feeds it every 2 s tick. The
upstream unit tests (autoscaler_test.go) run against this class as data in
tests/apa/simulator/upstream/test_knative.py.

Defaults are config-autoscaler's (pkg/autoscaler/config/config.go): target 100 per pod x 70%
utilization, panic threshold 200%, max scale-up rate 1000, max scale-down rate 2, stable window
60 s (panic window 10% of it), target burst capacity 211, scale-down delay 0, scale-to-zero grace
period 30 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TICK_S = 2
"""multiscaler's tickInterval: one decision every 2 s."""
CONTAINER_CONCURRENCY_TARGET_DEFAULT = 100.0
TARGET_UTILIZATION = 0.70
PANIC_THRESHOLD = 2.0
MAX_SCALE_UP_RATE = 1000.0
MAX_SCALE_DOWN_RATE = 2.0
STABLE_WINDOW_S = 60
PANIC_WINDOW_S = 6
"""panic-window-percentage 10% of the stable window."""
TARGET_BURST_CAPACITY = 211.0
SCALE_TO_ZERO_GRACE_S = 30.0


def resolve_target(container_concurrency: int | None) -> tuple[float, float]:
    """(target, total) per pod, as resources.ResolveMetricTarget does for the concurrency
    metric: the soft target (100) capped by a hard containerConcurrency, times utilization."""
    total = CONTAINER_CONCURRENCY_TARGET_DEFAULT
    if container_concurrency:
        total = min(total, float(container_concurrency))
    return total * TARGET_UTILIZATION, total


@dataclass(frozen=True)
class DeciderSpec:
    """scaling.DeciderSpec: what one revision's decider is told."""

    target_value: float
    total_value: float
    target_burst_capacity: float = TARGET_BURST_CAPACITY
    panic_threshold: float = PANIC_THRESHOLD
    max_scale_up_rate: float = MAX_SCALE_UP_RATE
    max_scale_down_rate: float = MAX_SCALE_DOWN_RATE
    stable_window_s: float = STABLE_WINDOW_S
    scale_down_delay_s: float = 0.0
    reachable: bool = True
    activation_scale: int = 0


@dataclass(frozen=True)
class ScaleResult:
    desired: int
    excess_burst_capacity: int
    valid: bool = True


INVALID = ScaleResult(0, 0, valid=False)


class DelayWindow:
    """max.TimeWindow: the largest value recorded in the last `window_s`, in buckets of
    `granularity_s` (a bucket leaves once `window_s / granularity_s` buckets are newer)."""

    def __init__(self, window_s: float, granularity_s: float = TICK_S) -> None:
        self.buckets = math.ceil(window_s / granularity_s)
        self.granularity_s = granularity_s
        self.maxima: list[tuple[int, int]] = []  # (bucket index, value), values decreasing

    def record(self, now: float, value: int) -> None:
        index = math.floor(now / self.granularity_s)
        while self.maxima and value >= self.maxima[-1][1]:
            self.maxima.pop()  # a smaller value older than this one can never be the max
        while self.maxima and index - self.maxima[0][0] >= self.buckets:
            self.maxima.pop(0)
        if self.maxima and self.maxima[-1][0] == index:  # same bucket: keep its larger value
            value = max(value, self.maxima.pop()[1])
        self.maxima.append((index, value))

    def current(self) -> int:
        return self.maxima[0][1]


class Decider:
    """One revision's autoscaler: panic state and the scale-down delay window between ticks.

    Created over `ready` pods at `now`: over more than one it starts in panic holding them
    (newAutoscaler: metric history is lost on a restart, so it keeps the current scale until it
    knows better)."""

    def __init__(self, spec: DeciderSpec, ready: int = 0, now: float = 0.0) -> None:
        self.spec = spec
        self.panic_time: float | None = now if ready > 1 else None
        self.max_panic_pods = ready
        self.delay_window = (
            DelayWindow(spec.scale_down_delay_s) if spec.scale_down_delay_s > 0 else None
        )

    def update(self, spec: DeciderSpec) -> None:
        """Update(): a new spec; panic state and the delay window are kept."""
        self.spec = spec

    def scale(
        self, now: float, ready: int | None, stable: float | None, panic: float | None
    ) -> ScaleResult:
        """Scale(): the desired pod count from the window averages of the scaling metric
        (total concurrency, or requests per second). None: the ready pods could not be counted
        or there is no metric data yet; the result is invalid and the state unchanged."""
        if ready is None or stable is None or panic is None:
            return INVALID
        spec = self.spec
        ready_pods = max(1.0, float(ready))
        max_scale_up = math.ceil(spec.max_scale_up_rate * ready_pods)
        max_scale_down = math.floor(ready_pods / spec.max_scale_down_rate) if spec.reachable else 0
        dspc = math.ceil(stable / spec.target_value)
        dppc = math.ceil(panic / spec.target_value)
        desired_stable = int(min(max(dspc, max_scale_down), max_scale_up))
        desired_panic = int(min(max(dppc, max_scale_down), max_scale_up))
        if spec.activation_scale > 1:
            if dspc > 0 and spec.activation_scale > desired_stable:
                desired_stable = spec.activation_scale
            if dppc > 0 and spec.activation_scale > desired_panic:
                desired_panic = spec.activation_scale

        # The panic test reads the unclamped panic count against the ready pods.
        over_threshold = dppc / ready_pods >= spec.panic_threshold
        if over_threshold:
            self.panic_time = now  # begin panicking, or extend the panic
        elif self.panic_time is not None and self.panic_time + spec.stable_window_s < now:
            self.panic_time = None  # the surge has made its way into the stable window
            self.max_panic_pods = 0

        desired = desired_stable
        if self.panic_time is not None:
            desired = max(desired, desired_panic)
            self.max_panic_pods = max(self.max_panic_pods, desired)  # never down in panic
            desired = self.max_panic_pods

        if spec.reachable and self.delay_window is not None:
            self.delay_window.record(now, desired)
            desired = self.delay_window.current()

        if spec.target_burst_capacity == 0:
            excess = 0
        elif spec.target_burst_capacity > 0:
            capacity = float(ready) * spec.total_value
            excess = math.floor(capacity - spec.target_burst_capacity - panic)
        else:
            excess = -1
        return ScaleResult(desired, excess)
