"""The scale-up cap against the glitches real series have, served by a real Prometheus.

The series are written as OpenMetrics with explicit timestamps, turned into TSDB blocks by
`promtool tsdb create-blocks-from openmetrics` and served by the real `prometheus` binary, then
read with the scaler's own client and default `requests` query (`rate(...[30s])`, scrapes every
5 s as in a cluster) at the sampler's 1 s instants, and fed through the same window and `answer`
the sampler uses. So Prometheus' own reset handling and extrapolation make the readings.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from plugins.apa.config import DEFAULT_QUERIES, ScalerConfig
from plugins.apa.decision import ArrivalEstimate, Bounds, HorizontalWindow, answer, rate_range
from plugins.apa.metadata import TriggerMetadata
from plugins.apa.prometheus import Key, PrometheusClient
from plugins.apa.registry import Registry
from plugins.apa.sampler import Sampler
from plugins.apa.surge import JUMP_LIMIT, JumpGuard
from plugins.apa.telemetry import Telemetry

from .conftest import PrometheusServer, free_port, prometheus_binary

SCRAPE_S = 5
RPS = 100.0  # every series' steady rate
BASELINE_MS = 100.0  # healthy latency: demand = rate x 0.1 s, replicas = demand (target 1)
LENGTH_S = 1000
EVENT_S = 600  # offset of the glitch (or the real step) from the start: after a look-back
NAMESPACE = "serving-glitch"
BOUNDS = Bounds(0.0, 100000.0, 1.0, 100.0, 1.0)


@dataclass(frozen=True)
class Series:
    service: str
    instance: str
    points: list[tuple[float, float]]  # (offset s, counter value)


def steady(start_value: float, rps: float = RPS) -> list[tuple[float, float]]:
    return [(t, start_value + rps * t) for t in range(0, LENGTH_S + 1, SCRAPE_S)]


def scenarios() -> list[Series]:
    outlier = steady(1000.0)
    outlier[EVENT_S // SCRAPE_S] = (EVENT_S, 1e7)  # one scrape reads garbage, then normal
    reset = steady(5e7)  # a long-lived counter reads 0 for one scrape
    reset[EVENT_S // SCRAPE_S] = (EVENT_S, 0.0)
    step: list[tuple[float, float]] = [(t, RPS * t if t <= EVENT_S else RPS * EVENT_S + 10 * RPS * (t - EVENT_S))
            for t in range(0, LENGTH_S + 1, SCRAPE_S)]  # fmt: skip
    twice = [(t, v) for t, v in steady(2000.0) if t >= EVENT_S]  # the same traffic, scraped twice
    return [
        Series("outlier-v1", "gw-0", outlier),
        Series("reset-v1", "gw-0", reset),
        Series("step-v1", "gw-0", step),
        Series("twice-v1", "gw-0", steady(1000.0)),
        Series("twice-v1", "gw-1", twice),
    ]


def openmetrics(series: list[Series], origin: float) -> str:
    lines = ["# TYPE istio_requests counter"]
    for s in series:
        labels = (
            f'reporter="source",destination_service_namespace="{NAMESPACE}",'
            f'destination_service_name="{s.service}",instance="{s.instance}"'
        )
        lines += [f"istio_requests_total{{{labels}}} {v:.1f} {origin + t:.0f}" for t, v in s.points]
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    """A Prometheus serving the scenarios, and the time of their start (30 min ago)."""
    root = tmp_path_factory.mktemp("glitches")
    origin = math.floor(time.time() / 3600) * 3600 - 3 * 3600  # whole hours: one block
    (root / "series.om").write_text(openmetrics(scenarios(), origin))
    promtool = str(Path(prometheus_binary()).with_name("promtool"))
    if not Path(promtool).is_file():
        promtool = shutil.which("promtool") or "promtool"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(root / "series.om"),
         str(root / "data")],
        check=True, capture_output=True,
    )  # fmt: skip
    server = PrometheusServer(root, free_port())  # scrapes nothing: only the blocks
    server.start()
    yield server.url, origin
    server.kill()


def readings(url: str, origin: float) -> dict[Key, list[tuple[float, float]]]:
    """The default requests query at every second of the scenarios, by served version."""

    async def main() -> list[tuple[float, dict[Key, float]]]:
        client = PrometheusClient(url, timeout_s=10.0)
        try:
            query = DEFAULT_QUERIES["requests"]
            return await client.query_range(query, origin + 40, origin + LENGTH_S, 1.0)
        finally:
            await client.aclose()

    by_key: dict[Key, list[tuple[float, float]]] = {}
    for t, values in asyncio.run(main()):
        for key, value in values.items():
            by_key.setdefault(key, []).append((t - origin, value))
    return by_key


def replicas(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The sampler's answer at each second: window, guard and `answer` as it runs them."""
    window = HorizontalWindow(20.0, rate_range(DEFAULT_QUERIES["requests"]))
    out = []
    for t, rate in points:
        window.add(t, 0.0, rate)
        out.append((t, answer(window, t, BOUNDS, 1.0, BASELINE_MS).value))
    return out


def unguarded_estimate(points: list[tuple[float, float]]) -> float:
    """The highest arrival estimate without the guard: what the glitch would have asked for."""
    estimate = ArrivalEstimate(rate_range(DEFAULT_QUERIES["requests"]) or 30.0)
    return max(estimate.add(t, rate) for t, rate in points)


def series(recorded: tuple[str, float], service: str) -> list[tuple[float, float]]:
    url, origin = recorded
    return readings(url, origin)[(NAMESPACE, service)]


STEADY = RPS * BASELINE_MS / 1000.0  # 10 replicas


@pytest.mark.parametrize("service", ["outlier-v1", "reset-v1"])
def test_one_bad_scrape_or_a_counter_reset_cannot_multiply_the_fleet(
    recorded: tuple[str, float], service: str
) -> None:
    points = series(recorded, service)
    # What Prometheus makes of it: the whole value counted as an increase, for a whole range.
    assert max(rate for _, rate in points) > 1000 * RPS
    assert unguarded_estimate(points) > 1000 * RPS
    answers = replicas(points)
    # At most 1.5x the level before the jump (a reset first dips the rate: Prometheus stops
    # extrapolating a counter at zero), and only while the bad point is in the range.
    assert STEADY < max(v for _, v in answers) <= JUMP_LIMIT * STEADY
    held = [t for t, v in answers if v > 1.02 * STEADY]
    assert held, "the glitch never reached the answer"
    assert max(held) - min(held) < 30 + 20  # it left the rate's range, then the window
    assert answers[-1][1] == pytest.approx(STEADY, rel=0.02)


def test_a_series_that_appears_twice_reads_as_the_doubling_it_claims(
    recorded: tuple[str, float],
) -> None:
    points = series(recorded, "twice-v1")
    answers = dict(replicas(points))
    appeared = EVENT_S + SCRAPE_S  # a new series has a rate from its second scrape
    # Its first scrape is a jump (the arrival estimate reads 1.75x): held at 1.5x.
    assert answers[appeared] == pytest.approx(JUMP_LIMIT * STEADY)
    # Then its rate keeps rising scrape after scrape, as a real doubling's does: in the summed
    # series nothing tells the two apart, and the answer follows the 2x the data claims — with
    # the arrival estimate's overshoot while the new series' rate extrapolates in (2.65x).
    assert max(answers.values()) == pytest.approx(2.65 * STEADY, rel=0.02)
    assert answers[LENGTH_S] == pytest.approx(2 * STEADY, rel=0.02)


def test_a_real_tenfold_step_is_confirmed_by_the_next_scrape(
    recorded: tuple[str, float],
) -> None:
    points = series(recorded, "step-v1")
    answers = dict(replicas(points))
    # The step's first scrape lands at EVENT_S + 5; one scrape later it is confirmed.
    reached = min(t for t, v in answers.items() if v >= 0.95 * 10 * STEADY)
    assert reached == EVENT_S + 2 * SCRAPE_S
    assert answers[EVENT_S + SCRAPE_S] == JUMP_LIMIT * STEADY  # the first scrape is held
    # The arrival estimate's own overshoot between scrapes (extrapolation), as without the guard.
    assert max(answers.values()) <= 1.2 * 10 * STEADY


def test_growth_within_the_limit_passes_and_idle_versions_wake_at_once() -> None:
    guard = JumpGuard(30.0)  # held jumps are accepted after 30 + 10 s
    assert [guard.add(t, v, v) for t, v in enumerate([0.0, 0.5, 300.0])] == [0.0, 0.5, 300.0]
    # Woken from idle at t=2: for 40 s a new series extrapolating in passes (x3 here).
    assert guard.add(3.0, 900.0, 900.0) == 900.0
    assert guard.add(42.0, 600.0, 600.0) == 600.0
    assert guard.add(43.0, 900.0, 900.0) == 900.0  # exactly 1.5x: passes
    assert guard.add(44.0, 4000.0, 4000.0) == 1350.0  # held at 1.5x
    assert guard.holding
    assert guard.add(45.0, 4000.0, 4000.0) == 1350.0  # flat: not confirmed
    assert guard.add(46.0, 5600.0, 5600.0) == 5600.0  # rose again by half the jump: confirmed
    assert not guard.holding
    assert guard.add(47.0, 20000.0, 20000.0) == 8400.0
    assert guard.add(87.0, 20000.0, 20000.0) == 20000.0  # held 40 s: a level, accepted


def answers_from(
    points: list[tuple[float, float]], start: int, limit: float = JUMP_LIMIT
) -> dict[float, float]:
    """The answers of a window fed from `points[start:]` on, as a process started then (and
    filled from the range query) feeds it, once its window and look-back are covered."""
    window = HorizontalWindow(20.0, rate_range(DEFAULT_QUERIES["requests"]), jump_limit=limit)
    first = points[start][0] + window.lookback_s + 20.0 - 1.0
    out = {}
    for t, rate in points[start:]:
        window.add(t, 0.0, rate)
        if t >= first:
            out[t] = answer(window, t, BOUNDS, 1.0, BASELINE_MS).value
    return out


@pytest.mark.parametrize("service", ["outlier-v1", "reset-v1", "step-v1", "twice-v1"])
def test_a_process_started_at_any_moment_answers_as_one_running_for_long(
    recorded: tuple[str, float], service: str
) -> None:
    """The guard is a function of the samples in its look-back, not of how long a process has
    watched: windows started before, during and after a held jump agree with one fed from the
    start at every instant they answer — in particular while the jump is held."""
    points = series(recorded, service)
    always = answers_from(points, 0)
    jump = next(i for i, (t, _) in enumerate(points) if t >= EVENT_S)
    unguarded = answers_from(points, 0, math.inf)
    assert any(always[t] < unguarded[t] for t in always), "nothing held: nothing to agree on"
    # A window answers once its window and look-back (20 + 272 s) are filled: started from
    # 300 s before the jump on, the first ones answer while it is held.
    for start in range(jump - 300, jump + 41, 7):
        late = answers_from(points, start)
        assert late, start
        assert late == {t: always[t] for t in late}, f"started at {points[start][0]}"


def sampler_answers(url: str, origin: float, service: str, seconds: range) -> dict[float, float]:
    """A real `Sampler` against the recorded Prometheus, started at `seconds[0]` (offsets from
    the scenarios' start) and ticked every second: its answer for `service` after each tick."""
    client = PrometheusClient(url, timeout_s=10.0)
    registry = Registry(rate_range(DEFAULT_QUERIES["requests"]))
    config = ScalerConfig(lag_s=0)
    sampler = Sampler(registry, client, config, Telemetry(), clock=lambda: origin + seconds[0])
    md = TriggerMetadata(
        endpoint=service.rsplit("-", 1)[0], served="v1", namespace=NAMESPACE, runtime="mlflow",
        concurrency_min=0, concurrency_max=100000, per_replica_min=1, per_replica_max=100,
        per_replica_initial=1, window_seconds=20, schedule=(),
        selectors=(("namespace", NAMESPACE), ("service", service)),
    ).to_metadata()  # fmt: skip
    entry = registry.lookup(NAMESPACE, service, md, origin + seconds[0])
    entry.vertical = replace(entry.vertical, latency_baseline_ms=BASELINE_MS)

    async def run() -> dict[float, float]:
        out = {}
        try:
            for second in seconds:
                await sampler.horizontal_tick(origin + second)
                assert entry.value is not None
                out[float(second)] = entry.value
        finally:
            await client.aclose()
        return out

    return asyncio.run(run())


def test_two_samplers_started_apart_agree_while_a_jump_is_held(
    recorded: tuple[str, float],
) -> None:
    """The sampler fills a new window with the guard's look-back: one started two minutes
    before the bad scrape and one started while it is held give the same answers, second by
    second (a window filled only for its 20 s would start at the bad level and pass it)."""
    url, origin = recorded
    early = sampler_answers(url, origin, "outlier-v1", range(EVENT_S - 120, EVENT_S + 60))
    late = sampler_answers(url, origin, "outlier-v1", range(EVENT_S + 15, EVENT_S + 60))
    assert early[EVENT_S + 15] == pytest.approx(JUMP_LIMIT * STEADY)  # held when `late` starts
    assert late == {t: early[t] for t in late}
