"""Model profiles: how one replica of a model behaves under load (the simulator's ground truth).

The controller never reads `replica_capacity`: it is the concurrency at which a replica's
bottleneck (CPU cores, GPU compute, the KV cache, an event loop) saturates. Below it a request
takes its service time; above it the replica shares its bottleneck (processor sharing), so every
request in flight slows down by in_flight / capacity. The APA has to discover it from the signals
the replica exposes (utilization, latency, queue), exactly as it would in a cluster.

Defaults come from the runtime, scaled by the served version's resources like the runtime table
of the autoscaling plugin (MLflow per CPU core, Triton per GPU, vLLM and custom per replica).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Utilization:
    """A signal as a function of u = min(in_flight, capacity) / capacity: idle + (busy - idle) * u."""

    idle: float
    busy: float

    def at(self, u: float) -> float:
        return self.idle + (self.busy - self.idle) * u


@dataclass(frozen=True)
class Profile:
    """One model's behavior per replica. Times in the unit their name says."""

    name: str
    runtime: str
    service_time_ms: float
    """Mean time one request takes on a replica below its capacity."""
    service_time_cv: float
    """Coefficient of variation of the service time (log-normal)."""
    replica_capacity: float
    """True concurrency one replica takes before latency climbs (unknown to the controller)."""
    startup_s: float
    """Pod start to Ready: scheduling, image pull, model load."""
    slo_ms: float
    """Latency objective per request."""
    timeout_s: float
    """Requests that would take longer are abandoned (counted as rejected)."""
    queue_limit: float
    """Most requests one replica holds (running + waiting); more are rejected (503)."""
    gpus_per_replica: int = 0
    cpu: Utilization = Utilization(0.03, 0.92)
    """CPU utilization (fraction of the request) by load."""
    gpu: Utilization | None = None
    """GPU utilization by load (None: no GPU, no DCGM signal)."""
    memory: Utilization = Utilization(0.35, 0.5)
    exports_queue: bool = False
    """The runtime exports a waiting-requests metric (Triton, vLLM)."""
    container_concurrency: int | None = None
    """Knative containerConcurrency for the `kpa` baseline (None: unset, Knative uses 100)."""

    def __post_init__(self) -> None:
        for name in ("service_time_ms", "replica_capacity", "slo_ms", "timeout_s", "queue_limit"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be > 0, got {value}")
        if self.startup_s < 0 or self.service_time_cv < 0:
            raise ValueError("startup_s and service_time_cv must be >= 0")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cpu"] = [self.cpu.idle, self.cpu.busy]
        data["gpu"] = None if self.gpu is None else [self.gpu.idle, self.gpu.busy]
        data["memory"] = [self.memory.idle, self.memory.busy]
        return data

    def with_overrides(self, **values: Any) -> Profile:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def runtime_profile(runtime: str, *, cpu_cores: float = 1.0, gpu_count: int = 0) -> Profile:
    """The default profile of a runtime for a replica with these resources."""
    gpus = max(1, gpu_count)
    if runtime == "mlflow":
        # A classic-ML model (xgboost, sklearn) on the MLflow pyfunc server: CPU bound, a few
        # concurrent requests per core before the cores saturate; small image, starts in ~10 s.
        return Profile(
            name="CPU classifier (mlflow)",
            runtime=runtime,
            service_time_ms=15.0,
            service_time_cv=0.5,
            replica_capacity=3.0 * max(cpu_cores, 0.5),
            startup_s=10.0,
            slo_ms=100.0,
            timeout_s=5.0,
            queue_limit=64.0 * max(cpu_cores, 1.0),
            gpus_per_replica=gpu_count,
        )
    if runtime == "triton":
        # An embedding model with Triton dynamic batching: GPU bound, batches of tens per GPU.
        return Profile(
            name="GPU embedder (triton)",
            runtime=runtime,
            service_time_ms=25.0,
            service_time_cv=0.3,
            replica_capacity=48.0 * gpus,
            startup_s=90.0,
            slo_ms=100.0,
            timeout_s=5.0,
            queue_limit=512.0 * gpus,
            gpus_per_replica=gpu_count,
            cpu=Utilization(0.05, 0.25),
            gpu=Utilization(0.02, 0.97),
            memory=Utilization(0.5, 0.6),
            exports_queue=True,
        )
    if runtime == "vllm":
        # A 70B chat model on eight GPUs with continuous batching: ~100 sequences before the KV
        # cache is full and requests wait; pulling and loading 140 GB of weights takes minutes.
        return Profile(
            name="70B LLM (vllm)",
            runtime=runtime,
            service_time_ms=8000.0,
            service_time_cv=0.6,
            replica_capacity=96.0,
            startup_s=600.0,
            slo_ms=30000.0,
            timeout_s=120.0,
            queue_limit=1024.0,
            gpus_per_replica=gpu_count,
            cpu=Utilization(0.05, 0.15),
            # DCGM's utilization is high as soon as any kernel runs: a poor load signal.
            gpu=Utilization(0.55, 1.0),
            memory=Utilization(0.4, 0.45),
            exports_queue=True,
        )
    # custom: an agent in the team's own image, mostly waiting on other services.
    return Profile(
        name="agent (custom)",
        runtime=runtime,
        service_time_ms=1500.0,
        service_time_cv=1.0,
        replica_capacity=300.0,
        startup_s=15.0,
        slo_ms=5000.0,
        timeout_s=30.0,
        queue_limit=1000.0,
        gpus_per_replica=gpu_count,
        cpu=Utilization(0.02, 0.93),
        memory=Utilization(0.3, 0.6),
    )
