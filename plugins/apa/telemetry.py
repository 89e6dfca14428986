"""The scaler's own metrics (prometheus-client, a registry of its own) and its HTTP endpoint.

`/metrics` is the Prometheus exposition; `/healthz` answers 200 while the gRPC server serves
(body `ok` or `degraded: <why>`): a scaler whose Prometheus is down still answers from its last
good state, and restarting it would not help, so degradation is reported, never a failed probe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

PREFIX = "knobless_apa"

PerObject = tuple[str, str, float, float | None]
"""(namespace, scaledobject, learned target, replicas needed or None)."""


class _PerObjectCollector(Collector):
    def __init__(self, snapshot: Callable[[], Iterable[PerObject]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["namespace", "scaledobject"]
        target = GaugeMetricFamily(
            f"{PREFIX}_target", "Learned per-replica concurrency target.", labels=labels
        )
        needed = GaugeMetricFamily(
            f"{PREFIX}_replicas_needed",
            "Replicas needed, the value GetMetrics returns.",
            labels=labels,
        )
        for namespace, name, learned, value in self._snapshot():
            target.add_metric([namespace, name], learned)
            if value is not None:
                needed.add_metric([namespace, name], value)
        yield target
        yield needed


class Telemetry:
    """Every metric of one scaler process; pass it to whatever records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.scaledobjects = Gauge(f"{PREFIX}_scaledobjects", "ScaledObjects known.", registry=r)
        self.decisions = Counter(
            f"{PREFIX}_decisions",
            "Vertical decisions by action and reason.",
            ["action", "reason"],
            registry=r,
        )
        self.query_seconds = Histogram(
            f"{PREFIX}_query_duration_seconds",
            "Prometheus query latency by signal.",
            ["signal"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.query_errors = Counter(
            f"{PREFIX}_query_errors",
            "Failed Prometheus queries by signal and kind "
            "(connection, timeout, http, query, garbage).",
            ["signal", "kind"],
            registry=r,
        )
        self.tick_seconds = Histogram(
            f"{PREFIX}_tick_duration_seconds",
            "Sampler tick duration (wall) by loop.",
            ["loop"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.prometheus_up = Gauge(
            f"{PREFIX}_prometheus_up", "1 if the last horizontal query succeeded.", registry=r
        )
        self.degraded = Gauge(
            f"{PREFIX}_degraded",
            "1 while answers come from the last good state (Prometheus failing) or a signal "
            "is missing for versions with requests.",
            registry=r,
        )
        self.missing_concurrency = Gauge(
            f"{PREFIX}_missing_concurrency",
            "Versions with gateway requests but no concurrency series (degraded while > 0).",
            registry=r,
        )
        self.last_success = Gauge(
            f"{PREFIX}_last_success_timestamp_seconds",
            "Unix time of the last successful horizontal tick.",
            registry=r,
        )
        self.sample_time = Gauge(
            f"{PREFIX}_sample_time_seconds",
            "Aligned Prometheus evaluation time of the current answers.",
            registry=r,
        )
        self.invalid_metadata = Counter(
            f"{PREFIX}_invalid_metadata",
            "Calls refused with INVALID_ARGUMENT, by metadata key.",
            ["key"],
            registry=r,
        )
        self.state_writes = Counter(
            f"{PREFIX}_state_writes", "State file writes by result.", ["result"], registry=r
        )
        self.prometheus_up.set(0)
        self.degraded_reason = "starting"

    def watch(self, snapshot: Callable[[], Iterable[PerObject]]) -> None:
        self.registry.register(_PerObjectCollector(snapshot))

    def health_text(self) -> str:
        return "ok" if not self.degraded_reason else f"degraded: {self.degraded_reason}"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would flood the log."""


def serve_http(telemetry: Telemetry, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Start /metrics and /healthz on a daemon thread; returns the server (call shutdown())."""
    metrics_app = make_wsgi_app(telemetry.registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            body = (telemetry.health_text() + "\n").encode()
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [body]
        return metrics_app(environ, start_response)

    server = make_server(host, port, app, _ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="apa-metrics", daemon=True)
    thread.start()
    return server, thread
