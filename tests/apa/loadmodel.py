"""A test exporter that plays models under load: the series a real cluster's exporters expose.

Each served version has a concurrency the test sets; the gateway's (reporter="source") Istio
request-duration counters grow by Little's law (concurrency x elapsed time) and its request
counter at `gateway_rps` when set (requests to a version with no pod), else at the served rate;
cAdvisor CPU counters grow by utilization x request, and gauges mirror kube-state-metrics and
vLLM. Destination-side series (a sidecar on every model pod, which knobless does not render)
exist only with `sidecars` and pods. Served over HTTP by prometheus-client in a thread;
Prometheus scrapes it every second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric, UnknownMetricFamily
from prometheus_client.registry import Collector

POD_SUFFIX = "5d9c7f8b6"


@dataclass
class Served:
    namespace: str
    service: str
    concurrency: float = 0.0
    latency_ms: float = 100.0
    replicas: int = 2
    cpu: float = 0.5  # utilization of the CPU request per pod
    memory: float = 0.5
    queue: float = 0.0  # waiting requests per pod
    gateway_rps: float | None = None  # requests arriving at the gateway; None: the served rate
    sidecars: bool = False  # Istio sidecars on the model pods (destination-side series)
    gateway_requests: float = 0.0
    duration_ms_sum: float = 0.0
    requests: float = 0.0
    cpu_seconds: float = 0.0
    since: float = 0.0

    def advance(self, now: float) -> None:
        elapsed = now - self.since
        self.duration_ms_sum += self.concurrency * elapsed * 1000.0
        served = self.concurrency / (self.latency_ms / 1000.0)
        self.requests += served * elapsed
        self.gateway_requests += (
            served if self.gateway_rps is None else self.gateway_rps
        ) * elapsed
        self.cpu_seconds += self.cpu * elapsed  # per pod, request = 1 CPU
        self.since = now

    def pods(self) -> list[str]:
        return [f"{self.service}-{POD_SUFFIX}-p{i:04d}" for i in range(self.replicas)]


class LoadModel(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._served: dict[tuple[str, str], Served] = {}
        self._envoy: dict[str, Served] = {}  # Envoy Gateway clusters by `envoy_cluster_name`

    def set(self, namespace: str, service: str, **values: float) -> None:
        """Change a served version's load or health from now on."""
        with self._lock:
            now = time.time()
            served = self._served.get((namespace, service))
            if served is None:
                served = Served(namespace, service, since=now)
                self._served[(namespace, service)] = served
            served.advance(now)
            for name, value in values.items():
                if not hasattr(served, name):
                    raise AttributeError(name)
                setattr(served, name, value)

    def set_envoy_cluster(self, name: str, concurrency: float, latency_ms: float = 100.0) -> None:
        """An Envoy Gateway proxy's cluster named `name` (however the EnvoyProxy names it)
        carrying `concurrency` requests in flight at `latency_ms` from now on."""
        with self._lock:
            now = time.time()
            cluster = self._envoy.setdefault(name, Served("", name, since=now))
            cluster.advance(now)
            cluster.concurrency, cluster.latency_ms = concurrency, latency_ms

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = time.time()
            for served in [*self._served.values(), *self._envoy.values()]:
                served.advance(now)
            snapshot = list(self._served.values())
            clusters = list(self._envoy.values())
        istio = ["reporter", "destination_service_namespace", "destination_service_name"]
        pod = ["namespace", "pod", "container"]
        families = {
            "duration_sum": UnknownMetricFamily(
                "istio_request_duration_milliseconds_sum", "", labels=istio
            ),
            "duration_count": UnknownMetricFamily(
                "istio_request_duration_milliseconds_count", "", labels=istio
            ),
            "gateway": UnknownMetricFamily("istio_requests_total", "", labels=istio),
            # Envoy Gateway's proxy: a version's own cluster stats named `%BACKEND_REFS%`
            # (`<ns>/<svc>`); `set_envoy_cluster` adds clusters named any other way.
            "envoy_time_sum": UnknownMetricFamily(
                "envoy_cluster_upstream_rq_time_sum", "", labels=["envoy_cluster_name"]
            ),
            "envoy_time_count": UnknownMetricFamily(
                "envoy_cluster_upstream_rq_time_count", "", labels=["envoy_cluster_name"]
            ),
            "envoy_total": UnknownMetricFamily(
                "envoy_cluster_upstream_rq_total", "", labels=["envoy_cluster_name"]
            ),
            "ready": UnknownMetricFamily(
                "kube_deployment_status_replicas_ready", "", labels=["namespace", "deployment"]
            ),
            "cpu": UnknownMetricFamily("container_cpu_usage_seconds_total", "", labels=pod),
            "requests": UnknownMetricFamily(
                "kube_pod_container_resource_requests", "", labels=[*pod, "resource"]
            ),
            "limits": UnknownMetricFamily(
                "kube_pod_container_resource_limits", "", labels=[*pod, "resource"]
            ),
            "memory": UnknownMetricFamily("container_memory_working_set_bytes", "", labels=pod),
            "waiting": UnknownMetricFamily(
                "vllm:num_requests_waiting", "", labels=["namespace", "pod"]
            ),
        }
        for s in snapshot:
            # The gateway reports every request it takes (answered 503 at once without a pod).
            key = ["source", s.namespace, s.service]
            families["gateway"].add_metric(key, s.gateway_requests)
            families["duration_sum"].add_metric(key, s.duration_ms_sum)
            families["duration_count"].add_metric(key, s.gateway_requests)
            if s.sidecars and s.replicas > 0:  # a sidecar on the model pods: no pod, no series
                key = ["destination", s.namespace, s.service]
                families["duration_sum"].add_metric(key, s.duration_ms_sum)
                families["duration_count"].add_metric(key, s.requests)
            if s.replicas > 0:
                # Envoy Gateway (v1.1+) builds no cluster for a Service without a ready
                # endpoint: its requests are answered directly and counted nowhere per version.
                cluster = [f"{s.namespace}/{s.service}"]
                families["envoy_time_sum"].add_metric(cluster, s.duration_ms_sum)
                families["envoy_time_count"].add_metric(cluster, s.requests)
                families["envoy_total"].add_metric(cluster, s.requests)
            families["ready"].add_metric([s.namespace, s.service], s.replicas)
            for name in s.pods():
                labels = [s.namespace, name, "model"]
                families["cpu"].add_metric(labels, s.cpu_seconds)
                families["requests"].add_metric([*labels, "cpu"], 1.0)
                families["limits"].add_metric([*labels, "memory"], 1e9)
                families["memory"].add_metric(labels, s.memory * 1e9)
                families["waiting"].add_metric([s.namespace, name], s.queue)
        for c in clusters:
            families["envoy_time_sum"].add_metric([c.service], c.duration_ms_sum)
            families["envoy_time_count"].add_metric([c.service], c.requests)
            families["envoy_total"].add_metric([c.service], c.requests)
        yield from families.values()


def start_exporter() -> tuple[LoadModel, int, object]:
    """Serve a fresh LoadModel on 127.0.0.1 (a free port); returns (model, port, server)."""
    model = LoadModel()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(model)
    server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    return model, server.server_port, server
