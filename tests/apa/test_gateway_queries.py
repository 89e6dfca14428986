"""Each gateway's query templates against a real Prometheus scraping that gateway's series:
per version concurrency, requests and latency, with and without pods behind the route."""

from __future__ import annotations

import time

import httpx
import pytest

from plugins.apa.config import DEFAULT_QUERIES, GATEWAY_QUERIES

from .conftest import RATE, Exporter, PrometheusServer, wait_for

pytestmark = pytest.mark.prometheus

NS = "t-gw"


def templates(gateway: str) -> dict[str, str]:
    queries = {**DEFAULT_QUERIES, **GATEWAY_QUERIES[gateway]}
    return {s: queries[s].replace("[30s]", RATE) for s in ("concurrency", "requests", "latency")}


def values(prometheus: PrometheusServer, query: str) -> dict[tuple[str, str], float]:
    body = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": query}).json()
    assert body["status"] == "success", body
    return {
        (r["metric"]["namespace"], r["metric"]["service"]): float(r["value"][1])
        for r in body["data"]["result"]
        if r["metric"].get("namespace") == NS
    }


@pytest.mark.parametrize("gateway", sorted(GATEWAY_QUERIES))
def test_templates_read_each_version_from_the_gateway_alone(
    gateway: str, prometheus: PrometheusServer, exporter: Exporter
) -> None:
    # 12 in flight at 60 ms = 200 rps; a version scaled to zero gets 20 rps the gateway answers
    # 503; no sidecar on any model pod. Envoy Gateway without mergeBackends: a split rule's
    # cluster `ns/a|ns/b` (50 rps) counts for both versions' requests, neither's concurrency.
    exporter.set(NS, "busy-v1", concurrency=12.0, latency_ms=60.0, replicas=2)
    exporter.set(NS, "zero-v1", concurrency=0.0, replicas=0, gateway_rps=20.0)
    exporter.set(NS, f"split-v1|{NS}/split-v2", concurrency=5.0, replicas=1)
    queries = templates(gateway)
    time.sleep(4)  # a whole rate range of samples since the load was set

    def settled() -> bool:
        concurrency = values(prometheus, queries["concurrency"])
        return abs(concurrency.get((NS, "busy-v1"), 0) - 12.0) < 0.5

    wait_for(settled, 10, what="concurrency 12")
    concurrency = values(prometheus, queries["concurrency"])
    requests = values(prometheus, queries["requests"])
    latency = values(prometheus, queries["latency"])
    assert requests[(NS, "busy-v1")] == pytest.approx(200.0, rel=0.05)
    assert latency[(NS, "busy-v1")] == pytest.approx(60.0, rel=0.05)
    split = {key for key in concurrency if key[1].startswith("split-v")}
    if gateway == "envoy-gateway":
        # No ready endpoint, no cluster: Envoy Gateway answers directly and counts nothing.
        assert (NS, "zero-v1") not in requests
        assert (NS, "zero-v1") not in concurrency
        assert split == set()
        assert requests[(NS, "split-v1")] == pytest.approx(50.0, rel=0.05)
        assert requests[(NS, "split-v2")] == pytest.approx(50.0, rel=0.05)
        assert {key for key in latency if key[1].startswith("split-v")} == set()
    else:
        assert requests[(NS, "zero-v1")] == pytest.approx(20.0, rel=0.05)
        assert concurrency[(NS, "zero-v1")] == 0.0  # present: not "requests without concurrency"
        assert split == {(NS, f"split-v1|{NS}/split-v2")}
