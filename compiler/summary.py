"""What environment-wide hooks know of each endpoint: a small, plain, cacheable summary.

Environment-wide rules and renders (an unused workload, the scaler's shard count) judge an
environment against all of its endpoints. Giving them the full EndpointContext of every endpoint
would make an incremental compile resolve all of them again after a one-line edit; a summary is
kept in the compile cache beside each endpoint's output, so only the changed endpoint is resolved.
Named tuples: the cache builds tens of thousands of them per compile.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from compiler.context import EndpointContext


class ServedSummary(NamedTuple):
    name: str
    runtime: str
    """The runtime that serves it (mlflow, vllm, triton, custom)."""
    workload: str | None
    """The environment's named workload it runs on, if any."""
    traffic_percent: int
    gpu_count: int


class EndpointSummary(NamedTuple):
    """One endpoint as deployed to one environment."""

    name: str
    owner: str
    namespace: str
    served: tuple[ServedSummary, ...]

    def to_json(self) -> list[Any]:
        return [self.name, self.owner, self.namespace, [list(s) for s in self.served]]

    @classmethod
    def from_json(cls, row: list[Any]) -> EndpointSummary:
        name, owner, namespace, served = row
        return cls(name, owner, namespace, tuple(ServedSummary(*s) for s in served))


def summarize(endpoint: EndpointContext) -> EndpointSummary:
    return EndpointSummary(
        endpoint.spec.name,
        endpoint.spec.owner,
        endpoint.namespace,
        tuple(
            ServedSummary(
                served.spec.name,
                served.runtime.name,
                served.resources.workload,
                served.traffic_percent,
                served.resources.gpu_count,
            )
            for served in endpoint.served
        ),
    )
