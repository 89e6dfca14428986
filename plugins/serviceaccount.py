"""The endpoint's ServiceAccount. Model pods never talk to the Kubernetes API, so no token is
mounted (pods also set automountServiceAccountToken: false)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from compiler import hookimpl
from compiler.manifest import Manifest
from plugins.workload.labels import endpoint_labels, namespace_of

if TYPE_CHECKING:
    from compiler.context import EndpointContext


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    body = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": endpoint.spec.name,
            "namespace": namespace_of(endpoint),
            "labels": endpoint_labels(endpoint.spec.name),
        },
        "automountServiceAccountToken": False,
    }
    return [Manifest(endpoint.spec.name, body)]
