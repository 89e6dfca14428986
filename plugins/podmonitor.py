"""PodMonitors for a Prometheus run by the Prometheus Operator (`observability.podMonitors`).

The Operator ignores `prometheus.io/*` annotations: it scrapes what ServiceMonitors and
PodMonitors select. One PodMonitor per served version selects that version's pods on the port
its scrape annotation names (the runtime's own metrics, or the collector sidecar's exporter), and
one in the platform folder selects the APA scaler's pods on their `metrics` port. The Prometheus
must select them: its `podMonitorSelector` (kube-prometheus-stack: the label `release: <name>`,
set it in `observability.podMonitorLabels`) and `podMonitorNamespaceSelector`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compiler import hookimpl
from compiler.manifest import PLATFORM, Manifest
from plugins.autoscaling.scaler_platform import LABELS, SELECTOR
from plugins.autoscaling.sharding import SCALER_NAME
from plugins.observability import METRICS_PORT
from plugins.runtimes import runtime_module
from plugins.runtimes.base import HTTP_PORT_NAME, RuntimePod
from plugins.workload.labels import namespace_of, selector, served_labels, workload_name

if TYPE_CHECKING:
    from compiler.context import EndpointContext
    from compiler.models.environment import Environment

API_VERSION = "monitoring.coreos.com/v1"
INTERVAL = "10s"
"""The scaler's rate ranges ([30s]) assume scrapes at most 10 s apart (docs/reference/scaler.md: Query templates)."""
SIDECAR_METRICS_PORT_NAME = "otel-metrics"


def metrics_port_name(runtime: RuntimePod) -> str:
    """Name of the container port the version's metrics are scraped on."""
    if runtime.metrics_port is None or runtime.metrics_port == METRICS_PORT:
        return SIDECAR_METRICS_PORT_NAME
    if runtime.metrics_port == runtime.port:
        return HTTP_PORT_NAME
    for port in runtime.extra_ports:
        if port.get("containerPort") == runtime.metrics_port:
            return str(port["name"])
    raise ValueError(f"metrics port {runtime.metrics_port} is not a named container port")


def _monitor(
    environment: Environment,
    name: str,
    namespace: str,
    labels: dict[str, str],
    match: dict[str, str],
    port: str,
    path: str,
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "PodMonitor",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                **labels,
                **dict(sorted(environment.observability.podMonitorLabels.items())),
            },
        },
        "spec": {
            "selector": {"matchLabels": dict(match)},
            "podMetricsEndpoints": [{"port": port, "path": path, "interval": INTERVAL}],
        },
    }


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    environment = endpoint.environment
    if not environment.observability.podMonitors:
        return []
    manifests = []
    for served in endpoint.served:
        module = runtime_module(served.runtime.name)
        if module is None:
            continue  # a plugin's own runtime renders its own Deployment (and monitor)
        runtime: RuntimePod = module.build(served, endpoint)
        body = _monitor(
            environment,
            workload_name(endpoint.spec.name, served.spec.name),
            namespace_of(endpoint),
            served_labels(endpoint.spec.name, served.spec.name),
            selector(endpoint.spec.name, served.spec.name),
            metrics_port_name(runtime),
            runtime.metrics_path if runtime.metrics_port is not None else "/metrics",
        )
        manifests.append(Manifest(endpoint.spec.name, body))
    return manifests


@hookimpl
def knobless_render_environment(environment: Environment) -> Iterable[Manifest]:
    env = environment
    if not env.observability.podMonitors:
        return []
    body = _monitor(
        env, SCALER_NAME, env.scaler.namespace, dict(LABELS), SELECTOR, "metrics", "/metrics"
    )
    return [Manifest(PLATFORM, body)]
