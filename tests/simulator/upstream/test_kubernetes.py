"""The Kubernetes HPA controller's own tests, as data, against the simulator's HPA model.

Sources (kubernetes/kubernetes, pkg/controller/podautoscaler/):
- replica_calculator_test.go (commit 5f3bc7cdab9b): GetResourceReplicas (CPU utilization) and
  GetExternalPerPodMetricReplicas (what KEDA's AverageValue trigger is) cases;
- horizontal_test.go (commit 4e62298c1bd1): TestScalingWithRules (behavior policies with past
  scale events), TestCalculateScaleUpLimitWithScalingRules, TestCalculateScaleDownLimitWith-
  Behaviors, TestNormalizeDesiredReplicasWithBehavior (stabilization windows) and the
  replica-change sums of TestStoreScaleEvents.
Each test names the upstream test it carries over; inputs and expected replica counts are
upstream's, the code under test is ours. Upstream's controller default tolerance is 0.1.

How the cases are put: the model takes the summed utilization of the pods it counts (fractions of
their request) and how many are ready / not yet counted; upstream's per-pod levels (millicores)
and requests become that sum. Pods upstream ignores (failed, being deleted, pending, metrics for
pods that do not exist) are simply not passed; pods in their CPU initialization period ("hot")
and unready pods are the not-yet-counted ones. Events and recommendations carry upstream's ages
in seconds before NOW.

Not carried over, and why:
- the missing-metrics cases (TestReplicaCalcMissingMetrics*, 9): in the simulator
  metrics-server reports every pod it counts, so there is no pod without a metric to assume at
  0% / 100%;
- the error cases (DisjointResourcesMetrics, EmptyMetrics, EmptyCPURequest) and TestGroupPods's
  pod classification by phase, readiness transition and metric window: the model is given the
  classification, not pods;
- Pods, Object and External Value metric cases (the *CM*, *Object* and non-per-pod External
  ones, 17): knobless renders only the External AverageValue trigger KEDA creates, and `cpu`;
- HPA conditions (ScaleUpLimit, TooManyReplicas, ...) asserted next to the counts: not modelled;
  the counts are checked;
- TestStoreScaleEvents's storage (which event is replaced or marked outdated): the model keeps
  every event of the longest period; the sums it reads are checked;
- the legacy no-behavior paths (TestNormalizeDesiredReplicas, convertDesiredReplicasWithRules):
  autoscaling/v2 defaults a behavior, so the controller always takes the behavior path.
"""

from __future__ import annotations

import math

import pytest

from plugins.apa.simulator.hpa import (
    SCALE_DOWN_DEFAULT,
    SCALE_UP_DEFAULT,
    Behavior,
    Hpa,
    ScalingPolicy,
    ScalingRules,
)

NOW = 10_000.0


# --- replica_calculator_test.go: GetResourceReplicas -----------------------------------------


def utilization(levels: list[int], requests: list[int] | None = None) -> float:
    """Upstream's per-pod CPU levels and requests (millicores) as the model's summed
    utilization: sum(levels) / sum(requests) per pod, times the pods."""
    requests = requests or [1000] * len(levels)
    return sum(levels) / sum(requests) * len(levels)


# (upstream test, current replicas, levels of the counted ready pods, pods not yet counted
# (unready or hot CPU), target utilization %, expected replicas)
RESOURCE_CASES = [
    ("TestReplicaCalcScaleUp", 3, [300, 500, 700], 0, 30, 5),
    ("TestReplicaCalcScaleUpUnreadyLessScale", 3, [500, 700], 1, 30, 4),
    ("TestReplicaCalcScaleUpHotCpuLessScale", 3, [500, 700], 1, 30, 4),
    ("TestReplicaCalcScaleUpUnreadyNoScale", 3, [400], 2, 30, 3),
    ("TestReplicaCalcScaleHotCpuNoScale", 3, [400], 2, 30, 3),
    ("TestReplicaCalcScaleUpIgnoresFailedPods", 2, [500, 700], 0, 30, 4),
    ("TestReplicaCalcScaleUpIgnoresDeletionPods", 2, [500, 700], 0, 30, 4),
    ("TestReplicaCalcScaleDown", 5, [100, 300, 500, 250, 250], 0, 50, 3),
    ("TestReplicaCalcScaleDownIncludeUnreadyPods", 5, [100, 300, 500], 2, 50, 2),
    ("TestReplicaCalcScaleDownExcludeUnscheduledPods", 5, [100], 4, 50, 1),
    ("TestReplicaCalcScaleDownIgnoreHotCpuPods", 5, [100, 300, 500], 2, 50, 2),
    ("TestReplicaCalcScaleDownIgnoresFailedPods", 5, [100, 300, 500, 250, 250], 0, 50, 3),
    ("TestReplicaCalcScaleDownIgnoresDeletionPods", 5, [100, 300, 500, 250, 250], 0, 50, 3),
    # Two extra metrics for pods that do not exist are ignored.
    ("TestReplicaCalcSuperfluousMetrics", 4, [4000, 9500, 3000, 7000], 0, 100, 24),
]


@pytest.mark.parametrize(
    ("current", "levels", "uncounted", "target", "expected"),
    [case[1:] for case in RESOURCE_CASES],
    ids=[case[0] for case in RESOURCE_CASES],
)
def test_resource_replicas(
    current: int, levels: list[int], uncounted: int, target: int, expected: int
) -> None:
    hpa = Hpa(Behavior(), 1, 1000)
    usage = utilization(levels)
    assert (
        hpa.resource_utilization(current, usage, len(levels), uncounted, target / 100) == expected
    )


def test_resource_tolerance_with_unequal_requests() -> None:
    """TestReplicaCalcTolerance: 3060m used of 3000m requested is 102% of 100%: no change."""
    usage = utilization([1010, 1030, 1020], [900, 1000, 1100])
    assert Hpa(Behavior(), 1, 1000).resource_utilization(3, usage, 3, 0, 1.0) == 3


def test_computed_tolerance_alg_implementation() -> None:
    """TestReplicaCalcComputedToleranceAlgImplementation: 10 pods using half their request;
    a target just past the tolerance scales down to 9, one just inside it holds 10."""
    used = [150] * 10
    requested = [400, 200, 310, 290, 302, 298, 301, 299, 300, 300]
    usage = utilization(used, requested)
    target = abs(1 / (2 * (1 - 0.1))) + 0.01
    percent = int(target * 100)
    final = math.ceil(1500 / (3000 * target) * 10)
    assert final == 9
    hpa = Hpa(Behavior(), 1, 1000)
    assert hpa.resource_utilization(10, usage, 10, 0, percent / 100) == final
    percent = int((abs(1 / (2 * (1 - 0.1))) + 0.004) * 100)
    assert hpa.resource_utilization(10, usage, 10, 0, percent / 100) == 10


# --- replica_calculator_test.go: GetExternalPerPodMetricReplicas -----------------------------

# (upstream test, current replicas, summed metric (milli), target per pod (milli), expected)
EXTERNAL_PER_POD_CASES = [
    ("TestReplicaCalcScaleUpPerPodCMExternal", 3, 8600, 2150, 4),
    ("TestReplicaCalcScaleDownPerPodCMExternal", 5, 8600, 2867, 3),
    ("TestReplicaCalcTolerancePerPodCMExternal", 3, 8600, 2900, 3),
]


@pytest.mark.parametrize(
    ("current", "usage", "target", "expected"),
    [case[1:] for case in EXTERNAL_PER_POD_CASES],
    ids=[case[0] for case in EXTERNAL_PER_POD_CASES],
)
def test_external_per_pod_replicas(current: int, usage: int, target: int, expected: int) -> None:
    hpa = Hpa(Behavior(), 1, 1000)
    assert hpa.external_average_value(usage / 1000, target / 1000, current) == expected


# --- horizontal_test.go: behaviors -----------------------------------------------------------


def rules(
    pods: int, pods_period: int, percent: int, percent_period: int, window: int
) -> ScalingRules:
    """horizontal_test.go's generateScalingRules (selectPolicy Max)."""
    policies = []
    if pods:
        policies.append(ScalingPolicy("Pods", pods, float(pods_period)))
    if percent:
        policies.append(ScalingPolicy("Percent", percent, float(percent_period)))
    return ScalingRules(float(window), tuple(policies), "Max")


def with_defaults(given: ScalingRules | None, default: ScalingRules) -> ScalingRules:
    """GenerateHPAScale{Up,Down}Rules: no rules or no policies -> the default policies."""
    if given is None:
        return default
    return ScalingRules(given.stabilization_s, given.policies or default.policies, given.select)


def uniform_events(changes: list[int], period_s: int) -> list[tuple[float, int]]:
    """generateEventsUniformDistribution: one event in the middle of each equal segment of the
    last `period_s` seconds (ages truncated to whole seconds, as time.Duration does)."""
    segment = period_s / len(changes)
    ages = [int(period_s - segment * (i + 1) + segment / 2) for i in range(len(changes))]
    return [(NOW - age, change) for age, change in zip(ages, changes, strict=True)]


U = [1, 5, 9]
# (name, up events, down events, min, max, up rules, down rules, current, desired, expected)
SCALING_WITH_RULES = [
    ("prenormalized desired replicas within range", None, None, 3, 8, None, None, 5, 7, 7),
    ("prenormalized desired replicas < minReplicas", None, None, 2, 8, None, None, 3, 1, 2),
    (
        "prenormalized desired replicas within range when minReplicas is 0",
        *(None, None, 0, 10, None, None, 1, 0, 0),
    ),
    (
        "maxReplicas is the limit because maxReplicas < scaleUpLimit",
        *(None, None, 1, 10, None, None, 20, 1000, 10),
    ),
    (
        "desired replica count is more than the maximum replica count",
        *(None, None, 100, 150, None, None, 100, 1000, 150),
    ),
    (
        "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
        *(None, None, 1, 2000, rules(0, 0, 1, 60, 0), None, 3, 1000, 4),
    ),
    ("scaleUp with default behavior", None, None, 1, 1000, None, None, 10, 50, 20),
    (
        "scaleUp with pods policy larger than percent policy",
        *(None, None, 1, 1000, rules(100, 60, 100, 60, 0), None, 10, 500, 110),
    ),
    (
        "scaleUp with percent policy larger than pods policy",
        *(None, None, 1, 1000, rules(2, 60, 100, 60, 0), None, 10, 500, 20),
    ),
    (
        "scaleUp with spec MaxReplicas limitation with large pod policy",
        *(None, None, 1, 1000, rules(100, 60, 0, 0, 0), None, 10, 50, 50),
    ),
    (
        "scaleUp with spec MaxReplicas limitation with large percent policy",
        *(None, None, 1, 1000, rules(10000, 60, 0, 0, 0), None, 10, 50, 50),
    ),
    (
        "scaleUp with pod policy limitation",
        *(None, None, 1, 1000, rules(30, 60, 0, 0, 0), None, 10, 50, 40),
    ),
    (
        "scaleUp with percent policy limitation",
        *(None, None, 1, 1000, rules(0, 0, 200, 60, 0), None, 10, 50, 30),
    ),
    (
        "scaleDown with percent policy larger than pod policy",
        *(None, None, 1, 1000, None, rules(20, 60, 1, 60, 300), 100, 2, 80),
    ),
    (
        "scaleDown with pod policy larger than percent policy",
        *(None, None, 1, 1000, None, rules(2, 60, 1, 60, 300), 100, 2, 98),
    ),
    (
        "scaleDown with spec MinReplicas=nil limitation with large pod policy",
        *(None, None, 1, 1000, None, rules(100, 60, 0, 0, 300), 10, 0, 1),
    ),
    (
        "scaleDown with spec MinReplicas limitation with large pod policy",
        *(None, None, 1, 1000, None, rules(100, 60, 0, 0, 300), 10, 0, 1),
    ),
    (
        "scaleDown with spec MinReplicas limitation with large percent policy",
        *(None, None, 5, 1000, None, rules(0, 0, 100, 60, 300), 10, 2, 5),
    ),
    (
        "scaleDown with pod policy limitation",
        *(None, None, 1, 1000, None, rules(5, 60, 0, 0, 300), 10, 2, 5),
    ),
    (
        "scaleDown with percent policy limitation",
        *(None, None, 1, 1000, None, rules(0, 0, 50, 60, 300), 10, 5, 5),
    ),
    (
        "scaleUp with spec MaxReplicas limitation with large pod policy and events",
        *(U, None, 1, 200, rules(300, 60, 0, 0, 0), None, 100, 500, 200),
    ),
    (
        "scaleUp with spec MaxReplicas limitation with large percent policy and events",
        *(U, None, 1, 200, rules(0, 0, 10000, 60, 0), None, 100, 500, 200),
    ),
    (
        "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent "
        "scale up events",
        *(U, None, 1, 1000, rules(5, 120, 0, 0, 0), None, 100, 500, 100),
    ),
    (
        "scaleUp with pod policy and previous scale up events",
        *(U, None, 1, 1000, rules(150, 120, 0, 0, 0), None, 100, 500, 235),
    ),
    (
        "scaleUp with percent policy and previous scale up events",
        *(U, None, 1, 1000, rules(0, 0, 200, 120, 0), None, 100, 500, 255),
    ),
    (
        "scaleDown with default policy and previous events",
        *(None, U, 1, 1000, None, None, 10, 5, 5),
    ),
    (
        "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
        *(None, U, 1, 1000, None, rules(115, 120, 0, 0, 300), 100, 0, 1),
    ),
    (
        "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
        *(None, U, 5, 1000, None, rules(130, 120, 0, 0, 300), 100, 0, 5),
    ),
    (
        "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
        *(None, U, 5, 1000, None, rules(0, 0, 100, 120, 300), 100, 2, 5),
    ),
    (
        "scaleDown with pod policy limitation and previous events",
        *(None, U, 1, 1000, None, rules(5, 120, 0, 0, 300), 100, 2, 100),
    ),
    (
        "scaleDown with percent policy limitation and previous events",
        *(None, [2, 4, 6], 1, 1000, None, rules(0, 0, 50, 120, 300), 100, 0, 56),
    ),
    (
        "scaleDown with previous events preventing further scale down",
        *(None, [10, 10, 10], 1, 1000, None, rules(0, 0, 10, 120, 300), 100, 0, 100),
    ),
    (
        "scaleDown with with previous events still allowing more scale down",
        *(None, [10, 10, 10], 1, 1000, None, rules(0, 0, 1000, 120, 300), 10, 5, 5),
    ),
    (
        "check 'outdated' flag for events for one behavior for up",
        *([8, 12, 9, 11], None, 1, 1000, rules(1000, 60, 0, 0, 0), None, 100, 200, 200),
    ),
    (
        "check that events were not marked 'outdated' for two different policies in the "
        "behavior for up",
        *([8, 12, 9, 11], None, 1, 1000, rules(1000, 120, 100, 60, 0), None, 100, 200, 200),
    ),
    (
        "check that events were marked 'outdated' for two different policies in the behavior "
        "for up",
        *([8, 12, 9, 11], None, 1, 1000, rules(1000, 30, 100, 60, 0), None, 100, 200, 200),
    ),
    (
        "check 'outdated' flag for events for one behavior for down",
        *(None, [8, 12, 9, 11], 1, 1000, None, rules(1000, 60, 0, 0, 300), 100, 5, 5),
    ),
    (
        "check that events were not marked 'outdated' for two different policies in the "
        "behavior for down",
        *(None, [8, 12, 9, 11], 1, 1000, None, rules(1000, 120, 100, 60, 300), 100, 5, 5),
    ),
    (
        "check that events were marked 'outdated' for two different policies in the behavior "
        "for down",
        *(None, [8, 12, 9, 11], 1, 1000, None, rules(1000, 30, 100, 60, 300), 100, 5, 5),
    ),
]


@pytest.mark.parametrize(
    ("up_events", "down_events", "min_r", "max_r", "up", "down", "current", "desired", "want"),
    [case[1:] for case in SCALING_WITH_RULES],
    ids=[case[0] for case in SCALING_WITH_RULES],
)
def test_scaling_with_rules(
    up_events: list[int] | None,
    down_events: list[int] | None,
    min_r: int,
    max_r: int,
    up: ScalingRules | None,
    down: ScalingRules | None,
    current: int,
    desired: int,
    want: int,
) -> None:
    """TestScalingWithRules (convertDesiredReplicasWithBehaviorRate), every row but the one
    upstream skips (testThis)."""
    behavior = Behavior(
        with_defaults(up, SCALE_UP_DEFAULT), with_defaults(down, SCALE_DOWN_DEFAULT)
    )
    hpa = Hpa(behavior, min_r, max_r)
    hpa.up_events = uniform_events(up_events, 120) if up_events else []
    hpa.down_events = uniform_events(down_events, 120) if down_events else []
    assert hpa.rate_limit(NOW, current, desired) == want


def test_scale_limits_with_min_select_policy() -> None:
    """TestCalculateScaleUpLimitWithScalingRules and TestCalculateScaleDownLimitWithBehaviors:
    selectPolicy Min over +2 pods / +50% (from 1 -> 2) and -2 pods / -50% (from 5 -> 3)."""
    both = (ScalingPolicy("Pods", 2, 60.0), ScalingPolicy("Percent", 50, 60.0))
    up = Hpa(Behavior(up=ScalingRules(300.0, both, "Min")), 1, 1000)
    assert up.rate_limit(NOW, 1, 1000) == 2
    down = Hpa(Behavior(down=ScalingRules(300.0, both, "Min")), 0, 1000)
    assert down.rate_limit(NOW, 5, 0) == 3


# (age in seconds, change) of the events before the call, expected change within 60 s
STORE_SCALE_EVENTS = [
    ("empty entries with default behavior", [], 0),
    ("one outdated entry to be kept untouched without behavior", [(61, 7)], 0),
    ("one actual entry to be not touched with behavior", [(58, 7)], 7),
    ("two entries, one of them to be replaced", [(61, 7), (59, 6)], 6),
    (
        "replace one entry, use policies with different periods",
        [(29, 8), (59, 6), (61, 7), (61, 9)],
        14,
    ),
    ("two entries, both actual", [(58, 7), (59, 6)], 13),
]


@pytest.mark.parametrize(
    ("events", "expected"),
    [case[1:] for case in STORE_SCALE_EVENTS],
    ids=[case[0] for case in STORE_SCALE_EVENTS],
)
def test_replicas_change_per_period(events: list[tuple[int, int]], expected: int) -> None:
    """TestStoreScaleEvents: getReplicasChangePerPeriod(60, events) for up and down."""
    timed = [(NOW - age, change) for age, change in events]
    hpa = Hpa(Behavior(), 1, 100)
    assert hpa._changed_within(timed, NOW, 60) == expected


# (name, recommendations (value, age s), current, desired, expected, stored values,
#  up window, down window)
NORMALIZE_WITH_BEHAVIOR = [
    ("empty recommendations for scaling down", [], 100, 5, 5, [5], 0, 0),
    (
        "simple scale down stabilization",
        [(4, 120), (5, 60)],
        *(100, 3, 5, [4, 5, 3], 0, 180),
    ),
    ("simple scale up stabilization", [(4, 120), (5, 60)], 1, 7, 4, [4, 5, 7], 300, 0),
    ("no scale down stabilization", [(1, 120), (2, 60)], 100, 3, 3, [1, 2, 3], 300, 0),
    ("no scale up stabilization", [(4, 120), (5, 60)], 1, 3, 3, [4, 5, 3], 0, 300),
    (
        "no scale down stabilization, reuse recommendation element",
        [(10, 600), (9, 540)],
        *(100, 3, 3, [10, 3], 0, 0),
    ),
    (
        "no scale up stabilization, reuse recommendation element",
        [(10, 600), (9, 540)],
        *(1, 100, 100, [10, 100], 0, 0),
    ),
    (
        "scale down stabilization, reuse one of obsolete recommendation element",
        [(10, 600), (4, 60), (5, 120), (9, 540)],
        *(100, 3, 5, [10, 4, 5, 3], 0, 180),
    ),
    (
        "scale up stabilization, reuse one of obsolete recommendation element",
        [(10, 6000), (6, 60), (5, 120), (9, 180)],
        *(1, 100, 5, [100, 6, 5, 9], 300, 0),
    ),
]


@pytest.mark.parametrize(
    ("recommendations", "current", "desired", "expected", "stored", "up_s", "down_s"),
    [case[1:] for case in NORMALIZE_WITH_BEHAVIOR],
    ids=[case[0] for case in NORMALIZE_WITH_BEHAVIOR],
)
def test_normalize_desired_replicas_with_behavior(
    recommendations: list[tuple[int, int]],
    current: int,
    desired: int,
    expected: int,
    stored: list[int],
    up_s: int,
    down_s: int,
) -> None:
    """TestNormalizeDesiredReplicasWithBehavior (stabilizeRecommendationWithBehaviors)."""
    behavior = Behavior(
        up=ScalingRules(float(up_s), SCALE_UP_DEFAULT.policies),
        down=ScalingRules(float(down_s), SCALE_DOWN_DEFAULT.policies),
    )
    hpa = Hpa(behavior, 1, 1000)
    hpa.recommendations = [(NOW - age, value) for value, age in recommendations]
    assert hpa.stabilize(NOW, current, desired) == expected
    assert [value for _, value in hpa.recommendations] == stored
