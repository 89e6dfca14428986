"""Per-replica concurrency bounds of a served version: the endpoint's `perReplica`, else the
runtime's defaults.

The runtime plugins own the defaults (`plugins.runtimes.per_replica_range`) because they also
configure the server from them — vLLM's `--max-num-seqs` is the per-replica maximum, MLflow's
worker count and Triton's batch size set the rest — so the scaler can never learn a figure the
server would refuse. This module only adapts that answer; the README's "Autoscaling" section has the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.context import EndpointContext, ServedContext
from plugins.runtimes import per_replica_range


@dataclass(frozen=True)
class PerReplica:
    """Bounds and starting point of the concurrency one replica is assumed to take."""

    min: int
    initial: int
    max: int


def per_replica(endpoint: EndpointContext, served: ServedContext) -> PerReplica:
    low, high, initial = per_replica_range(endpoint.spec, served.runtime.name, served.resources)
    return PerReplica(min=low, initial=initial, max=high)


def replica_cap(endpoint: EndpointContext, served: ServedContext) -> int | None:
    """The most replicas a served version is given when its per-replica bounds are the runtime's
    defaults: the environment's capacity guards (`capacity.maxReplicas`, and `capacity.maxGpus`
    over the GPUs of one replica). A default `min` (1 for MLflow) is the lowest the scaler may
    learn, not a claim about the model; taken at its word it made 10,000 replicas of a CPU
    model. None when the spec states `perReplica`: the lint reports that ceiling instead."""
    if endpoint.spec.scaling.perReplica is not None:
        return None
    guards = endpoint.environment.capacity
    gpus = served.resources.gpu_count
    return max(1, min(guards.maxReplicas, guards.maxGpus // gpus if gpus else guards.maxReplicas))
