"""A served version built directly (no repository): what the simulator needs to know of it."""

from __future__ import annotations

from plugins.apa.decision import Bounds
from plugins.apa.simulator.endpoint import ServedSystem
from plugins.apa.simulator.hpa import Behavior
from plugins.autoscaling.behavior import hpa_behavior


def system(min_concurrency: float = 64.0, max_concurrency: float = 10000.0) -> ServedSystem:
    return ServedSystem(
        endpoint="fraud-scorer",
        env_name="prod",
        served="v7",
        runtime="mlflow",
        traffic_percent=100,
        cpu_cores=4.0,
        gpu_count=0,
        bounds=Bounds(min_concurrency, max_concurrency, 1.0, 32.0, 8.0),
        window_s=20.0,
        schedule=(),
        min_replicas=0 if min_concurrency == 0 else 2,
        max_replicas=10000,
        polling_interval_s=15.0,
        cooldown_s=300.0,
        behavior=Behavior.from_spec(hpa_behavior(10000)),
    )
