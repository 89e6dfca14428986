"""The endpoint's Namespace, enforcing the Pod Security Standard "restricted".

`enforce` makes the API server reject any pod that is not restricted (a hand-edited one
included); `audit` and `warn` report the same. The version is pinned to the Kubernetes version
the environment validates against, so a cluster upgrade does not silently change the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compiler import hookimpl
from compiler.manifest import Manifest
from plugins.workload.labels import endpoint_labels, namespace_of

if TYPE_CHECKING:
    from compiler.context import EndpointContext

PSS_LEVEL = "restricted"


def namespace(endpoint: EndpointContext) -> dict[str, Any]:
    version = f"v{endpoint.environment.kubernetesVersion}"
    labels = endpoint_labels(endpoint.spec.name)
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = PSS_LEVEL
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    metadata: dict[str, Any] = {"name": namespace_of(endpoint), "labels": labels}
    # Owner and description live here, never in pod templates: editing them restarts nothing.
    annotations = {"knobless.dev/owner": endpoint.spec.owner}
    if endpoint.spec.description:
        annotations["knobless.dev/description"] = endpoint.spec.description
    metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    return [Manifest(endpoint.spec.name, namespace(endpoint))]
