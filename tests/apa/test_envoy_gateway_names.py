"""Envoy Gateway's query templates against the cluster names Envoy Gateway actually gives,
cut from its own test data (tests/apa/contract/envoy-gateway/cluster-names.yaml: envoyproxy/
gateway at d32f282, v1.9.0): per version with `mergeBackends`, per rule with `%BACKEND_REFS%`,
both read by the same templates from a real Prometheus."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from plugins.apa.config import DEFAULT_QUERIES, GATEWAY_QUERIES
from plugins.apa.queries import ENVOY_EXACT, ENVOY_MAX_BACKENDS, ENVOY_SPLIT

from .conftest import RATE, Exporter, PrometheusServer, wait_for

CONTRACT = Path(__file__).parent / "contract" / "envoy-gateway" / "cluster-names.yaml"
NAMES: dict[str, Any] = yaml.safe_load(CONTRACT.read_text())
NS = "t-eg"


def exact(name: str) -> tuple[str, str] | None:
    """(namespace, service) the templates read from a cluster carrying one version alone;
    Prometheus anchors label regexes as fullmatch does."""
    match = re.fullmatch(ENVOY_EXACT, name)
    return None if match is None else (match[1], match[2])


def test_merged_cluster_names_from_upstream_map_onto_their_service() -> None:
    merged = NAMES["merged"]
    weights = merged["routes"]["httproute/default/http-route-1/rule/0"]
    assert weights == {
        "service/default/service-1/8080/http": 60,
        "service/default/service-2/8080/http": 40,
    }  # one split rule, two clusters: each version's traffic on its own
    for name, (namespace, service) in merged["services"].items():
        assert exact(name) == (namespace, service)
    assert exact(merged["without-protocol"]) == ("default", "service-1")


def test_backend_refs_names_from_upstream() -> None:
    refs = NAMES["backend-refs"]
    # The upstream pattern puts %BACKEND_REFS% last: what `clusterStatName: "%BACKEND_REFS%"`
    # alone gives is that tail.
    assert refs["pattern"].endswith("/%BACKEND_REFS%")
    for stat_name, backend_refs in refs["statNames"].items():
        assert stat_name.endswith("/" + backend_refs)
    assert exact("default/service-1") == ("default", "service-1")
    assert exact("default/service-3|default/service-4") is None  # a split: no version alone
    assert re.fullmatch(ENVOY_SPLIT, "default/service-3|default/service-4")
    zero = refs["zero-weight"]
    assert zero["weights"]["service-2"] == 0
    assert exact(zero["name"]) == ("default", "service-1")  # `ns/a|`: a's traffic alone
    assert not re.fullmatch(ENVOY_SPLIT, zero["name"])
    # Envoy Gateway's default name and other kinds name no Service.
    for name in ("httproute/default/backend/rule/0", "backend/ns/be/443/http", "prometheus_stats"):
        assert exact(name) is None and not re.fullmatch(ENVOY_SPLIT, name), name


def templates() -> dict[str, str]:
    queries = {**DEFAULT_QUERIES, **GATEWAY_QUERIES["envoy-gateway"]}
    return {s: queries[s].replace("[30s]", RATE) for s in ("concurrency", "requests", "latency")}


def values(prometheus: PrometheusServer, query: str) -> dict[tuple[str, str], float]:
    body = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": query}).json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    # Every series the templates return names a version: nothing unlabelled from other clusters.
    assert all(r["metric"].get("service") for r in result), result
    return {
        (r["metric"]["namespace"], r["metric"]["service"]): float(r["value"][1])
        for r in result
        if r["metric"]["namespace"] == NS
    }


@pytest.mark.prometheus
def test_one_template_set_reads_both_naming_schemes(
    prometheus: PrometheusServer, exporter: Exporter
) -> None:
    # Upstream's merged names, in our namespace: a 60/40 split with merging on is two clusters.
    # 6 in flight at 50 ms = 120 rps and 4 at 100 ms = 40 rps.
    merged = {f"service/{NS}/m-v1/8080/http": (6.0, 50.0), f"service/{NS}/m-v2/8080": (4.0, 100.0)}
    # Merging off, `%BACKEND_REFS%`: a single-backend rule (12 at 60 ms = 200 rps), a 100/0 split
    # (4 at 40 ms = 100 rps, all a's), a 50/50 split (5 at 100 ms = 50 rps) and its header rule
    # pinning s-v1 (1 at 100 ms = 10 rps), a 16-backend split (2 at 100 ms = 20 rps), and
    # Envoy Gateway's default rule name (counted for nobody).
    wide = "|".join(f"{NS}/w-v{i}" for i in range(ENVOY_MAX_BACKENDS))
    refs = {
        f"{NS}/solo-v1": (12.0, 60.0),
        f"{NS}/z-v1|": (4.0, 40.0),
        f"{NS}/s-v1|{NS}/s-v2": (5.0, 100.0),
        f"{NS}/s-v1": (1.0, 100.0),
        wide: (2.0, 100.0),
        f"httproute/{NS}/other/rule/0": (7.0, 100.0),
    }
    for name, (in_flight_set, latency_ms) in {**merged, **refs}.items():
        exporter.model.set_envoy_cluster(name, in_flight_set, latency_ms)
    queries = templates()
    time.sleep(4)  # a whole rate range of samples since the load was set

    def settled() -> bool:
        return abs(values(prometheus, queries["concurrency"]).get((NS, "solo-v1"), 0) - 12) < 0.5

    wait_for(settled, 10, what="concurrency 12")
    concurrency = values(prometheus, queries["concurrency"])
    requests = values(prometheus, queries["requests"])
    latency = values(prometheus, queries["latency"])

    exact_versions = {"m-v1": (6, 120, 50), "m-v2": (4, 40, 100), "solo-v1": (12, 200, 60)}
    exact_versions["z-v1"] = (4, 100, 40)
    assert set(concurrency) == {(NS, v) for v in exact_versions}
    assert set(latency) == set(concurrency)
    for version, (in_flight, rps, ms) in exact_versions.items():
        assert concurrency[(NS, version)] == pytest.approx(in_flight, rel=0.05), version
        assert requests[(NS, version)] == pytest.approx(rps, rel=0.05), version
        assert latency[(NS, version)] == pytest.approx(ms, rel=0.05), version
    # A split's versions: requests (the whole rule's, plus s-v1's header rule), no concurrency
    # or latency, so the scaler reports them degraded rather than scaling s-v1 on its 10 rps.
    assert requests[(NS, "s-v1")] == pytest.approx(60.0, rel=0.05)
    assert requests[(NS, "s-v2")] == pytest.approx(50.0, rel=0.05)
    for i in range(ENVOY_MAX_BACKENDS):
        assert requests[(NS, f"w-v{i}")] == pytest.approx(20.0, rel=0.05)
    assert set(requests) == {(NS, v) for v in exact_versions} | {(NS, "s-v1"), (NS, "s-v2")} | {
        (NS, f"w-v{i}") for i in range(ENVOY_MAX_BACKENDS)
    }
