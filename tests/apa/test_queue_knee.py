"""The latency knee read through a queue: what one replica takes, from the latency it shows.

The exact cases are M/M/s queues (Erlang C, the birth-death chain the simulator tabulates in
plugins/apa/simulator/queueing.py), so each figure can be checked by hand or against the table.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.apa.capacity import knee_estimate, queue_wait
from plugins.apa.simulator.queueing import QueueTable


def test_one_slot_at_half_load_waits_one_service_time() -> None:
    # M/M/1 at rho 0.5: one request in flight on average, latency twice the service time.
    assert queue_wait(0.5, 1.0) == pytest.approx(1.0)
    assert knee_estimate(1.0, 20.0, 10.0, replicas=1.0) == pytest.approx(1.0, rel=1e-6)


def test_a_queueing_replica_is_not_read_as_saturated() -> None:
    # Seen in the zoo (CPU ensemble, one slot, 14 replicas): 1.187 in flight per replica at
    # 1.351x the baseline. Little's law alone said 0.879 a replica (the slots busy); the queue
    # of 14 one-slot replicas at that load explains the latency with about one slot each.
    busy = 1.187 / 1.351
    assert busy == pytest.approx(0.879, abs=1e-3)
    assert knee_estimate(1.187, 1.351 * 120.0, 120.0, replicas=14.0) == pytest.approx(
        0.995, abs=0.001
    )


def test_saturated_replicas_take_what_they_serve() -> None:
    # A backlog 20x the service time: the slots busy are (about) the capacity, the more so the
    # larger the fleet (one replica of two slots waits 19 service times at rho 0.975).
    estimates = [knee_estimate(40.0, 2000.0, 100.0, replicas) for replicas in (1.0, 4.0, 100.0)]
    assert estimates == pytest.approx([2.0507, 2.0129, 2.0005], abs=1e-4)


def test_no_wait_bounds_nothing_and_no_load_takes_nothing() -> None:
    assert knee_estimate(5.0, 100.0, 100.0) == math.inf
    assert knee_estimate(5.0, 90.0, 100.0) == math.inf
    assert knee_estimate(0.0, 150.0, 100.0) == 0.0
    assert knee_estimate(5.0, 1.0, 0.0) == 0.0  # a zero baseline (an idle scrape) says nothing
    assert queue_wait(0.0, 3.0) == 0.0
    assert queue_wait(1.0, 3.0) == math.inf


@pytest.mark.parametrize("slots", [1, 2, 3, 12, 48, 300])
@pytest.mark.parametrize("rho", [0.5, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("replicas", [1, 4])
def test_the_inversion_recovers_the_slots_of_an_exact_queue(
    slots: int, rho: float, replicas: int
) -> None:
    # The fleet as one queue of replicas x slots, at utilization rho, service time 1 s.
    servers = slots * replicas
    in_flight = float(QueueTable.build(servers).steady(rho * servers, 1.0))
    latency = in_flight / (rho * servers)  # Little's law, in service times
    estimate = knee_estimate(in_flight / replicas, latency * 1000.0, 1000.0, replicas)
    if latency >= 1.2:  # past the knee as the rule reads it (latency_ok_factor)
        assert estimate == pytest.approx(slots, rel=0.03)
    elif latency >= 1.1:
        assert estimate == pytest.approx(slots, rel=0.05)


@given(st.floats(0.01, 1e4), st.floats(1.001, 1e3), st.floats(1.0, 1e3), st.floats(0.0, 1e3))
def test_the_estimate_is_at_least_the_busy_slots_and_falls_as_latency_rises(
    load: float, ratio: float, baseline: float, replicas: float
) -> None:
    estimate = knee_estimate(load, baseline * ratio, baseline, replicas)
    busy = load / ratio
    assert busy * (1 - 1e-9) <= estimate <= busy * 64.0 * (1 + 1e-9)
    worse = knee_estimate(load, baseline * ratio * 1.5, baseline, replicas)
    assert worse <= estimate * (1 + 1e-9)
