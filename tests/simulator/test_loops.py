"""KEDA's activation loop, Knative's KPA and pod start-up, against hand-computed cases."""

from __future__ import annotations

from plugins.apa.simulator.cluster import Pods
from plugins.apa.simulator.keda import KedaLoop
from plugins.apa.simulator.observed import Observed
from plugins.apa.simulator.policies import KpaPolicy, View

from .helpers import system


def test_keda_activates_from_zero_and_waits_the_cooldown() -> None:
    keda = KedaLoop(min_replicas=0, polling_interval_s=15, cooldown_s=300)
    assert keda.poll(0.0, True, 0) == 1  # active at 0: straight to max(1, min)
    assert keda.poll(15.0, False, 1) == 1
    assert keda.poll(299.0, False, 3) == 3  # the HPA's replicas are left alone
    assert keda.poll(300.0, False, 3) == 3  # lastActiveTime + cooldown is not yet *before* now
    assert keda.poll(315.0, False, 3) == 0  # cooldown since the last active poll
    assert keda.poll(330.0, True, 0) == 1


def test_keda_minimum_and_fresh_objects() -> None:
    keda = KedaLoop(min_replicas=3, polling_interval_s=30, cooldown_s=300)
    assert keda.poll(0.0, True, 0) == 3
    assert keda.poll(30.0, False, 1) == 3  # inactive below minReplicaCount
    # Never active: no lastActiveTime, so only initialCooldownPeriod (0) after creation counts.
    fresh = KedaLoop(min_replicas=0, polling_interval_s=30, cooldown_s=300)
    assert fresh.poll(0.0, False, 2) == 2
    assert fresh.poll(30.0, False, 2) == 0
    waiting = KedaLoop(0, 30, 300, initial_cooldown_s=120.0)
    assert waiting.poll(120.0, False, 2) == 2
    assert waiting.poll(150.0, False, 2) == 0


def test_pods_start_late_and_go_newest_first() -> None:
    pods = Pods(startup_s=10.0)
    pods.scale(0.0, 2)
    assert pods.ready(9.0) == 0 and pods.ready(10.0) == 2
    pods.scale(20.0, 5)
    assert pods.count == 5 and pods.ready(25.0) == 2 and pods.ready_since(31.0, 15) == 2
    pods.scale(25.0, 3)  # the two newest (still starting) go first
    assert pods.ready_at == [10.0, 10.0, 30.0]


def view(now: float, ready: int, pods: int, concurrency: float) -> View:
    return View(now, pods, ready, Observed(5, False, False), 0.0, 0, 0, concurrency)


def test_kpa_panics_on_a_burst_and_does_not_scale_down_in_panic() -> None:
    kpa = KpaPolicy(system(min_concurrency=0), None, 8.0, phase=0.0)
    assert kpa.target == 70.0  # 0.7 x 100 when containerConcurrency is unset
    decisions = []
    for second in range(1, 61):
        decisions.append(kpa.tick(view(float(second), 2, 2, 140.0)))
    assert set(decisions) == {None}  # 140 / 70 = 2 replicas: steady
    # 700 in flight: the 6 s panic window says ceil(avg / 70) >= 2 x ready: panic, grow.
    grown = None
    for second in range(61, 67):
        grown = kpa.tick(view(float(second), 2, 2, 700.0)) or grown
    assert kpa.decider is not None and kpa.decider.panic_time is not None
    assert grown == 10  # ceil(700 / 70): the panic window is all 700 by now
    # Load vanishes: in panic the count never goes down.
    assert kpa.tick(view(68.0, 10, 10, 0.0)) is None
    # More than a stable window after the last tick over the threshold (66 s), panic ends and
    # the 2x scale-down rate applies: floor(10 / 2).
    for second in range(69, 128):
        assert kpa.tick(view(float(second), 10, 10, 0.0)) is None
    assert kpa.tick(view(128.0, 10, 10, 0.0)) == 5
    assert kpa.decider.panic_time is None
