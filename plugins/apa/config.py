"""Scaler configuration: PromQL query templates, loop timings and vertical thresholds.

Every query template is a grouped PromQL expression returning one series per served version,
labelled `namespace` and `service` (the Service/Deployment name, `<endpoint>-<served>`). The
scaler matches a ScaledObject by its metadata selectors `namespace` and `service` (default: the
ScaledObject's namespace and name). Templates are literal PromQL: one query per signal per tick,
whatever the number of endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from compiler.errors import KnoblessError
from plugins.apa.decision import VerticalConfig

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


class ConfigError(KnoblessError):
    """The scaler's --config/--queries file is unreadable or has a bad key."""


@dataclass(frozen=True)
class ScalerConfig:
    queries: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_QUERIES))
    horizontal_interval_s: float = 1.0
    lag_s: float = 2.0  # evaluate at now - lag: scrapes for that instant have landed everywhere
    tick_offset_s: float = 0.05  # tick this long after each whole second, in every process
    query_timeout_s: float = 2.0
    vertical: VerticalConfig = field(default_factory=VerticalConfig)
    catchup_rounds: int = 5  # vertical rounds replayed after a gap; also the epoch of new objects
    evict_after_s: float = 3600.0  # forget ScaledObjects KEDA stopped asking about
    first_answer_wait_s: float = 3.0  # a new ScaledObject's first call waits this for a sample
    retry_s: float = 5.0  # a failed vertical round is retried at most this often
    history_s: float = 20.0  # horizontal instants kept (at least) to fill new windows from


_TOP_KEYS = {
    "queries": "queries",
    "intervalSeconds": "horizontal_interval_s",
    "lagSeconds": "lag_s",
    "tickOffsetSeconds": "tick_offset_s",
    "queryTimeoutSeconds": "query_timeout_s",
    "catchupRounds": "catchup_rounds",
    "evictAfterSeconds": "evict_after_s",
    "firstAnswerWaitSeconds": "first_answer_wait_s",
    "retrySeconds": "retry_s",
    "historySeconds": "history_s",
    "vertical": "vertical",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _vertical(raw: Any, source: str) -> VerticalConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: `vertical` must be a mapping")
    known = {_camel(f.name): f.name for f in fields(VerticalConfig)}
    known["intervalSeconds"] = "interval_s"
    known.pop(_camel("knee_memory_s"))
    known["kneeMemorySeconds"] = "knee_memory_s"
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{source}: unknown key `vertical.{key}` (known: {sorted(known)})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: `vertical.{key}` must be a number")
        values[known[key]] = value
    try:
        return VerticalConfig(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: `vertical`: {error}") from None


def _queries(raw: Any, source: str, key: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: `{key}` must be a mapping of signal name to PromQL")
    result = dict(DEFAULT_QUERIES)
    for name, expr in raw.items():
        if name not in DEFAULT_QUERIES:
            raise ConfigError(
                f"{source}: unknown signal `{key}.{name}` (known: {sorted(DEFAULT_QUERIES)})"
            )
        if not isinstance(expr, str) or not expr.strip():
            raise ConfigError(f"{source}: `{key}.{name}` must be a non-empty PromQL string")
        result[name] = expr
    return result


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ConfigError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}"
        ) from None


def load_config(config_path: Path | None = None, queries_path: Path | None = None) -> ScalerConfig:
    """Defaults, then `--config` (YAML, camelCase keys), then `--queries` (signal -> PromQL)."""
    values: dict[str, Any] = {}
    if config_path is not None:
        raw = _read(config_path) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{config_path}: must be a mapping")
        for key, value in raw.items():
            if key not in _TOP_KEYS:
                raise ConfigError(
                    f"{config_path}: unknown key `{key}` (known: {sorted(_TOP_KEYS)})"
                )
            if key == "queries":
                values["queries"] = _queries(value, str(config_path), key)
            elif key == "vertical":
                values["vertical"] = _vertical(value, str(config_path))
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{config_path}: `{key}` must be a number >= 0")
            else:
                values[_TOP_KEYS[key]] = value
    if queries_path is not None:
        # The environment's prometheus.queries (rendered into a ConfigMap): overrides by signal.
        overrides = _queries(_read(queries_path) or {}, str(queries_path), "queries")
        changed = {k: v for k, v in overrides.items() if v != DEFAULT_QUERIES[k]}
        values["queries"] = {**values.get("queries", DEFAULT_QUERIES), **changed}
    config = ScalerConfig(**values)
    if config.horizontal_interval_s <= 0 or config.vertical.interval_s <= 0:
        raise ConfigError("intervalSeconds and vertical.intervalSeconds must be > 0")
    return config
