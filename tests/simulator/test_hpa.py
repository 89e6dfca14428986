"""The HPA model against hand-computed cases (kube-controller-manager's arithmetic)."""

from __future__ import annotations

from plugins.apa.simulator.hpa import (
    SCALE_DOWN_DEFAULT,
    SCALE_UP_DEFAULT,
    Behavior,
    Hpa,
    ScalingPolicy,
    ScalingRules,
)
from plugins.autoscaling.behavior import hpa_behavior

RENDERED = Behavior.from_spec(hpa_behavior(100))
DEFAULT = Behavior()  # no `behavior`: the controller's max(+100%, +4 pods) per 15 s


def test_rendered_behavior_is_read_as_written() -> None:
    assert RENDERED.up == ScalingRules(0.0, (ScalingPolicy("Pods", 100, 15.0),), "Max")
    assert RENDERED.down == ScalingRules(300.0, (ScalingPolicy("Percent", 10, 60.0),), "Min")


def test_missing_behavior_gets_the_controller_defaults() -> None:
    assert Behavior.from_spec(None) == Behavior(SCALE_UP_DEFAULT, SCALE_DOWN_DEFAULT)
    partial = Behavior.from_spec(
        {"scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    )
    assert partial.up == SCALE_UP_DEFAULT
    assert partial.down == ScalingRules(300.0, (ScalingPolicy("Pods", 1, 60.0),), "Max")


def test_external_average_value_and_tolerance() -> None:
    hpa = Hpa(RENDERED, 1, 100)
    # usage / (target x replicas) within [0.9, 1.1]: no change.
    assert hpa.external_average_value(10.9, 1.0, 10) == 10
    assert hpa.external_average_value(9.0, 1.0, 10) == 10
    # Outside: ceil(usage / target), whatever the current count.
    assert hpa.external_average_value(11.2, 1.0, 10) == 12
    assert hpa.external_average_value(8.95, 1.0, 10) == 9
    assert hpa.external_average_value(150.0, 8.4, 10) == 18  # ceil(17.86)
    # KEDA sends 3 decimals: 10.0001 is read as 10.001, well within tolerance.
    assert hpa.external_average_value(10.0001, 1.0, 10) == 10


def test_rendered_scale_up_reaches_the_proposal_in_one_sync() -> None:
    hpa = Hpa(RENDERED, 1, 100)
    assert hpa.reconcile(0.0, 1, 38) == 38  # 1 -> 38 at once: the cap is the scaler's answer
    assert hpa.reconcile(15.0, 38, 100) == 100
    capped = Hpa(RENDERED, 1, 100)
    assert capped.reconcile(0.0, 4, 500) == 100  # maxReplicas


def test_default_scale_up_doubles_or_adds_four_per_period() -> None:
    hpa = Hpa(DEFAULT, 1, 100)
    assert hpa.reconcile(0.0, 4, 50) == 8  # max(ceil(4 x 2), 4 + 4)
    assert hpa.reconcile(14.0, 8, 50) == 8  # the period started at 4 replicas: limit 8
    assert hpa.reconcile(15.0, 8, 50) == 16  # the t=0 event left the 15 s period
    assert hpa.reconcile(30.0, 16, 50) == 32
    assert hpa.reconcile(45.0, 32, 50) == 50  # the proposal is below the limit of 64
    small = Hpa(DEFAULT, 1, 100)
    assert small.reconcile(0.0, 1, 50) == 5  # Pods 4 beats Percent 100 at one replica
    capped = Hpa(DEFAULT, 1, 6)
    assert capped.reconcile(0.0, 4, 50) == 6  # maxReplicas


def test_scale_down_waits_for_the_window_then_ten_percent_a_minute() -> None:
    hpa = Hpa(RENDERED, 1, 100)
    current = 20
    seen = {}
    for t in range(0, 421, 15):
        current = hpa.reconcile(float(t), current, 20 if t == 0 else 5)
        seen[t] = current
    assert all(seen[t] == 20 for t in range(0, 300, 15))  # the t=0 recommendation of 20 holds
    assert seen[300] == 18  # int(20 x 0.9)
    assert seen[315] == seen[345] == 18  # the period started at 20: limit 18
    assert seen[360] == 16  # int(18 x 0.9)
    assert seen[420] == 14  # int(16 x 0.9)


def test_disabled_policy_and_minimum() -> None:
    frozen = Behavior(up=ScalingRules(0.0, SCALE_UP_DEFAULT.policies, "Disabled"))
    assert Hpa(frozen, 1, 100).reconcile(0.0, 4, 50) == 4
    assert Hpa(RENDERED, 3, 100).reconcile(0.0, 2, 1) == 3  # below minReplicas
    assert Hpa(RENDERED, 1, 100).reconcile(0.0, 0, 10) == 0  # ScalingDisabled at 0: KEDA's job


def test_resource_utilization_with_unready_pods() -> None:
    hpa = Hpa(RENDERED, 1, 100)
    # 4 ready pods at 90% against 70%: ceil(1.2857 x 4) = 6.
    assert hpa.resource_utilization(4, 3.6, 4, 0, 0.7) == 6
    # Two more pods not ready yet count as 0% on the way up: 3.6 / (0.7 x 6) < 1, no change.
    assert hpa.resource_utilization(6, 3.6, 4, 2, 0.7) == 6
    # 65% is within tolerance of 70%.
    assert hpa.resource_utilization(4, 2.6, 4, 0, 0.7) == 4
    # On the way down unready pods are left out: ceil(0.4286 x 4) = 2.
    assert hpa.resource_utilization(6, 1.2, 4, 2, 0.7) == 2
    assert hpa.resource_utilization(3, 0.0, 0, 3, 0.7) == 3  # no metrics: hold
