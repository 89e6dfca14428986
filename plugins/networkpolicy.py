"""The endpoint's NetworkPolicy: deny by default, then allow exactly what serving needs.

Ingress: the gateway's namespace (to the `http` port) and the monitoring namespace (scrapes).
Egress: DNS in kube-system; the MLflow tracking server when a version fetches a model; the OTLP
collector the sidecar exports to; and every rule of the environment's `egress` (model store
buckets, other services). In-cluster URLs (`<service>.<namespace>.svc[...]`) become namespace
rules on their port; an external tracking server or store needs an `egress` rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from compiler import hookimpl
from compiler.manifest import Manifest
from plugins.runtimes.base import HTTP_PORT_NAME
from plugins.workload.labels import endpoint_labels, namespace_of

if TYPE_CHECKING:
    from compiler.context import EndpointContext
    from compiler.models.environment import EgressRule

NAMESPACE_LABEL = "kubernetes.io/metadata.name"
_IN_CLUSTER = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.|$)"
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "grpc": 80}


def _in_namespace(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}}}


def in_cluster_target(address: str) -> tuple[str, int] | None:
    """(namespace, port) of an in-cluster Service URL or host:port; None when external."""
    parsed = urlsplit(address if "://" in address else f"//{address}")
    host = parsed.hostname or ""
    match = _IN_CLUSTER.match(host)
    if match is None:
        return None
    try:
        port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 80)
    except ValueError:
        return None
    return match.group("ns"), port


def _tcp(ports: Iterable[int | str]) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _environment_rule(rule: EgressRule) -> dict[str, Any]:
    if rule.cidr is not None:
        target: dict[str, Any] = {"ipBlock": {"cidr": rule.cidr}}
    else:
        assert rule.namespace is not None
        target = _in_namespace(rule.namespace)
    egress: dict[str, Any] = {"to": [target]}
    if rule.ports:
        egress["ports"] = _tcp(rule.ports)
    return egress


def network_policy(endpoint: EndpointContext) -> dict[str, Any]:
    environment = endpoint.environment
    ingress = [
        {"from": [_in_namespace(environment.gateway.namespace)], "ports": _tcp([HTTP_PORT_NAME])},
        {"from": [_in_namespace(environment.observability.monitoringNamespace)]},
    ]
    egress: list[dict[str, Any]] = [
        {
            "to": [_in_namespace("kube-system")],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]
    if any(served.spec.model is not None for served in endpoint.served):
        tracking = in_cluster_target(environment.mlflow.trackingUri)
        if tracking is not None:
            egress.append({"to": [_in_namespace(tracking[0])], "ports": _tcp([tracking[1]])})
    collector = in_cluster_target(environment.observability.otlpEndpoint)
    if collector is not None:
        egress.append({"to": [_in_namespace(collector[0])], "ports": _tcp([collector[1]])})
    egress.extend(_environment_rule(rule) for rule in environment.egress)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": endpoint.spec.name,
            "namespace": namespace_of(endpoint),
            "labels": endpoint_labels(endpoint.spec.name),
        },
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    return [Manifest(endpoint.spec.name, network_policy(endpoint))]
