"""What Prometheus holds about the simulated pods, queried the way the scaler's defaults do.

The scaler's default templates (plugins/apa/config.py) read counters through `rate(...[30s])`
(the range is taken from the default concurrency query): concurrency by Little's law from
Istio's request-duration sum, the gateway's request rate, latency as duration sum / count, CPU
from cAdvisor; and gauges as they were last scraped: ready replicas (kube-state-metrics), GPU
utilization (DCGM), waiting requests (vLLM / Triton), memory. Prometheus only has what it
scraped: an instant T sees the scrapes at or before T, every `scrape_s` seconds. The
destination-side Istio series come from the pod's sidecar, so while no pod is ready there is no
such series (the sampler reads 0); the gateway's request counter counts every request that
arrives, routed or not.

The fluid model has no per-request durations; the rate of completed request time is taken as
the mean in-flight count over the window (equal in steady state, a little early under a growing
backlog, whose requests complete later).
"""

from __future__ import annotations

import math

from plugins.apa.config import DEFAULT_QUERIES, HORIZONTAL_SIGNAL
from plugins.apa.decision import Signals, rate_range


def rate_window(query: str) -> int:
    """Seconds of the first range selector in a PromQL template (`[1m]` -> 60); 60 if none."""
    seconds = rate_range(query)
    return 60 if seconds is None else int(seconds)


RATE_WINDOW_S = rate_window(DEFAULT_QUERIES[HORIZONTAL_SIGNAL])
"""The range of the scaler's default concurrency query (`[30s]` today): the simulator follows it."""


class Observed:
    """Per-second records and prefix sums, answering PromQL-like reads at any instant."""

    def __init__(
        self, scrape_s: int, has_gpu: bool, exports_queue: bool, window_s: int = RATE_WINDOW_S
    ) -> None:
        self.scrape_s = scrape_s
        self.window_s = window_s
        self.has_gpu = has_gpu
        self.exports_queue = exports_queue
        self.cum_inflight = [0.0]
        self.cum_latency = [0.0]  # latency (ms) x requests served
        self.cum_served = [0.0]
        self.cum_requests = [0.0]  # arriving at the gateway, rejected ones included
        self.cum_cpu = [0.0]  # summed over pods: utilization x ready pods
        self.cum_ready = [0.0]  # ready pod-seconds
        self.ready: list[int] = []
        self.gauges: list[tuple[float, float, float] | None] = []  # gpu, memory, queue

    def record(
        self,
        in_flight: float,
        latency_ms: float,
        served: float,
        ready: int,
        cpu: float,
        gauges: tuple[float, float, float] | None,
        requests: float = 0.0,
    ) -> None:
        self.cum_requests.append(self.cum_requests[-1] + requests)
        self.cum_inflight.append(self.cum_inflight[-1] + in_flight)
        self.cum_latency.append(self.cum_latency[-1] + latency_ms * served)
        self.cum_served.append(self.cum_served[-1] + served)
        self.cum_cpu.append(self.cum_cpu[-1] + cpu * ready)
        self.cum_ready.append(self.cum_ready[-1] + ready)
        self.ready.append(ready)
        self.gauges.append(gauges)

    def visible(self, at: float) -> int:
        """Seconds of data Prometheus holds at instant `at` (up to its last scrape)."""
        last_scrape = math.floor(at / self.scrape_s) * self.scrape_s
        return max(0, min(int(last_scrape), len(self.ready)))

    def _window(self, at: float) -> tuple[int, int]:
        end = self.visible(at)
        return max(0, end - self.window_s), end

    def concurrency_rate(self, at: float) -> float:
        """`rate(istio_request_duration_milliseconds_sum[30s]) / 1000`: 0 without a series."""
        start, end = self._window(at)
        if end <= start or self.cum_ready[end] - self.cum_ready[start] <= 0:
            return 0.0
        return (self.cum_inflight[end] - self.cum_inflight[start]) / (end - start)

    def request_rate(self, at: float) -> float:
        """`rate(istio_requests_total{reporter="source"}[30s])` at the gateway: every request
        that arrived, answered or rejected (the gateway reports even when no pod exists)."""
        start, end = self._window(at)
        if end <= start:
            return 0.0
        return (self.cum_requests[end] - self.cum_requests[start]) / (end - start)

    def in_flight_gauge(self, at: float) -> float:
        """An in-flight gauge (e.g. vllm:num_requests_running summed) as last scraped."""
        end = self.visible(at)
        if end == 0 or self.ready[end - 1] == 0:
            return 0.0
        return (self.cum_inflight[end] - self.cum_inflight[end - 1]) / 1.0

    def signals(self, at: float) -> Signals:
        """The vertical signals at instant `at`, as the default templates return them."""
        start, end = self._window(at)
        if end == 0:
            return Signals(t=at)
        ready = float(self.ready[end - 1])
        ready_seconds = self.cum_ready[end] - self.cum_ready[start]
        served = self.cum_served[end] - self.cum_served[start]
        concurrency = (
            (self.cum_inflight[end] - self.cum_inflight[start]) / (end - start)
            if ready_seconds > 0
            else None
        )
        gauges = self.gauges[end - 1]
        return Signals(
            t=at,
            replicas=ready,
            concurrency_per_replica=concurrency / ready
            if concurrency is not None and ready
            else None,
            cpu_utilization=(self.cum_cpu[end] - self.cum_cpu[start]) / ready_seconds
            if ready_seconds > 0
            else None,
            gpu_utilization=gauges[0] if gauges is not None and self.has_gpu else None,
            memory_utilization=gauges[1] if gauges is not None else None,
            latency_ms=(self.cum_latency[end] - self.cum_latency[start]) / served
            if served > 0
            else None,
            queue_per_replica=gauges[2] if gauges is not None and self.exports_queue else None,
        )
