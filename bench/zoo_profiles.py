"""The model zoo of bench/zoo.py: fourteen model profiles and the served versions they run as.

Each profile is one replica's ground truth (plugins/apa/simulator/profile.py): true capacity
1..1000 requests in flight, service time 2 ms..20 s; CPU-bound classic ML on the MLflow server,
GPU batching on Triton, LLMs on vLLM (DCGM utilization high as soon as a kernel runs, a poor load
signal), and agents in their own image — one whose event loop saturates the CPU, two bound by a
connection pool, where the CPU says little and only the latency knee tells.

The served version is the prod example endpoint of the same runtime as `knobless compile`
renders it (KEDA settings, HPA behavior), with per-replica bounds wide enough for every start
(the runtime default, 10x too low, 10x too high) and a provisioned floor: `floor` x the constant
trace's demand, so three profiles are held idle by their floor (2x the demand).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from plugins.apa.decision import Bounds
from plugins.apa.simulator.endpoint import ServedSystem, served_system
from plugins.apa.simulator.profile import Profile, Utilization

BASE_ENDPOINT = {
    "mlflow": "fraud-scorer",
    "triton": "doc-embedder",
    "vllm": "support-llm",
    "custom": "triage-agent",
}
REPLICAS_AT_CAPACITY = 12
"""The constant trace's demand: this many replicas at the true capacity."""


@dataclass(frozen=True)
class ZooModel:
    profile: Profile
    floor: float
    """Provisioned concurrency (scaling.concurrency.min) as a multiple of the constant demand."""
    default_start: float
    """The runtime's default per-replica target for this model's resources (the onboarding start)."""

    @property
    def demand(self) -> float:
        """In-flight requests of the constant trace."""
        return REPLICAS_AT_CAPACITY * self.profile.replica_capacity

    @property
    def rate(self) -> float:
        return self.demand / (self.profile.service_time_ms / 1000.0)


def _cpu(name: str, ms: float, capacity: float, busy: float, **extra: object) -> Profile:
    return Profile(
        name=name,
        runtime=str(extra.pop("runtime", "mlflow")),
        service_time_ms=ms,
        service_time_cv=float(extra.pop("cv", 0.5)),  # type: ignore[arg-type]
        replica_capacity=capacity,
        startup_s=float(extra.pop("startup_s", 10.0)),  # type: ignore[arg-type]
        slo_ms=float(extra.pop("slo_ms", 6 * ms)),  # type: ignore[arg-type]
        timeout_s=float(extra.pop("timeout_s", max(5.0, 30 * ms / 1000))),  # type: ignore[arg-type]
        queue_limit=float(extra.pop("queue_limit", max(64.0, 8 * capacity))),  # type: ignore[arg-type]
        cpu=Utilization(float(extra.pop("idle", 0.03)), busy),  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


ZOO: tuple[ZooModel, ...] = (
    ZooModel(_cpu("linear model, 1 core", 2.0, 3.0, 0.95, slo_ms=20.0), 0.3, 2.0),
    ZooModel(_cpu("xgboost scorer, 4 cores", 15.0, 12.0, 0.92), 0.3, 8.0),
    ZooModel(_cpu("sklearn pipeline, 1 core", 40.0, 2.0, 0.97, idle=0.05), 2.0, 2.0),
    ZooModel(_cpu("CPU ensemble, single thread", 120.0, 1.0, 1.0, idle=0.10), 0.3, 2.0),
    ZooModel(_cpu("feature ranker, 8 cores", 8.0, 40.0, 0.90, idle=0.02), 2.0, 16.0),
    ZooModel(
        _cpu(
            "GPU embedder (triton)",
            25.0,
            48.0,
            0.25,
            runtime="triton",
            idle=0.05,
            startup_s=90.0,
            slo_ms=100.0,
            gpus_per_replica=1,
            gpu=Utilization(0.02, 0.97),
            memory=Utilization(0.5, 0.6),
            exports_queue=True,
        ),
        0.3,
        32.0,
    ),
    ZooModel(
        _cpu(
            "GPU image classifier (triton)",
            60.0,
            128.0,
            0.3,
            runtime="triton",
            idle=0.05,
            startup_s=120.0,
            slo_ms=300.0,
            gpus_per_replica=1,
            gpu=Utilization(0.05, 0.98),
            memory=Utilization(0.5, 0.6),
            exports_queue=True,
        ),
        0.3,
        32.0,
    ),
    ZooModel(
        _cpu(
            "GPU reranker, big batches (triton)",
            10.0,
            256.0,
            0.2,
            runtime="triton",
            idle=0.05,
            startup_s=90.0,
            slo_ms=50.0,
            gpus_per_replica=1,
            gpu=Utilization(0.03, 0.96),
            memory=Utilization(0.5, 0.6),
            exports_queue=True,
        ),
        2.0,
        32.0,
    ),
    ZooModel(
        _cpu(
            "7B LLM, 1 GPU (vllm)",
            3000.0,
            32.0,
            0.15,
            runtime="vllm",
            idle=0.05,
            cv=0.6,
            startup_s=300.0,
            slo_ms=15000.0,
            timeout_s=60.0,
            gpus_per_replica=1,
            gpu=Utilization(0.4, 1.0),
            memory=Utilization(0.4, 0.45),
            exports_queue=True,
        ),
        0.3,
        32.0,
    ),
    ZooModel(
        _cpu(
            "70B LLM, 8 GPUs (vllm)",
            8000.0,
            96.0,
            0.15,
            runtime="vllm",
            idle=0.05,
            cv=0.6,
            startup_s=600.0,
            slo_ms=30000.0,
            timeout_s=120.0,
            gpus_per_replica=8,
            gpu=Utilization(0.55, 1.0),
            memory=Utilization(0.4, 0.45),
            exports_queue=True,
        ),
        0.3,
        32.0,
    ),
    ZooModel(
        _cpu(
            "long-form LLM, 20 s (vllm)",
            20000.0,
            64.0,
            0.15,
            runtime="vllm",
            idle=0.05,
            cv=0.6,
            startup_s=600.0,
            slo_ms=60000.0,
            timeout_s=240.0,
            gpus_per_replica=8,
            gpu=Utilization(0.5, 1.0),
            memory=Utilization(0.4, 0.45),
            exports_queue=True,
        ),
        0.3,
        32.0,
    ),
    ZooModel(
        _cpu(
            "agent, event loop (custom)",
            1500.0,
            300.0,
            0.93,
            runtime="custom",
            idle=0.02,
            cv=1.0,
            startup_s=15.0,
            slo_ms=5000.0,
            timeout_s=30.0,
            queue_limit=1000.0,
            memory=Utilization(0.3, 0.6),
        ),
        0.3,
        10.0,
    ),
    ZooModel(
        _cpu(
            "agent, connection pool (custom)",
            4000.0,
            1000.0,
            0.35,
            runtime="custom",
            idle=0.02,
            cv=1.0,
            startup_s=15.0,
            slo_ms=12000.0,
            timeout_s=60.0,
            queue_limit=4000.0,
            memory=Utilization(0.3, 0.6),
        ),
        0.3,
        10.0,
    ),
    ZooModel(
        _cpu(
            "tool agent, connection pool (custom)",
            800.0,
            50.0,
            0.25,
            runtime="custom",
            idle=0.02,
            cv=1.0,
            startup_s=15.0,
            slo_ms=3000.0,
            timeout_s=30.0,
            memory=Utilization(0.3, 0.6),
        ),
        2.0,
        10.0,
    ),
)


def zoo_system(root: Path, model: ZooModel) -> ServedSystem:
    """The served version a zoo model runs as: its runtime's prod example, rebounded."""
    rendered = served_system(root, "prod", BASE_ENDPOINT[model.profile.runtime])
    capacity = model.profile.replica_capacity
    low = min(capacity / 10.0, model.default_start) / 2.0
    high = max(capacity * 10.0, model.default_start) * 2.0
    floor = model.floor * model.demand
    ceiling = max(4.0 * model.demand, 2.0 * floor)
    bounds = Bounds(floor, ceiling, low, high, model.default_start)
    return replace(
        rendered,
        bounds=bounds,
        schedule=(),
        min_replicas=1,
        max_replicas=max(1, math.ceil(ceiling / low)),
    )
