"""The simulated serving side: pods that take time to start, and a fluid model of the requests.

Requests are spread evenly over ready replicas (the gateway balances by least requests). Each
replica serves like a processor-sharing queue with `capacity` slots: up to `capacity` requests in
flight each take their service time; past it they share the bottleneck and each slows down by
in_flight / capacity, so the replica's throughput stays capacity / service_time. Between two
steps the in-flight count follows dN/dt = arrivals - min(N, slots) / S exactly (piecewise
exponential / linear), so a 1 s step is faithful even for a 15 ms model. A request that would
wait longer than the timeout, or find the replica's queue full, is rejected.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field


def advance(n0: float, arrival_rate: float, slots: float, service_s: float, dt: float) -> float:
    """In-flight requests after `dt` seconds, from `n0`, with `slots` served at a time."""
    lam = arrival_rate
    if slots <= 0:
        return n0 + lam * dt
    n, left = n0, dt
    if n > slots:  # saturated: the backlog changes linearly
        rate = lam - slots / service_s
        if rate >= 0 or (n - slots) >= -rate * left:
            return n + rate * left
        left -= (n - slots) / -rate
        n = slots
    steady = lam * service_s  # Little's law below saturation
    after = steady + (n - steady) * math.exp(-left / service_s)
    if after <= slots:
        return after
    # The exponential approach crosses the slots: linear growth from there on.
    crossing = service_s * math.log((steady - n) / (steady - slots))
    return slots + (lam - slots / service_s) * max(left - crossing, 0.0)


@dataclass
class Pods:
    """Pods of one Deployment, oldest first, each with the time it becomes Ready."""

    startup_s: float
    ready_at: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.ready_at)

    def ready(self, now: float) -> int:
        # Pods are created in time order with the same start-up time: ready_at is sorted.
        return bisect_right(self.ready_at, now)

    def ready_since(self, now: float, seconds: float) -> int:
        """Pods Ready for at least `seconds`."""
        return bisect_right(self.ready_at, now - seconds)

    def scale(self, now: float, replicas: int) -> None:
        """Set spec.replicas: new pods start now; removal takes the newest (not-ready) first,
        as the ReplicaSet controller ranks unready and younger pods for deletion first."""
        if replicas > len(self.ready_at):
            self.ready_at.extend([now + self.startup_s] * (replicas - len(self.ready_at)))
        elif replicas < len(self.ready_at):
            del self.ready_at[replicas:]
