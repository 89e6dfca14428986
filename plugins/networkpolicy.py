"""The endpoint's NetworkPolicy: deny by default, then allow exactly what serving needs.

Ingress: the gateway's data plane (`gateway.dataPlaneNamespaces`, default the Gateway's
namespace) to the `http` port, and the monitoring namespace (scrapes). Egress: DNS (`dns`: the
cluster DNS namespace and host-network resolvers by CIDR); the MLflow tracking server when a
version fetches a model; the OTLP collector the sidecar exports to; the gateway when the endpoint
calls another one (`env[].endpoint`: endpoints reach each other only through the gateway); and
every rule of the environment's `egress`. In-cluster URLs (`<service>.<namespace>.svc[...]`)
become namespace rules on their port; an external tracking server or store needs an `egress` rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from compiler import hookimpl
from compiler.diagnostics import Diagnostic
from compiler.manifest import Manifest
from plugins.runtimes.base import HTTP_PORT_NAME
from plugins.workload.labels import endpoint_labels, namespace_of

if TYPE_CHECKING:
    from compiler.context import EndpointContext
    from compiler.models.environment import EgressRule, Environment

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


def gateway_namespaces(environment: Environment) -> tuple[str, ...]:
    """Namespaces of the gateway's proxy pods."""
    gateway = environment.gateway
    return gateway.dataPlaneNamespaces or (gateway.namespace,)


def gateway_pod_port(environment: Environment) -> int | None:
    """Port of the gateway's proxy pods behind `internalUrl` (None without one)."""
    gateway = environment.gateway
    if gateway.internalUrl is None:
        return None
    url = gateway.internalUrl
    return gateway.internalPort or url.port or (443 if url.scheme == "https" else 80)


def calls_endpoints(endpoint: EndpointContext) -> bool:
    return any(v.endpoint is not None for s in endpoint.served for v in s.spec.env)


def egress_namespaces(endpoint: EndpointContext) -> set[str]:
    """Every namespace the NetworkPolicy lets the endpoint's pods reach."""
    policy = network_policy(endpoint)
    return {
        peer["namespaceSelector"]["matchLabels"][NAMESPACE_LABEL]
        for rule in policy["spec"]["egress"]
        for peer in rule["to"]
        if "namespaceSelector" in peer
    }


def _dns(environment: Environment) -> list[dict[str, Any]]:
    dns = environment.dns
    peers = [_in_namespace(dns.namespace)] if dns.namespace else []
    peers += [{"ipBlock": {"cidr": cidr}} for cidr in dns.cidrs]
    if not peers:
        return []
    ports = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    return [{"to": peers, "ports": ports}]


def network_policy(endpoint: EndpointContext) -> dict[str, Any]:
    environment = endpoint.environment
    gateway = [_in_namespace(namespace) for namespace in gateway_namespaces(environment)]
    ingress = [
        {"from": gateway, "ports": _tcp([HTTP_PORT_NAME])},
        {"from": [_in_namespace(environment.observability.monitoringNamespace)]},
    ]
    egress: list[dict[str, Any]] = _dns(environment)
    port = gateway_pod_port(environment)
    if port is not None and calls_endpoints(endpoint):
        egress.append(
            {
                "to": [_in_namespace(n) for n in gateway_namespaces(environment)],
                "ports": _tcp([port]),
            }
        )
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


@hookimpl
def knobless_validate_endpoint(endpoint: EndpointContext, source: str) -> Iterable[Diagnostic]:
    if endpoint.environment.gateway.internalUrl is not None:
        return []
    return [
        Diagnostic(
            source,
            0,
            0,
            f"served[{i}].env[{j}].endpoint: `{variable.endpoint}` is called through the gateway, "
            f"and environment `{endpoint.environment.name}` does not say where it is: set "
            "`gateway.internalUrl` (the in-cluster URL of the gateway's Service)",
        )
        for i, served in enumerate(endpoint.served)
        for j, variable in enumerate(served.spec.env)
        if variable.endpoint is not None
    ]
