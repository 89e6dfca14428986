"""What environment-wide hooks know of each endpoint: a small, plain, cacheable summary.

Environment-wide rules and renders (an unused workload, the scaler's shard count) judge an
environment against all of its endpoints. Giving them the full EndpointContext of every endpoint
would make an incremental compile resolve all of them again after a one-line edit; a summary is
kept in the compile cache beside each endpoint's output, so only the changed endpoint is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.context import EndpointContext


@dataclass(frozen=True, order=True)
class ServedSummary:
    name: str
    runtime: str
    """The runtime that serves it (mlflow, vllm, triton, custom)."""
    workload: str | None
    """The environment's named workload it runs on, if any."""
    traffic_percent: int
    gpu_count: int


@dataclass(frozen=True, order=True)
class EndpointSummary:
    """One endpoint as deployed to one environment."""

    name: str
    owner: str
    namespace: str
    served: tuple[ServedSummary, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "namespace": self.namespace,
            "served": [
                [s.name, s.runtime, s.workload, s.traffic_percent, s.gpu_count] for s in self.served
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EndpointSummary:
        return cls(
            data["name"],
            data["owner"],
            data["namespace"],
            tuple(ServedSummary(*row) for row in data["served"]),
        )


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
