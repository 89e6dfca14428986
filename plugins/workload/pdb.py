"""The PodDisruptionBudget of each served version: `maxUnavailable: 1`.

Why not `minAvailable`: an endpoint scaled to zero, or to one replica, would then block every
node drain (and cluster-autoscaler scale-down) until someone deletes the budget; with
`maxUnavailable: 1` a drain always progresses, one pod at a time, while the Deployment starts
a replacement. With zero pods the budget is simply satisfied. Unhealthy pods may always be
evicted (`AlwaysAllow`), so a crash-looping pod never pins a node.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compiler import hookimpl
from compiler.manifest import Manifest
from plugins.workload.labels import namespace_of, selector, served_labels, workload_name

if TYPE_CHECKING:
    from compiler.context import EndpointContext


def pod_disruption_budget(endpoint: str, namespace: str, served: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": workload_name(endpoint, served),
            "namespace": namespace,
            "labels": served_labels(endpoint, served),
        },
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(endpoint, served)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    return [
        Manifest(
            endpoint.spec.name,
            pod_disruption_budget(endpoint.spec.name, namespace_of(endpoint), served.spec.name),
        )
        for served in endpoint.served
    ]
