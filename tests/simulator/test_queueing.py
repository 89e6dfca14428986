"""The replica's queue (processor sharing over c slots) against closed forms: M/M/1-PS, Erlang C
for M/M/2 and M/M/3, the fluid limits of PSFFA, and the slowdown distribution it hands to the
latency percentiles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plugins.apa.simulator.queueing import (
    LOG_BIN,
    QueueTable,
    capacity_key,
    queue_table,
    slowdown_histogram,
    utilization_key,
)


def at(table: QueueTable, values: np.ndarray, rho: float) -> float:
    return float(np.interp(rho, table.rho, values))


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.95])
def test_one_slot_is_mm1_processor_sharing(rho: float) -> None:
    table = QueueTable.build(1.0)
    # M/M/1: L = rho / (1 - rho), P(wait) = rho; PS: mean latency S / (1 - rho), any service law.
    assert at(table, table.mean_in_flight, rho) == pytest.approx(rho / (1 - rho), rel=2e-3)
    assert at(table, table.slowed, rho) == pytest.approx(rho, rel=2e-3)
    assert at(table, table.mean_factors, rho) == pytest.approx(1 / (1 - rho), rel=2e-3)
    # From the mean in flight back to the utilization and the mean slowdown, in one lookup.
    assert table.state(rho / (1 - rho)) == pytest.approx((rho, 1 / (1 - rho)), rel=2e-3)


def test_integer_slots_give_erlang_c() -> None:
    two = QueueTable.build(2.0)
    for rho in (0.3, 0.6, 0.9):  # M/M/2: C = 2 rho^2 / (1 + rho), L = 2 rho / (1 - rho^2)
        assert at(two, two.slowed, rho) == pytest.approx(2 * rho**2 / (1 + rho), rel=2e-3)
        assert at(two, two.mean_in_flight, rho) == pytest.approx(2 * rho / (1 - rho**2), rel=2e-3)
    three = QueueTable.build(3.0)  # M/M/3 at a = 2 Erlangs: C = 0.4444 (textbook)
    assert at(three, three.slowed, 2 / 3) == pytest.approx(4 / 9, rel=1e-3)


def test_fractional_slots_lie_between_their_neighbours() -> None:
    one, between, two = (QueueTable.build(c) for c in (1.0, 1.5, 2.0))
    for load in (0.3, 0.6, 0.9):  # the same offered load a = lambda S in each
        values = [at(t, t.mean_in_flight, load / t.capacity) for t in (one, between, two)]
        assert values[0] > values[1] > values[2] > load


def test_many_slots_wait_only_close_to_capacity() -> None:
    table = QueueTable.build(5000.0)
    assert at(table, table.slowed, 0.9) < 1e-12
    assert at(table, table.mean_in_flight, 0.9) == pytest.approx(4500.0, rel=1e-6)
    assert 0.05 < at(table, table.slowed, 0.999) < 1.0  # Halfin-Whitt: ~1/sqrt(c) from 1


def test_psffa_settles_at_the_stationary_mean_and_moves_linearly_when_saturated() -> None:
    table = QueueTable.build(1.0)
    n = 0.0
    for _ in range(200):  # 50 rps x 10 ms on one slot: rho 0.5, L = 1
        n = table.step(n, 50.0, 0.010, 1.0)
    assert n == pytest.approx(1.0, rel=2e-3)
    assert table.steady(50.0, 0.010) == pytest.approx(1.0, rel=2e-3)
    # 300 rps against a drain of 100/s: about +200 per second; exactly, implicit Euler solves
    # n1 = 500 + 300 - 100 rho(n1) with rho(n) = n / (1 + n) (M/M/1's L inverted).
    grown = table.step(500.0, 300.0, 0.010, 1.0)
    assert grown == pytest.approx(800.0 - 100.0 * grown / (1 + grown), rel=1e-5)
    drained = table.step(500.0, 0.0, 0.010, 1.0)
    assert drained == pytest.approx(500.0 - 100.0 * drained / (1 + drained), rel=1e-5)
    assert table.utilization(table.steady(50.0, 0.010)) == pytest.approx(0.5, abs=1e-3)
    assert table.state(2e6) == (1.0, 2e6)  # past the table (L = 1e6): a fluid backlog, n / c


def test_the_slowdown_distribution_of_one_slot_is_geometric() -> None:
    # c = 1, rho = 0.5: an arrival finds k in flight with P (1 - rho) rho^k; slowdown k + 1.
    logs, probs = QueueTable.build(1.0).slowdowns(0.5, math.log(1000.0))
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    assert probs[0] == pytest.approx(0.5) and logs[0] == 0.0
    assert logs[1:4] == pytest.approx(np.log([2.0, 3.0, 4.0]))
    assert probs[1:4] == pytest.approx([0.25, 0.125, 0.0625])
    assert float((np.exp(logs) * probs).sum()) == pytest.approx(2.0, rel=1e-6)  # 1 / (1 - rho)


def test_histograms_come_per_step_of_capacity_and_utilization_and_sum_to_one() -> None:
    assert capacity_key(1.0) == 0 and queue_table(1.004) is queue_table(1.0)
    assert utilization_key(0.5) == utilization_key(0.5004) == round(math.log(2) / 0.005)
    index, probs = slowdown_histogram(capacity_key(1.0), utilization_key(0.5), 2000)
    assert len(set(index.tolist())) == len(index) and probs.sum() == pytest.approx(1.0)
    assert index[0] == 0 and probs[0] == pytest.approx(0.5, abs=2e-3)  # not slowed
    # The slowdown 2 (one other in flight) lands in bin ln 2 / LOG_BIN.
    assert round(math.log(2) / LOG_BIN) in index.tolist()
    # Everything slower than the last bin is kept in it (a timed-out request still counts).
    few, lumped = slowdown_histogram(capacity_key(1.0), utilization_key(0.99), 50)
    assert few[-1] == 49 and lumped.sum() == pytest.approx(1.0)
