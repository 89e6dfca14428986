"""The Kubernetes HPA (autoscaling/v2), as kube-controller-manager computes it.

Follows pkg/controller/podautoscaler (replica_calculator.go, horizontal.go): the metric proposal
(External AverageValue: ceil(sum / target) unless within tolerance; Resource utilization over
ready pods, unready pods at 0% when scaling up), then `normalizeDesiredReplicasWithBehaviors`:
stabilization over the recommendations of the last window (max for down, min for up), then the
scaling policies relative to the replica count at the start of each policy period, bounded by
min/max. Scale events are remembered per period like the controller's scaleUpEvents/DownEvents.
The controller's own unit tests run against this model as data in
tests/simulator/upstream/test_kubernetes.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOLERANCE = 0.1
"""kube-controller-manager --horizontal-pod-autoscaler-tolerance."""
SYNC_PERIOD_S = 15.0
"""--horizontal-pod-autoscaler-sync-period."""


@dataclass(frozen=True)
class ScalingPolicy:
    kind: str  # "Pods" | "Percent"
    value: int
    period_s: float


@dataclass(frozen=True)
class ScalingRules:
    stabilization_s: float
    policies: tuple[ScalingPolicy, ...]
    select: str = "Max"  # "Max" | "Min" | "Disabled"
    tolerance: float | None = None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None, default: ScalingRules) -> ScalingRules:
        """Fill what is left out like SetDefaults_HorizontalPodAutoscalerBehavior."""
        if spec is None:
            return default
        policies = tuple(
            ScalingPolicy(p["type"], int(p["value"]), float(p["periodSeconds"]))
            for p in spec.get("policies") or ()
        )
        window = spec.get("stabilizationWindowSeconds")
        tolerance = spec.get("tolerance")
        return cls(
            stabilization_s=default.stabilization_s if window is None else float(window),
            policies=policies or default.policies,
            select=spec.get("selectPolicy") or "Max",
            tolerance=None if tolerance is None else float(tolerance),
        )


SCALE_UP_DEFAULT = ScalingRules(
    0.0, (ScalingPolicy("Pods", 4, 15.0), ScalingPolicy("Percent", 100, 15.0)), "Max"
)
SCALE_DOWN_DEFAULT = ScalingRules(300.0, (ScalingPolicy("Percent", 100, 15.0),), "Max")


@dataclass(frozen=True)
class Behavior:
    up: ScalingRules = SCALE_UP_DEFAULT
    down: ScalingRules = SCALE_DOWN_DEFAULT

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> Behavior:
        """An HPA `behavior` block; None gives the controller's defaults (NOTES §4)."""
        if spec is None:
            return cls()
        return cls(
            up=ScalingRules.from_spec(spec.get("scaleUp"), SCALE_UP_DEFAULT),
            down=ScalingRules.from_spec(spec.get("scaleDown"), SCALE_DOWN_DEFAULT),
        )


def _percent(usage: float, pods: int) -> int:
    """Summed utilization (fractions of the request) over `pods` pods, in whole percent."""
    return math.floor(round(usage * 100 / pods, 9))


def within_tolerance(ratio: float, down: float, up: float) -> bool:
    return 1.0 - down <= ratio <= 1.0 + up


@dataclass
class Hpa:
    """One HPA object's controller state: recommendations and scale events."""

    behavior: Behavior
    min_replicas: int
    max_replicas: int
    tolerance: float = DEFAULT_TOLERANCE
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    up_events: list[tuple[float, int]] = field(default_factory=list)
    down_events: list[tuple[float, int]] = field(default_factory=list)

    @property
    def tolerance_down(self) -> float:
        value = self.behavior.down.tolerance
        return self.tolerance if value is None else value

    @property
    def tolerance_up(self) -> float:
        value = self.behavior.up.tolerance
        return self.tolerance if value is None else value

    # --- metric proposals (replica_calculator.go) ---------------------------------------------

    def external_average_value(self, usage: float, target: float, status_replicas: int) -> int:
        """GetExternalPerPodMetricReplicas: sum of the values against a per-pod target."""
        # The metrics API carries quantities; KEDA formats values with 3 decimals.
        usage = math.ceil(round(usage * 1000, 6)) / 1000
        ratio = usage / (target * status_replicas)
        if within_tolerance(ratio, self.tolerance_down, self.tolerance_up):
            return status_replicas
        return math.ceil(round(usage / target, 9))

    def resource_utilization(
        self, current: int, ready_usage: float, ready: int, unready: int, target: float
    ) -> int:
        """GetResourceReplicas (simplified to equal pods): `ready_usage` is the sum of the ready
        pods' utilization. Pods not ready yet count as 0% when the ratio says scale up and are
        left out when it says scale down; a flip of direction or a ratio within tolerance means
        no change."""
        if ready == 0:
            return current  # no metrics: the HPA reports FailedGetResourceMetric and holds
        # GetResourceUtilizationRatio: utilization in whole percent (int64 division), over the
        # target in whole percent.
        target_percent = round(target * 100)
        ratio = _percent(ready_usage, ready) / target_percent
        if unready == 0 or ratio <= 1.0:
            if within_tolerance(ratio, self.tolerance_down, self.tolerance_up):
                return current
            return math.ceil(round(ratio * ready, 9))
        rebalanced = _percent(ready_usage, ready + unready) / target_percent
        if within_tolerance(rebalanced, self.tolerance_down, self.tolerance_up) or rebalanced < 1:
            return current
        proposal = math.ceil(round(rebalanced * (ready + unready), 9))
        return current if proposal < current else proposal  # never down on a scale-up signal

    # --- reconcile (horizontal.go) ------------------------------------------------------------

    def reconcile(self, now: float, current: int, proposal: int) -> int:
        """The replica count the HPA sets this sync, given the metric proposal."""
        if current == 0 and self.min_replicas != 0:
            return 0  # ScalingDisabled: KEDA owns 0 <-> 1
        if not self.recommendations:  # maybeInitScaleDownStabilizationWindow
            self.recommendations.append((now, current))
        if current > self.max_replicas:
            desired = self.max_replicas
        elif current < self.min_replicas:
            desired = self.min_replicas
        else:
            desired = self.stabilize(now, current, max(proposal, 0))
            desired = self.rate_limit(now, current, desired)
        if desired != current:
            if desired > current:
                self.up_events.append((now, desired - current))
            else:
                self.down_events.append((now, current - desired))
            self._forget(now)
        return desired

    def stabilize(self, now: float, current: int, desired: int) -> int:
        """stabilizeRecommendationWithBehaviors: the current count moved at most to the lowest
        recommendation of the scale-up window and the highest of the scale-down window; the
        proposal is stored in place of a recommendation too old for both."""
        up_cutoff = now - self.behavior.up.stabilization_s
        down_cutoff = now - self.behavior.down.stabilization_s
        up_rec = down_rec = desired
        old_index: int | None = None
        for index, (stamp, value) in enumerate(self.recommendations):
            if stamp > up_cutoff:
                up_rec = min(up_rec, value)
            if stamp > down_cutoff:
                down_rec = max(down_rec, value)
            if stamp < up_cutoff and stamp < down_cutoff:
                old_index = index
        recommendation = max(current, up_rec)
        recommendation = min(recommendation, down_rec)
        if old_index is not None:
            self.recommendations[old_index] = (now, desired)
        else:
            self.recommendations.append((now, desired))
        return recommendation

    def _changed_within(self, events: list[tuple[float, int]], now: float, period: float) -> int:
        cutoff = now - period
        return sum(change for stamp, change in events if stamp > cutoff)

    def _limit(self, now: float, current: int, rules: ScalingRules, up: bool) -> int:
        if rules.select == "Disabled":
            return current
        # For scale-up `Max` picks the highest limit; for scale-down `Max` the lowest.
        pick = max if (rules.select != "Min") == up else min
        result: int | None = None
        for policy in rules.policies:
            added = self._changed_within(self.up_events, now, policy.period_s)
            removed = self._changed_within(self.down_events, now, policy.period_s)
            start = current - added + removed
            if policy.kind == "Pods":
                proposed = start + policy.value if up else start - policy.value
            elif up:
                proposed = math.ceil(start * (1 + policy.value / 100))
            else:
                proposed = int(start * (1 - policy.value / 100))
            result = proposed if result is None else pick(result, proposed)
        return current if result is None else result

    def rate_limit(self, now: float, current: int, desired: int) -> int:
        """convertDesiredReplicasWithBehaviorRate: the behavior's policies (against the count at
        the start of each period) and min/max."""
        if desired > current:
            limit = max(self._limit(now, current, self.behavior.up, up=True), current)
            return min(desired, min(self.max_replicas, limit))
        if desired < current:
            limit = min(self._limit(now, current, self.behavior.down, up=False), current)
            return max(desired, max(self.min_replicas, limit))
        return desired

    def _forget(self, now: float) -> None:
        longest = max(
            [p.period_s for p in self.behavior.up.policies + self.behavior.down.policies] or [0]
        )
        self.up_events = [e for e in self.up_events if e[0] > now - longest]
        self.down_events = [e for e in self.down_events if e[0] > now - longest]
