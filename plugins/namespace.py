"""The endpoint's Namespace, enforcing the Pod Security Standard "restricted".

`enforce` makes the API server reject any pod that is not restricted (a hand-edited one
included); `audit` and `warn` report the same. The version is pinned to the Kubernetes version
the environment validates against, so a cluster upgrade does not silently change the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compiler import hookimpl
from compiler.diagnostics import Diagnostic
from compiler.manifest import Manifest
from plugins.workload.labels import endpoint_labels, namespace_of

if TYPE_CHECKING:
    from compiler.context import EndpointContext

PSS_LEVEL = "restricted"
MAX_NAMESPACE = 63


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
def knobless_validate_endpoint(endpoint: EndpointContext, source: str) -> list[Diagnostic]:
    name = namespace_of(endpoint)
    if len(name) <= MAX_NAMESPACE:
        return []
    prefix = endpoint.environment.namespacePrefix
    return [
        Diagnostic(
            source,
            0,
            0,
            f"name: the namespace `{name}` (prefix `{prefix}` of environment "
            f"`{endpoint.environment.name}` + endpoint name) is {len(name)} characters long; "
            f"at most {MAX_NAMESPACE} are allowed, so shorten the endpoint name",
        )
    ]


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    return [Manifest(endpoint.spec.name, namespace(endpoint))]
