"""The Service of each served version: what the HTTPRoute's backends point at.

Rendered for every served version, whatever runtime serves it (a plugin's runtime included), so
the route never names a backend that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compiler import hookimpl
from compiler.diagnostics import Diagnostic
from compiler.manifest import Manifest
from plugins.runtimes.base import HTTP_PORT_NAME
from plugins.workload.labels import namespace_of, selector, served_labels, workload_name

if TYPE_CHECKING:
    from compiler.context import EndpointContext

MAX_NAME = 63
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


def name_problems(endpoint: EndpointContext, source: str) -> list[Diagnostic]:
    """`<endpoint>-<served>` names the Service (a DNS-1035 label: at most 63 characters, starting
    with a letter) and is a label value (at most 63 characters)."""
    problems = []
    for index, served in enumerate(endpoint.served):
        name = workload_name(endpoint.spec.name, served.spec.name)
        if len(name) > MAX_NAME:
            problems.append(
                Diagnostic(
                    source,
                    0,
                    0,
                    f"served[{index}].name: `{name}` (endpoint name, '-', served name) names this "
                    f"version's Service and is {len(name)} characters long; at most {MAX_NAME} "
                    "are allowed, so shorten the served or the endpoint name",
                )
            )
        elif not name[0].isalpha():
            problems.append(
                Diagnostic(
                    source,
                    0,
                    0,
                    f"name: `{name}` names a Service, which must start with a letter; rename "
                    "the endpoint to start with a letter",
                )
            )
    return problems


@hookimpl
def knobless_validate_endpoint(endpoint: EndpointContext, source: str) -> list[Diagnostic]:
    return name_problems(endpoint, source)


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    return [
        Manifest(
            endpoint.spec.name,
            service(endpoint.spec.name, namespace_of(endpoint), served.spec.name),
        )
        for served in endpoint.served
    ]
