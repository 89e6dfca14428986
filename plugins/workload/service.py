"""The Service of each served version: what the HTTPRoute's backends point at.

Rendered for every served version, whatever runtime serves it (a plugin's runtime included), so
the route never names a backend that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compiler import hookimpl
from compiler.manifest import Manifest
from plugins.runtimes.base import HTTP_PORT_NAME
from plugins.workload.labels import namespace_of, selector, served_labels, workload_name

if TYPE_CHECKING:
    from compiler.context import EndpointContext

SERVICE_PORT = 80
"""One port for every runtime; it forwards to the container port named `http`."""


def service(endpoint: str, namespace: str, served: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": workload_name(endpoint, served),
            "namespace": namespace,
            "labels": served_labels(endpoint, served),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector(endpoint, served),
            "ports": [
                {
                    "name": HTTP_PORT_NAME,
                    "port": SERVICE_PORT,
                    "targetPort": HTTP_PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    return [
        Manifest(
            endpoint.spec.name,
            service(endpoint.spec.name, namespace_of(endpoint), served.spec.name),
        )
        for served in endpoint.served
    ]
