"""The pure decision logic: exact expectations for the window, replicas, vertical and schedule."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from plugins.apa.decision import (
    FLEET_CHANGE,
    Answer,
    ArrivalEstimate,
    Bounds,
    ConcurrencyWindow,
    Decision,
    HorizontalWindow,
    Signals,
    VerticalConfig,
    VerticalState,
    aligned_instant,
    answer,
    decide,
    demand,
    replicas_needed,
    schedule_floor,
    vertical_boundary,
)
from plugins.apa.horizontal import BACKLOG_SETTLE_S
from plugins.apa.metadata import ScheduleFloor, TriggerMetadata

BOUNDS = Bounds(
    concurrency_min=2, concurrency_max=100, per_replica_min=2, per_replica_max=20,
    per_replica_initial=10,
)  # fmt: skip
CONFIG = VerticalConfig()


# --- horizontal ----------------------------------------------------------------------------


def test_window_keeps_the_max_of_the_last_window_seconds() -> None:
    window = ConcurrencyWindow(20.0)
    assert window.max(0.0) is None
    window.add(1.0, 5.0)
    window.add(2.0, 9.0)
    window.add(3.0, 4.0)
    assert window.max(3.0) == 9.0
    assert window.max(21.9) == 9.0  # the sample at t=2 is inside (21.9 - 20 < 2)
    assert window.max(22.0) == 4.0  # t=2 left the window, t=3 is still in
    assert window.max(23.0) is None  # nothing within 20 s: missing data, not zero
    window.add(30.0, 0.0)
    assert window.max(30.0) == 0.0


def test_window_rejects_samples_out_of_order() -> None:
    window = ConcurrencyWindow(5.0)
    window.add(2.0, 1.0)
    with pytest.raises(ValueError, match="older than the last one"):
        window.add(1.0, 1.0)


def test_window_is_a_sliding_max() -> None:
    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]
    window = ConcurrencyWindow(3.0)
    for t, value in enumerate(values):
        window.add(float(t), float(value))
        assert window.max(float(t)) == max(values[max(0, t - 2) : t + 1])


def test_window_stays_a_sliding_max_over_a_long_run_and_keeps_little() -> None:
    # Long enough for the consumed front of the sample array to be dropped many times; irregular
    # gaps (a tick repeated, a Prometheus outage) and runs that rise, fall and repeat a value.
    rng = random.Random(4)
    window = ConcurrencyWindow(20.0)
    samples: list[tuple[float, float]] = []
    t = 0.0
    for i in range(3000):
        t += rng.choice([0.0, 1.0, 1.0, 1.0, 2.0, 45.0])
        value = rng.choice([float(i % 97), float(-(i % 89)), 5.0, rng.random() * 100])
        window.add(t, value)
        samples.append((t, value))
        inside = [v for at, v in samples[-100:] if at > t - 20.0]
        assert window.max(t) == max(inside)
        # At most the window's samples (21 instants, a few repeated), never the whole run.
        assert len(window._samples) <= 2 * 64 + 2 * 60


def reference_estimate(
    samples: list[tuple[float, float]], range_s: float, span_s: float = 10.0
) -> float:
    """`ArrivalEstimate.add` for the last of `samples`, read off the whole history."""
    t, rate = samples[-1]
    lowest = min(r for at, r in samples if at >= t - range_s)
    horizon = t - min(span_s, range_s)
    earlier = [(at, r) for at, r in samples[:-1] if at <= horizon]
    if not earlier:
        return rate
    span = t - earlier[-1][0]
    before = earlier[-1][1]
    rise = rate - before
    excess = rise * range_s
    if rise > 0.05 * rate and excess * excess > 32.0 * span * max(before, 1.0 / span):
        return max(rate, lowest + excess / span)
    return rate


@pytest.mark.parametrize("range_s", [3.0, 30.0, 60.0])
def test_arrival_estimate_matches_the_whole_history_over_a_long_run(range_s: float) -> None:
    rng = random.Random(int(range_s))
    estimate = ArrivalEstimate(range_s=range_s)
    samples: list[tuple[float, float]] = []
    t = 0.0
    for i in range(1500):
        t += rng.choice([0.0, 1.0, 1.0, 1.0, 2.0, 5.0, 45.0])
        rate = rng.choice([3000.0, 30000.0, 4.5, 0.0, float(i), rng.expovariate(0.01)])
        samples.append((t, rate))
        # Only the last 200 samples can matter (range and span <= 60 s, times increase).
        assert estimate.add(t, rate) == reference_estimate(samples[-200:], range_s), i
    assert len(estimate._base) <= 2 * 64 + 2 * 62 and len(estimate._lag) <= 2 * 64 + 2 * 12


def test_replicas_needed_clamps_and_divides() -> None:
    assert replicas_needed(35.0, BOUNDS, 10.0) == 3.5
    assert replicas_needed(0.0, BOUNDS, 10.0) == 0.2  # provisioned floor: concurrency_min 2
    assert replicas_needed(500.0, BOUNDS, 10.0) == 10.0  # ceiling
    assert replicas_needed(5.0, BOUNDS, 10.0, floor=30.0) == 3.0  # schedule floor
    assert replicas_needed(5.0, BOUNDS, 10.0, floor=300.0) == 10.0  # ceiling wins over a floor
    zero_min = replace(BOUNDS, concurrency_min=0.0)
    assert replicas_needed(0.0, zero_min, 10.0) == 0.0


def test_missing_data_never_scales_down() -> None:
    assert replicas_needed(None, BOUNDS, 10.0, previous=7.0) == 7.0
    assert replicas_needed(None, BOUNDS, 10.0) == 0.2  # nothing known: the floor
    assert replicas_needed(None, BOUNDS, 10.0, floor=90.0, previous=7.0) == 9.0  # floor opened
    zero_min = replace(BOUNDS, concurrency_min=0.0)
    assert replicas_needed(None, zero_min, 10.0, previous=3.0) == 3.0


def test_replicas_needed_rejects_a_non_positive_target() -> None:
    with pytest.raises(ValueError, match="target must be > 0"):
        replicas_needed(1.0, BOUNDS, 0.0)


def test_answer_sizes_on_healthy_demand_and_wakes_on_gateway_requests() -> None:
    window = HorizontalWindow(4.0)
    window.add(1.0, 0.0, 0.0)
    zero_min = replace(BOUNDS, concurrency_min=0)
    assert answer(window, 1.0, zero_min, 10.0, 100.0) == Answer(0.0, False)
    # No pod: no in-flight series (0), but the gateway counts 200 requests/s: active.
    window.add(2.0, 0.0, 200.0)
    assert answer(window, 2.0, zero_min, 10.0, 100.0) == Answer(2.0, True)  # 200 x 0.1 s / 10
    # Flooded: 90 in flight measured for 300 requests/s x 100 ms = 30 of demand; the backlog
    # counts up to 1.5x the demand (45), not 90 (no arrival estimate: 1.5x today's demand).
    window.add(3.0, 90.0, 300.0)
    assert answer(window, 3.0, zero_min, 10.0, 100.0) == Answer(4.5, True)
    assert demand(window, 3.0, 100.0) == 45.0
    # No healthy latency learned yet: Little's law on the measured latency.
    assert answer(window, 3.0, zero_min, 10.0, None) == Answer(9.0, True)
    # The window empties: missing data holds the previous answer, raised by floors only.
    assert answer(None, None, zero_min, 10.0, previous=Answer(4.5, True)) == Answer(4.5, True)
    assert answer(None, None, BOUNDS, 1.0, floor=30.0, previous=Answer(4.5, False)) == Answer(
        30.0, True
    )
    assert demand(HorizontalWindow(4.0), 3.0, 100.0) is None


def test_a_backlog_counts_on_top_of_the_demand_that_has_lasted() -> None:
    """With an arrival estimate, the backlog allowance is half the demand of the last
    BACKLOG_SETTLE_S (its lowest arrivals x healthy latency) on top of today's: at steady
    traffic 1.5x, as before; while traffic rises, half of the level the span still holds (a
    rise's own backlog is no sign of a target too high: the answer already sizes the new
    arrivals). Without an estimate the rate lags a rise and the backlog is the only sign of
    what it does not show yet: 1.5x today's demand at once."""
    assert BACKLOG_SETTLE_S == 180.0
    window, bare = HorizontalWindow(20.0, rate_range_s=30.0), HorizontalWindow(20.0)

    def rate(t: int) -> float:  # 100 requests/s, +0.125/s from 200 s to 600 s (150): no trend
        return 100.0 + 0.125 * min(max(t - 200, 0), 400)

    expected = {
        # (with the estimate, without) for 400 in flight measured (flooded), healthy 1 s.
        200: (150.0, 150.0),  # steady: 100 of demand, counted up to 1.5x
        500: (195.0625, 206.25),  # rising: 137.5 + half the span's lowest (t > 320: 115.125)
        778: (224.9375, 225.0),  # the span (t > 598) still holds 599's 149.875
        779: (225.0, 225.0),  # 150 requests/s for the whole span: settled, 1.5x
    }
    for t in range(0, 780):
        window.add(float(t), 400.0, rate(t))
        bare.add(float(t), 400.0, rate(t))
        if t in expected:
            assert (demand(window, t, 1000.0), demand(bare, t, 1000.0)) == expected[t], t
    assert answer(window, 779.0, BOUNDS, 10.0, 1000.0) == Answer(10.0, True)  # the ceiling
    assert window.settled_arrivals(779.0) == 150.0
    assert bare.settled_arrivals(779.0) is None


def test_a_window_started_late_answers_as_one_fed_from_the_start() -> None:
    """`lookback_s` covers the settled span: a window filled from that much history before its
    window gives the same answers as one fed all along, backlog included."""
    rng = random.Random(7)
    points = []
    rate = 100.0
    for t in range(0, 1500):
        if t % 300 == 150:
            rate *= 1.4 if t < 900 else 0.6
        arrivals = rate + rng.uniform(-3.0, 3.0)
        in_flight = arrivals * 0.1 * (2.0 if t % 300 > 200 else 1.0)  # floods for 100 s
        points.append((float(t), in_flight, arrivals))

    def answers(start: int) -> dict[float, float]:
        window = HorizontalWindow(20.0, 30.0)
        first = start + window.lookback_s + 20.0 - 1.0
        out = {}
        for t, in_flight, arrivals in points[start:]:
            window.add(t, in_flight, arrivals)
            if t >= first:
                out[t] = answer(window, t, BOUNDS, 1.0, 100.0).value
        return out

    always = answers(0)
    assert HorizontalWindow(20.0, 30.0).lookback_s == 272.0
    assert len(set(always.values())) > 100
    for start in range(100, 1100, 97):
        late = answers(start)
        assert late, start
        assert late == {t: always[t] for t in late}, start


def scraped_rate(arrivals: list[float], scrape_s: int = 5, range_s: int = 30) -> list[float]:
    """rate(requests[range_s]) evaluated every second of `arrivals` (requests in each second)
    from counters scraped every `scrape_s` s: an instant sees the scrapes up to it."""
    cumulative = [0.0]
    for count in arrivals:
        cumulative.append(cumulative[-1] + count)
    rates = []
    for t in range(len(arrivals)):
        end = (t // scrape_s) * scrape_s
        start = max(0, end - range_s)
        rates.append((cumulative[end] - cumulative[start]) / range_s if end > start else 0.0)
    return rates


def test_arrival_estimate_reads_a_step_through_the_rate_range() -> None:
    # 3,000 rps for 60 s, then 30,000. rate()[30s] needs the whole range to show the step;
    # the estimate reads 30,000 once 10 s of it are scraped (the rise over the last 10 s x 30 / 10
    # + the range's lowest rate), and never goes above the step or below the rate.
    arrivals = [3000.0] * 60 + [30000.0] * 60
    estimate = ArrivalEstimate()
    rows = [(rate, estimate.add(float(t), rate)) for t, rate in enumerate(scraped_rate(arrivals))]
    assert rows[59] == (3000.0, 3000.0)  # flat: the rate itself
    assert rows[65] == (7500.0, 16500.0)  # 5 s scraped: the mean of the last 10 s
    assert rows[70] == (12000.0, 30000.0)  # the rate shows 40% of the step, the estimate all
    assert rows[85] == (25500.0, 30000.0)
    assert all(rate <= value <= 30000.0 for rate, value in rows)
    assert rows[119] == (30000.0, 30000.0)  # the step has filled the range: the rate again


def test_arrival_estimate_ignores_noise_and_falls() -> None:
    # 4.5 rps (a 70B LLM): a rise of 0.6 rps over 10 s is 18 requests, within 4 standard
    # deviations of Poisson noise on ~90: no trend. A fall is never extrapolated.
    estimate = ArrivalEstimate()
    for t in range(40):
        assert estimate.add(float(t), 4.5) == 4.5
    assert estimate.add(40.0, 4.5) == 4.5
    assert estimate.add(50.0, 5.1) == 5.1
    assert estimate.add(60.0, 3.0) == 3.0
    # 45 rps where 4.5 was: 40.5 x 30 = 1215 more requests than left the range, far out of noise.
    assert estimate.add(70.0, 45.0) == pytest.approx(3.0 + 42.0 * 30 / 10)


def test_arrival_estimate_with_a_range_shorter_than_its_span_is_the_rate() -> None:
    # A 3 s range (the scaler's integration tests) follows a step within 3 s by itself: the
    # estimate never reads above the rate, so a new series is not over-read.
    estimate = ArrivalEstimate(range_s=3.0)
    rates = scraped_rate([0.0] * 20 + [150.0] * 20, scrape_s=1, range_s=3)
    assert [estimate.add(float(t), rate) for t, rate in enumerate(rates)] == rates


@pytest.mark.parametrize("range_s", [3, 10, 30, 60])
@pytest.mark.parametrize("scrape_s", [1, 5, 10])
def test_arrival_estimate_never_reads_past_a_step(range_s: int, scrape_s: int) -> None:
    # Steps up and down (a new series, a 10x spike, a fall): between the rate and the top of
    # the step whatever the range, for scrape intervals up to the 10 s span.
    arrivals = [0.0] * 30 + [300.0] * 90 + [3000.0] * 120 + [100.0] * 120
    estimate = ArrivalEstimate(range_s=float(range_s))
    top = 0.0
    for t, rate in enumerate(scraped_rate(arrivals, scrape_s, range_s)):
        top = max(top, arrivals[max(0, t - 1)])
        value = estimate.add(float(t), rate)
        assert rate <= value <= top * 1.000001, (t, rate, value)


def test_answer_sizes_a_step_before_the_rate_shows_it() -> None:
    rates = scraped_rate([3000.0] * 60 + [30000.0] * 15)
    wide = replace(BOUNDS, concurrency_max=1000.0)
    window, bare = HorizontalWindow(20.0, rate_range_s=30.0), HorizontalWindow(20.0)
    for t, rate in enumerate(rates):
        window.add(float(t), rate * 0.015, rate)
        bare.add(float(t), rate * 0.015, rate)
    # 30,000 rps x 15 ms = 450 in flight / 10 per replica, where the rate (12,000) says 18.
    assert answer(window, 74.0, BOUNDS, 10.0, 15.0) == Answer(10.0, True)  # the ceiling (100)
    assert answer(window, 74.0, wide, 10.0, 15.0).value == pytest.approx(45.0)
    # Without the query's range there is no estimate: the rate itself (x 1.5 backlog at most).
    assert answer(bare, 74.0, wide, 10.0, 15.0).value == pytest.approx(18.0)


def test_aligned_instants_and_vertical_boundaries() -> None:
    assert aligned_instant(1000.05, 2.0) == 998.0
    assert aligned_instant(1000.99, 2.0) == 998.0
    assert aligned_instant(1001.0, 2.0) == 999.0
    assert [t for t in range(55, 125) if vertical_boundary(t, 30.0, 7.0)] == [67, 97]


def test_bounds_from_metadata() -> None:
    m = TriggerMetadata("e", "v1", "ns", "vllm", 0, 64, 1, 32, 8)
    assert Bounds.from_metadata(m) == Bounds(0, 64, 1, 32, 8)


# --- vertical ------------------------------------------------------------------------------


def run(
    state: VerticalState,
    *samples: Signals,
    bounds: Bounds = BOUNDS,
    config: VerticalConfig = CONFIG,
) -> Decision:
    return decide(state, samples, bounds, config, now=samples[-1].t if samples else 0.0)


def hot(t: float, cpu: float = 1.0) -> Signals:
    return Signals(t=t, replicas=3, concurrency_per_replica=10, cpu_utilization=cpu)


def calm(t: float) -> Signals:
    return Signals(t=t, replicas=3, concurrency_per_replica=5, cpu_utilization=0.5)


def saturated(t: float, cpu: float = 0.5) -> Signals:
    return Signals(t=t, replicas=3, concurrency_per_replica=9.5, cpu_utilization=cpu)


def test_initial_state_is_the_clamped_initial_target() -> None:
    assert VerticalState.initial(BOUNDS).target == 10.0
    assert VerticalState.initial(replace(BOUNDS, per_replica_initial=50)).target == 20.0


def test_cpu_stress_decreases_after_hysteresis() -> None:
    first = run(VerticalState.initial(BOUNDS), hot(30))
    assert (first.action, first.target, first.code) == ("hold", 10.0, "pending")
    assert first.reason == "hold target 10: stress not yet stable (cpu 1/2)"
    second = run(first.state, hot(60))
    assert (second.action, second.target, second.code) == ("decrease", 9.0, "stress_cpu")
    assert second.reason == "decrease target 10 -> 9: cpu 1 > 0.9 for 2 samples"
    assert second.state.target == 9.0
    assert second.state.stress_streaks == (("cpu", 2),)  # the streak goes on...
    assert second.state.decided_at == 60
    third = run(second.state, hot(90))
    # ...and is judged against the load: 10 in flight x 0.9 / 1.0 = 9 is what the target asks.
    assert (third.action, third.code) == ("hold", "overloaded")


def test_decrease_is_capped_per_decision() -> None:
    decision = run(VerticalState.initial(BOUNDS), hot(30, cpu=3.0), hot(60, cpu=3.0))
    assert (decision.action, decision.target) == ("decrease", 7.0)  # -30 %, not -72 %


def test_interrupted_stress_does_not_count() -> None:
    state = VerticalState.initial(BOUNDS)
    for sample in (hot(30), calm(60), hot(90)):
        decision = run(state, sample)
        state = decision.state
        assert decision.action == "hold"
    assert state.streak("cpu") == 1


def test_missing_value_keeps_the_streak() -> None:
    state = run(VerticalState.initial(BOUNDS), hot(30)).state
    gap = Signals(t=60, replicas=3, concurrency_per_replica=10, cpu_utilization=None)
    state = run(state, gap).state
    assert state.streak("cpu") == 1
    assert run(state, hot(90)).action == "decrease"


def test_decrease_stops_at_per_replica_min() -> None:
    state = VerticalState(target=2.5)

    def busy(t: float) -> Signals:
        return Signals(t=t, replicas=3, concurrency_per_replica=2.5, cpu_utilization=3.0)

    decision = run(state, busy(30), busy(60))
    assert decision.target == 2.0
    held = run(decision.state, busy(90), busy(120))
    assert (held.action, held.target) == ("hold", 2.0)
    assert held.reason == "hold target 2: stress at per-replica minimum (cpu 4/2)"


def test_stress_while_flooded_above_the_target_holds_it() -> None:
    # Too few replicas (the horizontal axis is catching up): 30 in flight per replica with a
    # target of 10. Every stress signal fires, but 30 x 0.9 / 1.0 = 27 >= 10: the target is
    # not what is wrong, so it holds, and the streak stays for when the load falls back.
    flooded = Signals(t=30, replicas=3, concurrency_per_replica=30, cpu_utilization=1.0)
    decision = run(VerticalState.initial(BOUNDS), flooded, replace(flooded, t=60))
    assert (decision.action, decision.target, decision.code) == ("hold", 10.0, "overloaded")
    assert decision.reason == (
        "hold target 10: stress at 30 in flight per replica, above what the target asks: "
        "too few replicas, not too high a target"
    )
    assert decision.state.streak("cpu") == 2
    # Replicas caught up (10 in flight) and the CPU is still hot: now the target is too high.
    caught_up = run(decision.state, replace(flooded, t=90, concurrency_per_replica=10))
    assert (caught_up.action, caught_up.target) == ("decrease", 9.0)


def test_stress_at_the_concurrency_ceiling_with_no_baseline_takes_the_quick_step() -> None:
    # 10 replicas x target 10 = concurrency.max 100: no more replicas are coming, so 30 in
    # flight per replica is the target's fault, not a lag. No healthy latency was ever seen, so
    # the saturated CPU (0.9 / 1.0) cannot say by how much: -30 % a decision, not -10 %.
    flooded = Signals(t=30, replicas=10, concurrency_per_replica=30, cpu_utilization=1.0)
    decision = run(VerticalState.initial(BOUNDS), flooded, replace(flooded, t=60))
    assert (decision.action, decision.target, decision.code) == ("decrease", 7.0, "stress_cpu")
    assert decision.reason == (
        "decrease target 10 -> 7: cpu 1 > 0.9 at the concurrency ceiling, no healthy latency "
        "seen yet for 2 samples"
    )
    # One replica under the ceiling (9 x 10 = 90 < 95): the horizontal axis can still add, so
    # the same stress is a lag and the target holds.
    below = replace(flooded, replicas=9)
    held = run(VerticalState.initial(BOUNDS), below, replace(below, t=60))
    assert (held.action, held.target, held.code) == ("hold", 10.0, "overloaded")
    # With a healthy latency known, latency's own figure (Little's law) decides, as before.
    known = VerticalState(target=10.0, latency_baseline_ms=100.0)
    slow = replace(flooded, latency_ms=1000.0)
    by_latency = run(known, slow, replace(slow, t=60))
    assert (by_latency.action, by_latency.target) == ("decrease", 7.0)
    assert "at the concurrency ceiling" not in by_latency.reason


def test_flooded_replicas_show_their_capacity_through_latency() -> None:
    # Flooded: 60 in flight per replica at 10x the healthy 100 ms latency. The throughput it
    # serves, at the healthy latency, is 6 in flight: above the target of 5 it holds, below
    # the target of 10 the target comes down (capped at -30 %), whatever the backlog.
    state = VerticalState(target=5.0, latency_baseline_ms=100.0)
    flooded = Signals(t=1, replicas=2, concurrency_per_replica=60, latency_ms=1000)
    held = run(state, flooded, replace(flooded, t=2))
    assert (held.action, held.code) == ("hold", "overloaded")
    state = VerticalState(target=10.0, latency_baseline_ms=100.0)
    lowered = run(state, flooded, replace(flooded, t=2))
    assert (lowered.action, lowered.target) == ("decrease", 7.0)
    lowered = run(
        VerticalState(target=7.0, latency_baseline_ms=100.0), flooded, replace(flooded, t=2)
    )
    assert (lowered.action, lowered.target) == ("decrease", pytest.approx(6.0))


def test_latency_while_the_fleet_changes_says_nothing_about_the_target() -> None:
    # The fleet tripled since the last sample (8 -> 24 ready): the 30 s rates still carry the
    # backlog the 8 replicas built, divided by 24. Latency and queue streaks hold (neither
    # extended nor broken) and the baseline does not learn from it; a steady fleet decides.
    state = VerticalState(target=10.0, latency_baseline_ms=100.0, replicas=8)
    grown = Signals(
        t=30, replicas=24, concurrency_per_replica=4, latency_ms=1000, queue_per_replica=5
    )
    decision = run(state, grown)
    assert (decision.action, decision.code) == ("hold", "steady")
    assert decision.state.replicas == 24
    assert decision.state.latency_baseline_ms == 100.0
    assert decision.state.stress_streaks == ()
    assert FLEET_CHANGE == 0.5
    steady = run(decision.state, replace(grown, t=60), replace(grown, t=90))
    assert (steady.action, steady.code) == ("decrease", "stress_latency")
    # +50% exactly is not a change of fleet; a missing replica count never is.
    assert (
        run(VerticalState(10.0, latency_baseline_ms=100.0, replicas=16), grown).state.streak(
            "latency"
        )
        == 1
    )
    assert run(VerticalState(10.0, latency_baseline_ms=100.0), grown).state.streak("latency") == 1


def test_a_growing_queue_is_judged_by_the_throughput_served() -> None:
    # vLLM flooded: the waiting gauge (280 now) has outgrown the window's mean in flight (300),
    # but the replicas serve 300 x 100 / 1000 = 30 in flight at the healthy latency: above the
    # target of 20 that is too few replicas, not too high a target.
    flooded = Signals(
        t=1, replicas=2, concurrency_per_replica=300, latency_ms=1000, queue_per_replica=280
    )
    state = VerticalState(target=20.0, latency_baseline_ms=100.0)
    held = run(state, flooded, replace(flooded, t=2))
    assert (held.action, held.code) == ("hold", "overloaded")
    # Without a latency the queue alone decides: 300 - 290 = 10 run, a target of 12 is too high.
    blind = replace(flooded, latency_ms=None, queue_per_replica=290)
    lowered = run(VerticalState(target=12.0), blind, replace(blind, t=2))
    assert (lowered.action, lowered.target) == ("decrease", 10.0)


def test_a_decrease_is_bounded_by_the_load_it_was_seen_at() -> None:
    # 11 in flight per replica (above the target of 10) at CPU 1.0: a replica takes 9.9.
    sample = Signals(t=1, replicas=3, concurrency_per_replica=11, cpu_utilization=1.0)
    decision = run(VerticalState.initial(BOUNDS), sample, replace(sample, t=2))
    assert (decision.action, decision.target) == ("decrease", pytest.approx(9.9))
    # No load figure at all: judged against the target, as before.
    blind = Signals(t=1, cpu_utilization=1.0)
    decision = run(VerticalState.initial(BOUNDS), blind, replace(blind, t=2))
    assert (decision.action, decision.target) == ("decrease", 9.0)


def test_latency_against_learned_baseline() -> None:
    state = VerticalState.initial(BOUNDS)

    def lat(t: float, ms: float) -> Signals:
        return Signals(t=t, replicas=2, concurrency_per_replica=5, latency_ms=ms)

    state = run(state, lat(1, 100), lat(2, 110)).state
    assert state.latency_baseline_ms == pytest.approx(101.0)  # 100 + 0.1 x (110 - 100)
    decision = run(state, lat(3, 202), lat(4, 202))
    assert (decision.action, decision.code) == ("decrease", "stress_latency")
    # Slow at 5 in flight: a replica takes 5 x 101 / 202 = 2.5; the step is capped at -30 %.
    assert decision.target == pytest.approx(7.0)
    assert decision.state.latency_baseline_ms == pytest.approx(101.0)  # stress never teaches
    assert (
        decision.reason
        == "decrease target 10 -> 7: latency 202 ms > 1.5 x baseline 101 ms for 2 samples"
    )


def test_queue_building_decreases_quickly() -> None:
    queued = Signals(t=1, replicas=2, concurrency_per_replica=12, queue_per_replica=3)
    decision = run(VerticalState.initial(BOUNDS), queued, replace(queued, t=2))
    # 12 in flight of which 3 wait: a replica runs 9 without a queue.
    assert (decision.action, decision.code) == ("decrease", "stress_queue")
    assert decision.target == pytest.approx(9.0)


def test_worst_metric_names_the_code_and_all_are_reported() -> None:
    sample = Signals(t=1, concurrency_per_replica=10, cpu_utilization=1.0, memory_utilization=0.95)
    decision = run(VerticalState.initial(BOUNDS), sample, replace(sample, t=2))
    assert decision.code == "stress_cpu"  # 0.9 < 0.947
    assert decision.reason == (
        "decrease target 10 -> 9: cpu 1 > 0.9, memory 0.95 > 0.9 for 2 samples"
    )


def test_no_samples_hold_with_reason() -> None:
    decision = decide(VerticalState.initial(BOUNDS), (), BOUNDS, CONFIG, now=30.0)
    assert (decision.action, decision.code, decision.reason) == (
        "hold",
        "no_data",
        "hold target 10: no data",
    )


def test_changed_bounds_move_the_target_inside() -> None:
    narrowed = replace(BOUNDS, per_replica_max=6)
    decision = run(VerticalState(target=10.0), calm(1), bounds=narrowed)
    assert (decision.action, decision.target, decision.code) == ("decrease", 6.0, "bounds")
    assert decision.reason == "target 10 moved into per-replica bounds 2..6"


def test_decide_is_deterministic() -> None:
    samples = [hot(1), saturated(2), calm(3), hot(4), hot(5)]
    a = decide(VerticalState.initial(BOUNDS), samples, BOUNDS, CONFIG, 5.0)
    b = decide(VerticalState.initial(BOUNDS), samples, BOUNDS, CONFIG, 5.0)
    assert a == b


# --- schedule ------------------------------------------------------------------------------

OFFICE = ScheduleFloor("0 8 * * 1-5", "0 18 * * 1-5", "Europe/Berlin", 20.0)


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2026, 3, 27, 6, 59), 0.0),  # Fri 07:59 CET
        (at(2026, 3, 27, 7, 0), 20.0),  # Fri 08:00 CET
        (at(2026, 3, 27, 16, 59), 20.0),  # Fri 17:59 CET
        (at(2026, 3, 27, 17, 0), 0.0),  # Fri 18:00 CET
        (at(2026, 3, 28, 9, 0), 0.0),  # Saturday
        (at(2026, 3, 30, 5, 59), 0.0),  # Mon 07:59 CEST (after spring forward)
        (at(2026, 3, 30, 6, 0), 20.0),  # Mon 08:00 CEST
        (at(2026, 3, 30, 15, 59), 20.0),
        (at(2026, 3, 30, 16, 0), 0.0),  # Mon 18:00 CEST
        (at(2026, 10, 26, 6, 59), 0.0),  # Mon 07:59 CET (after fall back)
        (at(2026, 10, 26, 7, 0), 20.0),
    ],
)
def test_schedule_follows_local_time_across_dst(now: datetime, expected: float) -> None:
    assert schedule_floor((OFFICE,), now) == expected


def test_start_in_the_spring_gap_fires_after_the_gap() -> None:
    night = ScheduleFloor("30 2 * * *", "30 3 * * *", "Europe/Berlin", 5.0)
    # 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist, the window opens at 03:00 CEST.
    assert schedule_floor((night,), at(2026, 3, 29, 0, 59)) == 0.0  # 01:59 CET
    assert schedule_floor((night,), at(2026, 3, 29, 1, 0)) == 5.0  # 03:00 CEST
    assert schedule_floor((night,), at(2026, 3, 29, 1, 29)) == 5.0  # 03:29 CEST
    assert schedule_floor((night,), at(2026, 3, 29, 1, 30)) == 0.0  # 03:30 CEST
    assert schedule_floor((night,), at(2026, 3, 30, 0, 30)) == 5.0  # next day 02:30 CEST


def test_repeated_autumn_hour_opens_once() -> None:
    night = ScheduleFloor("30 2 * * *", "0 3 * * *", "Europe/Berlin", 5.0)
    # 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice; the window opens at the first
    # (00:30 UTC) and closes at 03:00 CET (02:00 UTC), spanning the repeated hour.
    assert schedule_floor((night,), at(2026, 10, 25, 0, 29)) == 0.0
    assert schedule_floor((night,), at(2026, 10, 25, 0, 30)) == 5.0
    assert schedule_floor((night,), at(2026, 10, 25, 1, 15)) == 5.0  # 02:15 CET, second pass
    assert schedule_floor((night,), at(2026, 10, 25, 1, 59)) == 5.0
    assert schedule_floor((night,), at(2026, 10, 25, 2, 0)) == 0.0


def test_highest_open_window_wins_and_naive_time_is_refused() -> None:
    always = ScheduleFloor("0 0 * * *", "0 0 1 1 *", "UTC", 3.0)
    assert schedule_floor((always, OFFICE), at(2026, 3, 27, 9, 0)) == 20.0
    assert schedule_floor((always, OFFICE), at(2026, 3, 28, 9, 0)) == 3.0
    assert schedule_floor((), at(2026, 3, 28, 9, 0)) == 0.0
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule_floor((OFFICE,), datetime(2026, 3, 27, 9, 0))
