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
