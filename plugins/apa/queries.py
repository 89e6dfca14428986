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

# Envoy Gateway's proxies report per Envoy cluster (`envoy_cluster_name`); which cluster a
# version's traffic goes through depends on the EnvoyProxy (docs/reference/scaler.md):
# - `mergeBackends: {}` (v1.9+): one cluster per Service, `service/<ns>/<svc>/<port>/<proto>`,
#   shared by every rule naming it, the weighted split included: exact per version;
# - otherwise one cluster per route rule, named by `telemetry.metrics.clusterStatName:
#   "%BACKEND_REFS%"` as its backends `<ns>/<svc>|<ns>/<svc>...`, a 0%-weight backend leaving
#   its entry empty (`ns/a|`): exact where one entry is set, while a split's cluster mixes its
#   versions' traffic.
# Names per envoyproxy/gateway d32f282: internal/gatewayapi/helpers.go irBackendClusterName,
# route.go buildStatName (tests/apa/test_envoy_gateway_names.py pins them).
ENVOY_EXACT = r"[|]*(?:service/)?([a-z0-9-]+)/([a-z0-9-]+)(?:/[0-9]+(?:/[a-z0-9]+)?)?[|]*"
"""A cluster carrying one version's traffic alone: merged, or a rule with one weighted backend."""
ENVOY_SPLIT = ".*/.*[|].*/.*"
"""A rule's cluster with two weighted backends or more (`%BACKEND_REFS%`, merging off)."""
ENVOY_MAX_BACKENDS = 16
"""Gateway API's limit on backendRefs per rule (and knobless' on served versions)."""


def _envoy_member(position: int) -> str:
    """The Service at `position` (counting empty entries) of a `%BACKEND_REFS%` name."""
    skip = "" if position == 0 else f"(?:[^|]*[|]){{{position}}}"
    rest = "[|].*" if position == 0 else "(?:[|].*)?"
    return f"{skip}[a-z0-9-]+/([a-z0-9-]+){rest}"


def _envoy_exact(metric: str) -> str:
    expr = f'rate({metric}{{envoy_cluster_name=~"{ENVOY_EXACT}"}}[30s])'
    return (
        f'label_replace(label_replace({expr}, "namespace", "$1", "envoy_cluster_name", '
        f'"{ENVOY_EXACT}"), "service", "$2", "envoy_cluster_name", "{ENVOY_EXACT}")'
    )


def _envoy_split(metric: str, rate: bool = True) -> str:
    """One series per version named in a split rule's cluster, each with the whole rule's
    value: `<ns>/a|<ns>/b` counts for a and for b (a route's backends share its namespace)."""
    terms = []
    for position in range(ENVOY_MAX_BACKENDS):
        member = _envoy_member(position)
        matchers = f'envoy_cluster_name=~"{ENVOY_SPLIT}", envoy_cluster_name=~"{member}"'
        series = f"{metric}{{{matchers}}}"
        expr = f"rate({series}[30s])" if rate else series
        terms.append(f'label_replace({expr}, "service", "$1", "envoy_cluster_name", "{member}")')
    return (
        f"label_replace({' or '.join(terms)}, "
        '"namespace", "$1", "envoy_cluster_name", "([a-z0-9-]+)/.*")'
    )


def _by_version(expr: str) -> str:
    return f"sum by (namespace, service) ({expr})"


# A version named in a split rule's cluster has no series of its own (its header rule's cluster
# holds only the pinned requests): its concurrency and latency are left out, so the scaler
# reports it degraded (requests but no concurrency) instead of scaling it on a part of its load.
_IN_A_SPLIT = " unless on (namespace, service) " + _envoy_split(
    "envoy_cluster_upstream_rq_total", rate=False
)
_ENVOY_TIME = _by_version(_envoy_exact("envoy_cluster_upstream_rq_time_sum"))


GATEWAY_QUERIES: dict[str, dict[str, str]] = {
    "istio": {},
    "envoy-gateway": {
        "concurrency": f"{_ENVOY_TIME} / 1000{_IN_A_SPLIT}",
        # Every request a cluster takes; a split rule's count for each of its versions (the
        # whole rule's rate: more than the version's share, never less). A version with no
        # ready endpoint has no cluster at all: Envoy Gateway answers its share directly (500
        # up to v1.5, 503 since v1.6), so nothing counts requests to a version at zero.
        "requests": _by_version(
            _envoy_exact("envoy_cluster_upstream_rq_total")
            + " or "
            + _envoy_split("envoy_cluster_upstream_rq_total")
        ),
        "latency": f"{_ENVOY_TIME} / "
        + _by_version(_envoy_exact("envoy_cluster_upstream_rq_time_count"))
        + _IN_A_SPLIT,
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
