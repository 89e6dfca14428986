"""KEDA's own scale-executor tests, as data, against the simulator's KEDA loop.

Source: kedacore/keda pkg/scaling/executor/scale_scaledobjects_test.go (commit 8b4f083ca8c8,
2026-08-20); each test names the upstream test it carries over. Upstream calls RequestScale once
on a ScaledObject that was never active (status.lastActiveTime nil, creation long ago) with the
Deployment at a replica count, and asserts the count it sets and the Active condition; here one
`poll` after the creation instant is that call.

Not carried over (not modelled; knobless renders none of them): TestScaleToPausedReplicasCount,
the pause-scale-in/out annotation tests, TestScaleFromMinReplicasWhenActivationForced,
TestEventWitTriggerInfo (events), and the HPA-health condition tests (TestGetHPAHealth_*,
TestRequestScale_*: conditions only, no replica count).
"""

from __future__ import annotations

from plugins.apa.simulator.keda import KedaLoop

CREATED = 0.0
LATER = 1000.0  # RequestScale's time.Now(), long after the object was created


def loop(min_replicas: int, idle: int | None = None) -> KedaLoop:
    return KedaLoop(
        min_replicas, polling_interval_s=30, cooldown_s=300, idle_replicas=idle, created_at=CREATED
    )


def test_scale_to_min_replicas_when_not_active() -> None:
    """TestScaleToMinReplicasWhenNotActive: min 0, 10 replicas, inactive -> 0 (never active:
    initialCooldownPeriod 0 since creation has passed)."""
    keda = loop(0)
    assert keda.poll(LATER, False, 10) == 0
    assert keda.last_active is None  # Active condition false


def test_scale_to_min_replicas_from_lower_initial_replica_count() -> None:
    """TestScaleToMinReplicasFromLowerInitialReplicaCount: min 5, 1 replica, inactive -> 5."""
    assert loop(5).poll(LATER, False, 1) == 5


def test_scale_from_min_replicas_when_active() -> None:
    """TestScaleFromMinReplicasWhenActive: min 0, 0 replicas, active -> 1, lastActiveTime set."""
    keda = loop(0)
    assert keda.poll(LATER, True, 0) == 1
    assert keda.last_active == LATER


def test_scale_to_idle_replicas_when_not_active() -> None:
    """TestScaleToIdleReplicasWhenNotActive: idle 0, min 5, 10 replicas, inactive -> 0."""
    assert loop(5, idle=0).poll(LATER, False, 10) == 0


def test_scale_from_idle_to_min_replicas_when_active() -> None:
    """TestScaleFromIdleToMinReplicasWhenActive: idle 0, min 5, 0 replicas, active -> 5."""
    keda = loop(5, idle=0)
    assert keda.poll(LATER, True, 0) == 5
    assert keda.last_active == LATER
