"""A real scaler on Envoy Gateway's templates: a split endpoint is answered per version when the
EnvoyProxy merges backends, and reported degraded when it does not (the rule's cluster mixes the
versions' traffic), instead of silently answering the floor. Its own module: the degraded count
covers every series its Prometheus holds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from plugins.apa.config import DEFAULT_QUERIES, GATEWAY_QUERIES

from .conftest import RATE, Exporter, PrometheusServer, ScalerProcess, wait_for
from .test_server import metadata

pytestmark = pytest.mark.prometheus

NS = "t-egs"


def test_split_versions_are_measured_when_merged_and_degraded_when_not(
    prometheus: PrometheusServer, exporter: Exporter, scalers: list[ScalerProcess], tmp_path: Path
) -> None:
    queries = {
        signal: {**DEFAULT_QUERIES, **GATEWAY_QUERIES["envoy-gateway"]}[signal].replace(
            "[30s]", RATE
        )
        for signal in ("concurrency", "requests", "latency")
    }
    # mergeBackends on: a 90/10 split is one cluster per Service (upstream's naming,
    # tests/apa/contract/envoy-gateway/cluster-names.yaml). 20 in flight at 40 ms = 500 rps.
    exporter.model.set_envoy_cluster(f"service/{NS}/m-v12/80/http", 20.0, 40.0)
    exporter.model.set_envoy_cluster(f"service/{NS}/m-v13/80/http", 2.0, 40.0)
    scaler = ScalerProcess(tmp_path / "scaler", prometheus.url, queries=queries)
    scalers.append(scaler)
    client = scaler.start()
    v12, v13 = metadata(NS, "m-v12", cmin=4, window=4), metadata(NS, "m-v13", cmin=4, window=4)
    wait_for(lambda: abs(client.metrics("m-v12", NS, v12) - 2.0) < 0.05, 15, what="20 / 10")
    assert client.metrics("m-v13", NS, v13) == pytest.approx(0.4)  # 2 in flight: its floor 4
    assert scaler.healthz() == "ok\n"
    assert "knobless_apa_missing_concurrency 0.0" in scaler.metrics_text().splitlines()

    # Merging off (`%BACKEND_REFS%`): the split rule's cluster carries both versions, each
    # header rule's cluster only its pinned requests (0.1 in flight). Before, q-v1 was answered
    # on those 0.1 (its floor) with nothing reported; now it has no concurrency series and the
    # scaler says so.
    exporter.model.set_envoy_cluster(f"{NS}/q-v1|{NS}/q-v2", 20.0, 40.0)
    exporter.model.set_envoy_cluster(f"{NS}/q-v1", 0.1, 40.0)
    q1 = metadata(NS, "q-v1", cmin=4, window=4)
    assert client.metrics("q-v1", NS, q1) == pytest.approx(0.4)  # registers the object
    time.sleep(1)
    wait_for(lambda: "no concurrency series" in scaler.healthz(), 15, what="degraded")
    assert scaler.healthz() == (
        "degraded: 2 version(s) with requests but no concurrency series (e.g. t-egs/q-v1): "
        "check the concurrency query template\n"
    )
    lines = scaler.metrics_text().splitlines()
    assert "knobless_apa_missing_concurrency 2.0" in lines
    assert "knobless_apa_degraded 1.0" in lines
    assert client.metrics("q-v1", NS, q1) == pytest.approx(0.4)  # the floor, now reported
    assert client.active("q-v1", NS, q1)  # the rule's requests count as its traffic
    assert client.metrics("m-v12", NS, v12) == pytest.approx(2.0, abs=0.05)  # still exact
