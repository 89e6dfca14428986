"""The reference policies: a perfectly informed reactive autoscaler, direct and behind the HPA."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from plugins.apa.simulator.hpa import Behavior
from plugins.apa.simulator.oracle import OracleHpaPolicy, OraclePolicy, true_replicas
from plugins.apa.simulator.policies import View
from plugins.apa.simulator.profile import runtime_profile
from plugins.apa.simulator.simulation import Settings, simulate
from plugins.apa.simulator.trace import Trace

from .helpers import system


def step() -> Trace:
    t = np.array([0.0, 120.0, 121.0, 300.0])
    rps = np.array([3000.0, 3000.0, 30000.0, 30000.0])
    return Trace("step", t, rps, np.ones_like(rps))


def test_true_replicas_is_demand_over_the_true_capacity() -> None:
    profile = runtime_profile("mlflow", cpu_cores=4.0)  # 15 ms, 12 per replica
    needed = true_replicas(np.array([3000.0, 30000.0]), np.array([1.0, 2.0]), profile)
    assert needed.tolist() == [3.75, 75.0]


def test_oracles_react_to_the_second_just_simulated() -> None:
    served = system()
    needed = np.array([3.75, 37.5, 37.5])
    direct = OraclePolicy(served, needed, headroom=2.0)
    assert direct.initial == 2  # KEDA's minReplicaCount
    behind = OracleHpaPolicy(served, needed, (0.0, 0.0))

    def view(now: float, pods: int) -> View:
        return View(now, pods, pods, None, 0.0, 0, 0, 0.0)  # type: ignore[arg-type]

    assert direct.tick(view(1.0, 8)) is None  # ceil(3.75 x 2) = 8 already
    assert direct.tick(view(2.0, 8)) == 75
    assert behind.value(view(2.0, 8)) == 37.5


def test_the_hpa_behind_a_perfectly_informed_policy() -> None:
    profile = runtime_profile("mlflow", cpu_cores=4.0)
    sim = simulate(system(), profile, step(), ("oracle", "oracle-hpa"), Settings(seed=1))
    direct, behind = sim.summaries["oracle"], sim.summaries["oracle-hpa"]
    # 30,000 rps x 15 ms / 12 = 37.5 -> 38 replicas. Directly: the step's first full second
    # (121) is seen at its end (122), pods are ready 10 s later: 12 s after the step began.
    assert direct["replicas"]["max"] == 38
    assert direct["time_to_capacity_s"] == [12.0]
    # Behind the rendered HPA one sync reaches 38 (this phase: 2 s after the direct one).
    assert behind["time_to_capacity_s"] == [14.0]
    assert behind["rejected_fraction"] > direct["rejected_fraction"]
    # Behind an HPA with Kubernetes' default scale-up (+100% or +4 pods per 15 s, from 4):
    # three syncs more.
    default = replace(system(), behavior=Behavior())
    capped = simulate(default, profile, step(), ("oracle-hpa",), Settings(seed=1))
    assert capped.summaries["oracle-hpa"]["time_to_capacity_s"] == [59.0]
    more = simulate(system(), profile, step(), ("oracle",), Settings(seed=1, headroom=1.5))
    assert more.summaries["oracle"]["replicas"]["max"] == 57  # ceil(37.5 x 1.5)
