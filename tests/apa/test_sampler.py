"""The sampler's horizontal loop in process, against a scripted Prometheus (httpx MockTransport):
exact windows, frozen answers on garbage, backfill on recovery, new objects from history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx

from plugins.apa.config import ScalerConfig
from plugins.apa.metadata import ScheduleFloor, TriggerMetadata
from plugins.apa.prometheus import PrometheusClient
from plugins.apa.registry import Registry
from plugins.apa.sampler import Sampler
from plugins.apa.telemetry import Telemetry

NS = "ns"


def metadata(
    service: str, *, cmin: float = 0, schedule: tuple[ScheduleFloor, ...] = ()
) -> dict[str, str]:
    return TriggerMetadata(
        endpoint=service.split("-")[0], served="v1", namespace=NS, runtime="mlflow",
        concurrency_min=cmin, concurrency_max=100, per_replica_min=1, per_replica_max=20,
        per_replica_initial=10, window_seconds=4, schedule=schedule,
        selectors=(("namespace", NS), ("service", service)),
    ).to_metadata()  # fmt: skip


class ScriptedPrometheus:
    """Answers range queries from `load(service, t)`; `broken` makes it return garbage."""

    def __init__(self, load: Callable[[str, float], float | None]) -> None:
        self.load = load
        self.broken = False
        self.ranges: list[tuple[float, float]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.broken:
            return httpx.Response(200, content=b"<html>proxy error</html>")
        start, end = float(request.url.params["start"]), float(request.url.params["end"])
        if "istio_requests_total" not in request.url.params["query"]:
            # Every tick asks for both horizontal signals over the same range: count it once.
            self.ranges.append((start, end))
        result = []
        for service in ("a-v1", "b-v1"):
            values = []
            t = start
            while t <= end:
                value = self.load(service, t)
                if value is not None:
                    values.append([t, str(value)])
                t += 1
            if values:
                result.append({"metric": {"namespace": NS, "service": service}, "values": values})
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        return httpx.Response(200, content=json.dumps(body).encode())


def make(prometheus: ScriptedPrometheus) -> tuple[Sampler, Registry, Telemetry]:
    client = PrometheusClient(
        "http://prometheus", timeout_s=1, transport=httpx.MockTransport(prometheus)
    )
    registry, telemetry = Registry(), Telemetry()
    config = ScalerConfig(lag_s=0, history_s=4)
    return Sampler(registry, client, config, telemetry, clock=lambda: 0.0), registry, telemetry


def test_window_freeze_on_garbage_and_backfill_on_recovery() -> None:
    def load(service: str, t: float) -> float | None:
        if service == "a-v1":
            return 40.0 if t <= 103 else 0.0
        return 1.0

    prometheus = ScriptedPrometheus(load)
    sampler, registry, telemetry = make(prometheus)
    a = registry.lookup(NS, "a-v1", metadata("a-v1"), 0.0)

    async def scenario() -> list[tuple[float, float | None, bool | None]]:
        seen: list[tuple[float, float | None, bool | None]] = []
        for second in range(100, 113):
            prometheus.broken = 105 <= second <= 110
            await sampler.horizontal_tick(second)
            seen.append((second, a.value, a.active))
        return seen

    seen = asyncio.run(scenario())
    assert seen == [
        (100, 4.0, True), (101, 4.0, True), (102, 4.0, True), (103, 4.0, True),
        (104, 4.0, True),
        # garbage from 105: frozen at the last good answer, although the peak (103) would have
        # left the 4 s window at 107
        (105, 4.0, True), (106, 4.0, True), (107, 4.0, True), (108, 4.0, True),
        (109, 4.0, True), (110, 4.0, True),
        (111, 0.0, False),  # recovered: the backfilled window holds only zeros
        (112, 0.0, False),
    ]  # fmt: skip
    # The first tick filled the window and the jump guard's look-back before it (4 + 82 s),
    # then one instant per tick; after the outage one range query covered the missed instants.
    assert prometheus.ranges[0] == (15.0, 100.0)
    assert prometheus.ranges[1:5] == [(float(t), float(t)) for t in range(101, 105)]
    assert prometheus.ranges[5:] == [(105.0, 111.0), (112.0, 112.0)]
    assert telemetry.degraded._value.get() == 0  # recovered
    assert telemetry.query_errors.labels("concurrency", "garbage")._value.get() == 6


def test_missing_data_never_scales_down_but_floors_still_rise() -> None:
    def load(service: str, t: float) -> float | None:
        return 30.0 if t <= 101 else None  # from 102 on: not a single series (Prometheus empty)

    prometheus = ScriptedPrometheus(load)
    sampler, registry, telemetry = make(prometheus)
    always = ScheduleFloor("* * * * *", "0 0 1 1 *", "UTC", 50.0)
    a = registry.lookup(NS, "a-v1", metadata("a-v1"), 0.0)

    async def scenario() -> list[float | None]:
        values = []
        for second in range(100, 110):
            if second == 106:  # a schedule window opens during the outage
                registry.lookup(NS, "a-v1", metadata("a-v1", schedule=(always,)), 0.0)
            await sampler.horizontal_tick(second)
            values.append(a.value)
        return values

    assert asyncio.run(scenario()) == [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 5.0, 5.0, 5.0, 5.0]
    assert a.active is True
    assert telemetry.health_text() == "degraded: no series at the evaluation instant"


def test_a_new_object_is_answered_at_once_from_history() -> None:
    prometheus = ScriptedPrometheus(lambda service, t: {"a-v1": 10.0, "b-v1": t - 90}[service])
    sampler, registry, _ = make(prometheus)
    registry.lookup(NS, "a-v1", metadata("a-v1"), 0.0)

    async def scenario() -> None:
        for second in range(100, 106):
            await sampler.horizontal_tick(second)

    asyncio.run(scenario())
    queries = len(prometheus.ranges)
    b = registry.lookup(NS, "b-v1", metadata("b-v1", cmin=5), 0.0)
    assert b.value is None
    sampler.answer_now(b)
    assert b.value == 1.5  # max of 12..15 over the 4 s window ending at 105, / target 10
    assert len(prometheus.ranges) == queries  # no query of its own
