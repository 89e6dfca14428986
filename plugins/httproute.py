"""One Gateway API HTTPRoute per endpoint, splitting traffic over its served versions.

Requests to `/<endpoint>/...` on the environment's gateway (and hostnames, if it names any) are
rewritten to `/...` and split by weight: weight = the spec's traffic percent. A version at 0%
keeps its backend entry with weight 0 (no traffic, ready to take some); every backend is a
Service this endpoint renders, so the route never names one that does not exist. Each version
is also reachable directly with the header `x-knobless-served: <name>` when more than one is
served, for testing a version before it gets traffic. Every rule carries a request timeout sized to
the runtime (`request_timeout`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compiler import hookimpl
from compiler.manifest import Manifest
from plugins.runtimes import runtime_module
from plugins.runtimes.base import RuntimePod
from plugins.workload.labels import endpoint_labels, namespace_of, workload_name
from plugins.workload.service import SERVICE_PORT

if TYPE_CHECKING:
    from compiler.context import EndpointContext, ServedContext

API_VERSION = "gateway.networking.k8s.io/v1"
SERVED_HEADER = "x-knobless-served"
MAX_RULES = 16
PLUGIN_RUNTIME_TIMEOUT_S = 300
"""Request timeout for a runtime a third-party plugin renders (its pod timings are unknown)."""
"""The HTTPRoute CRD allows 16 rules: the split plus one pinning rule per version, if they fit."""


def _match(endpoint: str, header: str | None = None) -> dict[str, Any]:
    match: dict[str, Any] = {"path": {"type": "PathPrefix", "value": f"/{endpoint}"}}
    if header is not None:
        match["headers"] = [{"type": "Exact", "name": SERVED_HEADER, "value": header}]
    return match


def _backend(endpoint: str, served: str, weight: int) -> dict[str, Any]:
    return {
        "group": "",
        "kind": "Service",
        "name": workload_name(endpoint, served),
        "port": SERVICE_PORT,
        "weight": weight,
    }


def _rule(
    matches: list[dict[str, Any]], backends: list[dict[str, Any]], timeout_s: int
) -> dict[str, Any]:
    strip_prefix = {
        "type": "URLRewrite",
        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
    }
    return {
        "matches": matches,
        "filters": [strip_prefix],
        "backendRefs": backends,
        "timeouts": {"request": f"{timeout_s}s"},
    }


def request_timeout(endpoint: EndpointContext, served: ServedContext) -> int:
    """Seconds a request may take at the gateway: as long as the runtime lets an in-flight
    request finish when its pod stops (grace period minus the preStop drain) — a longer request
    would be cut at every rollout anyway. Without it gateways pick their own (Envoy Gateway:
    15 s, which cuts vLLM's streamed generations)."""
    module = runtime_module(served.runtime.name)
    if module is None:
        return PLUGIN_RUNTIME_TIMEOUT_S
    runtime: RuntimePod = module.build(served, endpoint)
    return max(1, runtime.termination_grace_seconds - runtime.drain_seconds)


def http_route(endpoint: EndpointContext) -> dict[str, Any]:
    gateway = endpoint.environment.gateway
    name = endpoint.spec.name
    parent: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": gateway.name,
        "namespace": gateway.namespace,
    }
    if gateway.sectionName:
        parent["sectionName"] = gateway.sectionName
    spec: dict[str, Any] = {"parentRefs": [parent]}
    if gateway.hostnames:
        spec["hostnames"] = list(gateway.hostnames)
    split = [_backend(name, s.spec.name, s.traffic_percent) for s in endpoint.served]
    timeouts = [request_timeout(endpoint, s) for s in endpoint.served]
    rules = [_rule([_match(name)], split, max(timeouts))]
    if 1 < len(endpoint.served) < MAX_RULES:
        rules.extend(
            _rule([_match(name, s.spec.name)], [_backend(name, s.spec.name, 1)], timeout)
            for s, timeout in zip(endpoint.served, timeouts, strict=True)
        )
    spec["rules"] = rules
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {
            "name": name,
            "namespace": namespace_of(endpoint),
            "labels": endpoint_labels(name),
        },
        "spec": spec,
    }


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    return [Manifest(endpoint.spec.name, http_route(endpoint))]
