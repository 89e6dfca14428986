"""The PromQL query templates the APA scaler runs: part of the contract with the compiler, which
renders them into the scaler's `--queries` file and checks capacity against them
(plugins/autoscaling). Plain data and stdlib only: the compiler imports this module without the
scaler.

Every query template is a grouped PromQL expression returning one series per served version,
labelled `namespace` and `service` (the Service/Deployment name, `<endpoint>-<served>`). The
scaler matches a ScaledObject by its metadata selectors `namespace` and `service` (default: the
ScaledObject's namespace and name). Templates are literal PromQL: one query per signal per tick,
whatever the number of endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping

# Deployment pods are `<deployment>-<pod-template-hash>-<5 chars>`: recover the Service name.
_POD = '"service", "$1", "pod", "^(.+)-[a-z0-9]{1,10}-[a-z0-9]{5}$"'
_ISTIO = (
    'label_replace(label_replace({m}, "namespace", "$1", "destination_service_namespace", '
    '"(.+)"), "service", "$1", "destination_service_name", "(.+)")'
)
# dcgm-exporter labels a GPU with the pod using it as `pod`/`namespace`; scraped through a
# ServiceMonitor/PodMonitor (honorLabels false) those clash with the exporter pod's own target
# labels and arrive as `exported_pod`/`exported_namespace`: take those when present.
_EXPORTED = (
    'label_replace(label_replace({m}, "pod", "$1", "exported_pod", "(.+)"), "namespace", "$1", '
    '"exported_namespace", "(.+)")'
)


def _istio(expr: str) -> str:
    return "sum by (namespace, service) (" + _ISTIO.format(m=expr) + ")"


# Every Istio series below is the gateway's (`reporter="source"`: what a gateway or a client
# sidecar reports): it exists with no sidecar on the model pods, and its duration covers the
# whole upstream time. Destination-side series need sidecar injection on every model pod.
DEFAULT_QUERIES: dict[str, str] = {
    # In-flight requests by Little's law: (request-milliseconds per second) / 1000. A 30 s range
    # (scrapes every <= 10 s): a 1 m range shows a step as a minute-long ramp, and the HPA then
    # needs 64 s instead of 49 s to follow 10 -> 10,000 rps (knobless simulate, 10 s pods).
    "concurrency": _istio('rate(istio_request_duration_milliseconds_sum{reporter="source"}[30s])')
    + " / 1000",
    # Requests per second as the gateway reports them: present while the destination has no pod
    # at all (answered 503), so traffic to a scaled-to-zero version activates it.
    "requests": _istio('rate(istio_requests_total{reporter="source"}[30s])'),
    "latency": _istio('rate(istio_request_duration_milliseconds_sum{reporter="source"}[30s])')
    + " / "
    + _istio('rate(istio_request_duration_milliseconds_count{reporter="source"}[30s])'),
    "replicas": 'sum by (namespace, service) (label_replace(kube_deployment_status_replicas_ready, "service", "$1", "deployment", "(.+)"))',
    "cpu": f'sum by (namespace, service) (label_replace(rate(container_cpu_usage_seconds_total{{container="model"}}[30s]), {_POD})) / sum by (namespace, service) (label_replace(kube_pod_container_resource_requests{{resource="cpu", container="model"}}, {_POD}))',
    "memory": f'max by (namespace, service) (label_replace(container_memory_working_set_bytes{{container="model"}} / on (namespace, pod, container) kube_pod_container_resource_limits{{resource="memory", container="model"}}, {_POD}))',
    "gpu": "avg by (namespace, service) (label_replace("
    + _EXPORTED.format(m="DCGM_FI_DEV_GPU_UTIL")
    + f", {_POD})) / 100",
    "queue": f"avg by (namespace, service) (label_replace(vllm:num_requests_waiting, {_POD})) or avg by (namespace, service) (label_replace(nv_inference_pending_request_count, {_POD}))",
}
"""Defaults: an Istio gateway, cAdvisor + kube-state-metrics, DCGM, vLLM and Triton."""

# Envoy Gateway's proxies name cluster stats by route rule; with the EnvoyProxy's
# `telemetry.metrics.clusterStatName: "%BACKEND_REFS%"` a rule with one backend is named
# `<namespace>/<service>`, which maps onto the scaler's labels. A rule splitting traffic over
# several backends is one cluster named `ns/a|ns/b`: it matches no version (see README).
_ENVOY = (
    'label_replace(label_replace({m}, "namespace", "$1", "envoy_cluster_name", '
    '"^([a-z0-9-]+)/[a-z0-9-]+$"), "service", "$1", "envoy_cluster_name", '
    '"^[a-z0-9-]+/([a-z0-9-]+)$")'
)


def _envoy(expr: str) -> str:
    return "sum by (namespace, service) (" + _ENVOY.format(m=expr) + ")"


GATEWAY_QUERIES: dict[str, dict[str, str]] = {
    "istio": {},
    "envoy-gateway": {
        "concurrency": _envoy("rate(envoy_cluster_upstream_rq_time_sum[30s])") + " / 1000",
        # A backend without a ready endpoint is answered 503 without an upstream request:
        # counted as `upstream_cx_none_healthy`, so traffic still wakes a version at zero.
        # Both counters, added where both exist (`or`: either alone where one is missing).
        "requests": "({a} + {b}) or {a} or {b}".format(
            a=_envoy("rate(envoy_cluster_upstream_rq_total[30s])"),
            b=_envoy("rate(envoy_cluster_upstream_cx_none_healthy[30s])"),
        ),
        "latency": _envoy("rate(envoy_cluster_upstream_rq_time_sum[30s])")
        + " / "
        + _envoy("rate(envoy_cluster_upstream_rq_time_count[30s])"),
    },
}
"""Gateway-side templates by gateway, laid over DEFAULT_QUERIES (the environment's
`prometheus.gateway`); the environment's `prometheus.queries` override both."""


def gateway_queries(gateway: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """The templates that differ from DEFAULT_QUERIES for `gateway` with `overrides` on top:
    what the environment renders into the scaler's `--queries` file."""
    return {**GATEWAY_QUERIES[gateway], **overrides}


HORIZONTAL_SIGNAL = "concurrency"
HORIZONTAL_SIGNALS = ("concurrency", "requests")
"""Queried every second (two queries per tick, whatever the number of endpoints)."""
VERTICAL_SIGNALS = ("concurrency", "replicas", "cpu", "memory", "gpu", "latency", "queue")
