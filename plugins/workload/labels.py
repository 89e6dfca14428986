"""The labels every knobless object and pod carries; other plugins select on them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compiler.context import EndpointContext

MANAGED_BY = "knobless"


def workload_name(endpoint: str, served: str) -> str:
    """Name of the Deployment, Service and PodDisruptionBudget of one served version."""
    return f"{endpoint}-{served}"


def endpoint_labels(endpoint: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": endpoint,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "knobless.dev/endpoint": endpoint,
    }


def served_labels(endpoint: str, served: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": endpoint,
        "app.kubernetes.io/instance": workload_name(endpoint, served),
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "knobless.dev/endpoint": endpoint,
        "knobless.dev/served": served,
    }


def selector(endpoint: str, served: str) -> dict[str, str]:
    """Pod selector of one served version (immutable on a Deployment: keep it minimal)."""
    return {"knobless.dev/endpoint": endpoint, "knobless.dev/served": served}


def namespace_of(endpoint: EndpointContext) -> str:
    """The endpoint's namespace in its environment (`<namespacePrefix><endpoint>`)."""
    return endpoint.environment.namespace_for(endpoint.spec.name)
