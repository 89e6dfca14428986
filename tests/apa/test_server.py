"""The scaler as a real process, against a real Prometheus scraping a model under load."""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from plugins.apa.metadata import ScheduleFloor, TriggerMetadata
from plugins.apa.proto import externalscaler_pb2 as pb

from .conftest import TEST_CONFIG, Exporter, PrometheusServer, ScalerProcess, wait_for

pytestmark = pytest.mark.prometheus

ALWAYS = ScheduleFloor("* * * * *", "0 0 1 1 *", "UTC", 30.0)  # opened this minute, ends Jan 1
NEVER = ScheduleFloor("0 0 29 2 1", "1 0 29 2 1", "UTC", 50.0)  # Feb 29 on a Monday only


def metadata(
    namespace: str,
    service: str,
    *,
    cmin: float = 0,
    cmax: float = 100,
    pr_min: float = 2,
    initial: float = 10,
    window: float = 6,
    schedule: tuple[ScheduleFloor, ...] = (),
) -> dict[str, str]:
    m = TriggerMetadata(
        endpoint=service.rsplit("-", 1)[0],
        served=service.rsplit("-", 1)[1],
        namespace=namespace,
        runtime="mlflow",
        concurrency_min=cmin,
        concurrency_max=cmax,
        per_replica_min=pr_min,
        per_replica_max=20,
        per_replica_initial=initial,
        window_seconds=window,
        schedule=schedule,
        selectors=(("container", "model"), ("namespace", namespace), ("service", service)),
    )
    return {"scalerAddress": "127.0.0.1:1", "enableTLS": "false", **m.to_metadata()}


def mid_second() -> None:
    """Sleep to the middle of a wall-clock second: every process has ticked for it by then."""
    time.sleep(1.5 - (time.time() % 1.0))


def test_load_up_fast_down_slow_floors_and_activation(
    prometheus: PrometheusServer, exporter: Exporter, scalers: list[ScalerProcess], tmp_path: Path
) -> None:
    ns = "t-load"
    for service in ("a-v1", "b-v1", "c-v1", "d-v1"):
        exporter.set(ns, service, concurrency=0)
    scaler = ScalerProcess(tmp_path / "scaler", prometheus.url)
    scalers.append(scaler)
    client = scaler.start()
    a = metadata(ns, "a-v1", window=4)
    provisioned = metadata(ns, "b-v1", cmin=20)
    scheduled = metadata(ns, "c-v1", schedule=(ALWAYS,))
    unscheduled = metadata(ns, "d-v1", schedule=(NEVER,))
    # Register all four at once: a new ScaledObject's first answer waits for a sampler tick.
    pending = [
        client.stub.GetMetrics.future(
            pb.GetMetricsRequest(scaledObjectRef=client.ref(name, ns, md)), timeout=10
        )
        for name, md in (
            ("a-v1", a),
            ("b-v1", provisioned),
            ("c-v1", scheduled),
            ("d-v1", unscheduled),
        )
    ]
    for future in pending:
        future.result()

    assert client.metrics("a-v1", ns, a) == 0.0
    assert client.active("a-v1", ns, a) is False  # idle and min 0: scale to zero allowed
    assert client.metrics("b-v1", ns, provisioned) == 2.0  # provisioned floor 20 / target 10
    assert client.active("b-v1", ns, provisioned) is True
    assert client.metrics("c-v1", ns, scheduled) == 3.0  # schedule floor 30 / 10
    assert client.active("c-v1", ns, scheduled) is True
    assert client.metrics("d-v1", ns, unscheduled) == 0.0
    assert client.active("d-v1", ns, unscheduled) is False

    exporter.set(ns, "a-v1", concurrency=40)
    started = time.monotonic()
    wait_for(lambda: client.metrics("a-v1", ns, a) > 3.0, 12, what="value past 3")
    up_seconds = time.monotonic() - started
    # scrape 1 s + lag 2 s + tick, the rate window already showing most of the step
    assert up_seconds < 9.0
    wait_for(lambda: abs(client.metrics("a-v1", ns, a) - 4.0) < 0.05, 8, what="value 4")
    assert client.active("a-v1", ns, a) is True

    exporter.set(ns, "a-v1", concurrency=0)
    dropped = time.monotonic()
    wait_for(lambda: client.metrics("a-v1", ns, a) == 0.0, 16, what="value back to 0")
    down_seconds = time.monotonic() - dropped
    assert down_seconds >= 4.0  # the 4 s window holds the peak: scale-down is slow
    assert client.active("a-v1", ns, a) is False


def test_traffic_to_a_scaled_to_zero_version_activates_it(
    prometheus: PrometheusServer, exporter: Exporter, scalers: list[ScalerProcess], tmp_path: Path
) -> None:
    ns = "t-zero"
    # Scaled to zero: no pod, so no destination-side Istio series at all; only the gateway's.
    exporter.set(ns, "z-v1", concurrency=0, replicas=0, gateway_rps=0.0)
    scaler = ScalerProcess(tmp_path / "scaler", prometheus.url)
    scalers.append(scaler)
    client = scaler.start()
    md = metadata(ns, "z-v1", window=4)
    assert client.metrics("z-v1", ns, md) == 0.0
    assert client.active("z-v1", ns, md) is False

    # Requests arrive at the gateway, which answers 503 (nothing behind the route) and counts
    # them: IsActive turns true and KEDA scales the Deployment from 0 to 1.
    exporter.set(ns, "z-v1", gateway_rps=20.0)
    started = time.monotonic()
    wait_for(lambda: client.active("z-v1", ns, md) is True, 10, what="active")
    assert time.monotonic() - started < 6.0  # scrape 1 s + lag 2 s + tick
    assert "knobless_apa_degraded 0.0" in scaler.metrics_text().splitlines()

    # The pod serves: the answer follows its in-flight requests (no healthy latency is known
    # yet, so Little's law on the measured latency): 8 in flight / target 10.
    exporter.set(ns, "z-v1", replicas=1, concurrency=8.0, gateway_rps=80.0)
    wait_for(lambda: client.metrics("z-v1", ns, md) > 0.5, 10, what="value past 0.5")
    assert client.active("z-v1", ns, md) is True

    # Traffic stops: inactive again once the window has only zeros (KEDA may scale to zero).
    exporter.set(ns, "z-v1", replicas=0, concurrency=0.0, gateway_rps=0.0)
    wait_for(lambda: client.active("z-v1", ns, md) is False, 50, what="inactive")
    assert client.metrics("z-v1", ns, md) == 0.0


def test_bad_metadata_health_spec_streams_and_metrics(
    prometheus: PrometheusServer, exporter: Exporter, scalers: list[ScalerProcess], tmp_path: Path
) -> None:
    ns = "t-api"
    exporter.set(ns, "good-v1", concurrency=15)
    scaler = ScalerProcess(tmp_path / "scaler", prometheus.url)
    scalers.append(scaler)
    client = scaler.start()
    good = metadata(ns, "good-v1")
    broken = dict(good)
    del broken["concurrencyMax"]
    wrong = {**good, "perReplicaInitial": "lots"}

    for bad, key, text in (
        (broken, "concurrencyMax", "is required"),
        (wrong, "perReplicaInitial", "'lots' is not a number"),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            client.metrics("bad-v1", ns, bad)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert caught.value.details() == (
            f"ScaledObject {ns}/bad-v1: scalerMetadata key `{key}`: {text}"
            + (" (the compiler writes it; re-render)" if text == "is required" else "")
        )
    with pytest.raises(grpc.RpcError) as caught:
        client.stub.IsActive(client.ref("bad-v1", ns, wrong), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # ...and the server keeps serving the others.
    wait_for(lambda: abs(client.metrics("good-v1", ns, good) - 1.5) < 0.05, 8, what="1.5")

    spec = client.stub.GetMetricSpec(client.ref("good-v1", ns, good), timeout=5)
    assert [(s.metricName, s.targetSizeFloat, s.targetSize) for s in spec.metricSpecs] == [
        ("apa-replicas-good-v1", 1.0, 1)
    ]
    stream = client.stub.StreamIsActive(client.ref("good-v1", ns, good), timeout=5)
    assert next(stream).result is True
    stream.cancel()
    specs = client.stub.StreamMetricSpec(client.ref("good-v1", ns, good), timeout=5)
    assert next(specs).metricSpecs[0].targetSizeFloat == 1.0
    specs.cancel()

    for service in ("", "externalscaler.ExternalScaler"):
        response = client.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    assert scaler.healthz() == "ok\n"
    text = scaler.metrics_text()
    for line in (
        f'knobless_apa_target{{namespace="{ns}",scaledobject="good-v1"}} 10.0',
        'knobless_apa_invalid_metadata_total{key="concurrencyMax"} 1.0',
        'knobless_apa_invalid_metadata_total{key="perReplicaInitial"} 2.0',
        "knobless_apa_prometheus_up 1.0",
        "knobless_apa_degraded 0.0",
        "knobless_apa_scaledobjects 1.0",
    ):
        assert line in text.splitlines(), line
    needed = f'knobless_apa_replicas_needed{{namespace="{ns}",scaledobject="good-v1"}} '
    values = [float(x[len(needed) :]) for x in text.splitlines() if x.startswith(needed)]
    assert values == [pytest.approx(1.5, abs=0.05)]
    assert 'knobless_apa_query_duration_seconds_count{signal="concurrency"}' in text
    # A vertical round every 2 s: the first decision may land just after the answers.
    hold = 'knobless_apa_decisions_total{action="hold",reason='
    wait_for(lambda: hold in scaler.metrics_text(), 6, what="a hold decision")
    scaler.stop()
    assert "Traceback" not in scaler.log()


def test_prometheus_down_keeps_last_good_state_and_recovers(
    prometheus: PrometheusServer, exporter: Exporter, scalers: list[ScalerProcess], tmp_path: Path
) -> None:
    ns = "t-fault"  # its load (30 in flight) was set when the exporter started: windows are full
    try:
        scaler = ScalerProcess(tmp_path / "scaler", prometheus.url)
        scalers.append(scaler)
        client = scaler.start()
        md = metadata(ns, "f-v1", window=4)
        wait_for(lambda: abs(client.metrics("f-v1", ns, md) - 3.0) < 0.05, 10, what="value 3")

        prometheus.kill()
        exporter.set(ns, "f-v1", concurrency=0)
        killed = time.monotonic()
        while time.monotonic() - killed < 6.5:  # longer than the window plus the lag
            assert client.metrics("f-v1", ns, md) >= 2.95  # never scales down on missing data
            assert client.active("f-v1", ns, md) is True
            time.sleep(0.5)
        text = scaler.metrics_text()
        assert "knobless_apa_degraded 1.0" in text.splitlines()
        assert "knobless_apa_prometheus_up 0.0" in text.splitlines()
        assert 'knobless_apa_query_errors_total{kind="connection",signal="concurrency"}' in text
        assert scaler.healthz().startswith("degraded: prometheus ")
        assert "query failed: connection:" in scaler.healthz()
        status = client.health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING  # still answering from memory

        prometheus.start()  # same port, same storage: the scaler recovers by itself
        wait_for(lambda: client.metrics("f-v1", ns, md) < 0.05, 20, what="recovered to 0")
        assert scaler.healthz() == "ok\n"
    finally:
        if prometheus.process is None:  # the other tests share this server
            prometheus.start()


def test_learned_target_survives_restart(
    prometheus: PrometheusServer, exporter: Exporter, scalers: list[ScalerProcess], tmp_path: Path
) -> None:
    ns = "t-state"
    exporter.set(ns, "s-v1", concurrency=0, cpu=1.5)  # CPU saturated: the target must shrink
    state = tmp_path / "state" / "state.json"
    first = ScalerProcess(tmp_path / "first", prometheus.url, state=state)
    scalers.append(first)
    client = first.start()
    md = metadata(ns, "s-v1", cmin=21, pr_min=7)
    assert client.metrics("s-v1", ns, md) == pytest.approx(2.1)  # 21 / initial 10
    line = f'knobless_apa_target{{namespace="{ns}",scaledobject="s-v1"}} 7.0'
    wait_for(lambda: line in first.metrics_text().splitlines(), 15, what="target 10 -> 7")
    # The next horizontal tick (aligned, like every answer) divides by the new target.
    wait_for(lambda: client.metrics("s-v1", ns, md) == pytest.approx(3.0), 3, what="21 / 7")
    assert first.stop() == 0
    saved = json.loads(state.read_text())["scaledObjects"][f"{ns}/s-v1"]
    assert saved["vertical"]["target"] == 7.0
    assert saved["metadata"] == dict(sorted(md.items()))

    second = ScalerProcess(tmp_path / "second", prometheus.url, state=state)
    scalers.append(second)
    client = second.start()
    # Restored before KEDA's first call, and answered with the learned target.
    assert line in second.metrics_text().splitlines()
    assert client.metrics("s-v1", ns, md) == pytest.approx(3.0)


def test_two_processes_give_the_same_answers(
    prometheus: PrometheusServer, exporter: Exporter, scalers: list[ScalerProcess], tmp_path: Path
) -> None:
    ns = "t-twin"
    exporter.set(ns, "x-v1", concurrency=25)
    exporter.set(ns, "y-v1", concurrency=8, cpu=1.2)  # stressed: vertical decisions move
    one = ScalerProcess(tmp_path / "one", prometheus.url)
    two = ScalerProcess(tmp_path / "two", prometheus.url)
    scalers.extend([one, two])
    one.spawn()
    two.spawn()
    clients = [one.wait_ready(), two.wait_ready()]
    x = metadata(ns, "x-v1", window=5)
    y = metadata(ns, "y-v1", window=5)
    while time.time() % 20 > 17 or time.time() % 20 < 1:  # not across a vertical epoch edge
        time.sleep(0.2)
    pending = [
        c.stub.GetMetrics.future(pb.GetMetricsRequest(scaledObjectRef=c.ref(n, ns, md)), timeout=10)
        for c in clients
        for n, md in (("x-v1", x), ("y-v1", y))
    ]
    for future in pending:
        future.result()
    seen = []
    for step in range(6):
        if step == 2:
            exporter.set(ns, "x-v1", concurrency=55)
        mid_second()
        answers = [(c.metrics("x-v1", ns, x), c.metrics("y-v1", ns, y)) for c in clients]
        assert answers[0] == answers[1], f"step {step}: {answers}"
        seen.append(answers[0])
    assert len(set(seen)) > 1  # the answers did move while they agreed
    targets = [
        [line for line in s.metrics_text().splitlines() if line.startswith("knobless_apa_target{")]
        for s in (one, two)
    ]
    assert targets[0] == targets[1]
    assert any("y-v1" in line and not line.endswith(" 10.0") for line in targets[0])


def test_gateway_series_alone_drive_the_answer_and_a_blind_template_is_degraded(
    prometheus: PrometheusServer, exporter: Exporter, scalers: list[ScalerProcess], tmp_path: Path
) -> None:
    # The rendered setup: no sidecar on the model pods, so only the gateway reports (Istio
    # `reporter="source"`). 20 in flight at 40 ms = 500 rps at the gateway.
    ns = "t-gateway"
    exporter.set(ns, "g-v1", concurrency=20.0, latency_ms=40.0, replicas=2)
    md = metadata(ns, "g-v1", cmin=4, window=4)
    scaler = ScalerProcess(tmp_path / "gateway", prometheus.url)
    scalers.append(scaler)
    client = scaler.start()
    wait_for(lambda: abs(client.metrics("g-v1", ns, md) - 2.0) < 0.05, 10, what="20 / 10")
    assert scaler.healthz() == "ok\n"
    assert "knobless_apa_missing_concurrency 0.0" in scaler.metrics_text().splitlines()

    # The templates before issue 17 read the destination side, which nothing renders: every
    # version answers its floor (4 / 10) whatever the load, and the scaler now says so.
    destination = TEST_CONFIG["queries"]["concurrency"].replace(
        'reporter="source"', 'reporter="destination"'
    )
    blind = ScalerProcess(tmp_path / "blind", prometheus.url, queries={"concurrency": destination})
    scalers.append(blind)
    blind_client = blind.start()
    assert blind_client.metrics("g-v1", ns, md) == pytest.approx(0.4)  # registers the object
    wait_for(lambda: "no concurrency series" in blind.healthz(), 10, what="degraded")
    assert "with requests but no concurrency series" in blind.healthz()
    missing = [
        line for line in blind.metrics_text().splitlines()
        if line.startswith("knobless_apa_missing_concurrency ")
    ]  # fmt: skip
    assert missing and float(missing[0].split()[1]) >= 1
    assert "knobless_apa_degraded 1.0" in blind.metrics_text().splitlines()
    # (Once the vertical loop has learned a healthy latency from the gateway's series, demand is
    # requests x that latency again, so the answer recovers; the degradation is still reported.)
