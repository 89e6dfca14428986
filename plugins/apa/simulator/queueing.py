"""A replica's queue below and above its capacity: processor sharing over `capacity` slots.

A CPU-bound model server (one event loop and a thread pool sharing its cores) serves like
processor sharing with c slots: up to c requests run at full speed, more share the c slots
(each at c / n of full speed). With Poisson arrivals this is the birth-death chain with death
rate min(n, c) / S, and its in-flight distribution is insensitive to how service times are
distributed (a symmetric queue), so the profile's mean service time and capacity fix it. At
utilization rho = lambda S / c, with m = floor(c) and a = c rho:

    pi_k ~ a^k / k!              k <= m
    pi_k = pi_m rho^(k - m)      k >= m        (c may be fractional: a measured 1.26)

A request arriving sees pi (PASTA) and, with k others in flight, is slowed by
max(1, (k + 1) / c) for its stay: exact for short requests, a heavier tail than the real one for
long ones. For c = 1 this is M/G/1-PS: mean latency S / (1 - rho), queueing from low load on;
for large c requests wait only close to capacity (Erlang C).

Over time the mean in-flight count n follows the pointwise stationary fluid flow approximation
(PSFFA, Wang, Chen and Sen 1996): dn/dt = lambda - (c / S) rho(n), where rho(n) is the
utilization whose stationary mean in flight is n. Below capacity n settles at the stationary
mean; above it the backlog grows linearly, as a fluid queue; it drains at the full rate c / S.
One implicit Euler step per simulated second is stable however fast the replica relaxes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

LOG_BIN = 0.005
"""Width of a bin of ln(latency) and ln(slowdown): 0.5% resolution on the percentiles."""
RHO_GRID = np.concatenate([np.linspace(0.0, 0.9, 91)[:-1], 1.0 - np.geomspace(0.1, 1e-6, 241)])
"""Utilizations tabulated: 1% steps to 0.9, then log-spaced up to 1 - 1e-6."""
CAPACITY_STEP = 0.01
"""Tables are built per 1% of capacity (ln c rounded to this)."""
RHO_STEP = 0.005
"""Slowdown distributions are cached per step of -ln(1 - rho) of this size."""
TAIL = 1e-9
"""The geometric tail of in-flight counts is followed until this much mass is left."""


@dataclass(frozen=True)
class QueueTable:
    """The stationary queue of c slots at every utilization of RHO_GRID."""

    capacity: float
    rho: np.ndarray
    mean_in_flight: np.ndarray
    """L(rho): mean requests in flight (running + sharing)."""
    slowed: np.ndarray
    """P(an arriving request finds m = floor(c) or more in flight, so it is slowed)."""
    mean_factors: np.ndarray
    """E[max(1, (k + 1) / c)]: the mean slowdown of an arriving request."""
    _rho: list[float] = field(init=False, repr=False, compare=False)
    _mean: list[float] = field(init=False, repr=False, compare=False)
    _factor: list[float] = field(init=False, repr=False, compare=False)
    _totals: dict[float, list[float]] = field(init=False, repr=False, compare=False)

    @classmethod
    def build(cls, capacity: float) -> QueueTable:
        c = float(capacity)
        m = math.floor(c)
        rho = RHO_GRID[1:]
        a = c * rho
        # The Poisson-like head a^k / k! for k <= m, in logs, over a window around its peak.
        width = min(m + 1, math.ceil(12 * math.sqrt(c + 1)) + 13)
        low = np.clip(np.floor(np.minimum(a, m)) - width // 2, 0, max(0, m + 1 - width))
        k = low[:, None] + np.arange(width)[None, :]
        log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1.0, m + 2)))])
        log_terms = k * np.log(a)[:, None] - log_factorial[k.astype(np.int64)]
        peak = log_terms.max(axis=1)
        head = np.exp(log_terms - peak[:, None])
        head_mass = head.sum(axis=1)
        head_mean = (head * k).sum(axis=1)
        r = np.exp(m * np.log(a) - log_factorial[m] - peak)  # pi_m relative to the peak
        geo = rho / (1.0 - rho)
        norm = head_mass + r * geo  # states m+1, m+2, ... beyond the head
        mean = (head_mean + r * (m * geo + rho / (1.0 - rho) ** 2)) / norm
        pi_m = r / norm
        slowed = pi_m / (1.0 - rho)
        tail_factor = ((m + 1) / (1.0 - rho) + rho / (1.0 - rho) ** 2) / c
        factor = (1.0 - slowed) + pi_m * tail_factor
        zero = np.zeros(1)
        return cls(
            capacity=c,
            rho=RHO_GRID,
            mean_in_flight=np.concatenate([zero, mean]),
            slowed=np.concatenate([zero, np.minimum(slowed, 1.0)]),
            mean_factors=np.concatenate([np.ones(1), np.maximum(factor, 1.0)]),
        )

    def __post_init__(self) -> None:
        # Plain lists for the per-second lookups: bisect beats np.interp on one value.
        object.__setattr__(self, "_rho", self.rho.tolist())
        object.__setattr__(self, "_mean", self.mean_in_flight.tolist())
        object.__setattr__(self, "_factor", self.mean_factors.tolist())
        object.__setattr__(self, "_totals", {})

    def utilization(self, in_flight: float) -> float:
        """rho(n): the utilization whose stationary mean in flight is `in_flight` (1 beyond)."""
        if in_flight >= self._mean[-1]:
            return 1.0
        return _interp(in_flight, self._mean, self._rho)

    def steady(self, arrival_rate: float, service_s: float) -> float:
        """The stationary mean in flight at this arrival rate (the slots when saturated)."""
        rho = arrival_rate * service_s / self.capacity
        if rho >= self._rho[-1]:
            return self.capacity
        return _interp(rho, self._rho, self._mean)

    def step(self, n0: float, arrival_rate: float, service_s: float, dt: float) -> float:
        """n after `dt` seconds from `n0` (PSFFA, implicit Euler): n1 = n0 + dt (lambda -
        (c / S) rho(n1)), solved on the table (L(rho) + k rho is increasing in rho)."""
        drain = dt * self.capacity / service_s
        rhs = n0 + dt * arrival_rate
        total = self._totals.get(drain)
        if total is None:
            total = self._totals[drain] = (self.mean_in_flight + drain * self.rho).tolist()
        if rhs >= total[-1]:  # saturated: the backlog moves linearly
            return rhs - drain
        return rhs - drain * _interp(rhs, total, self._rho)

    def mean_factor(self, in_flight: float) -> float:
        """The mean slowdown of a request arriving while `in_flight` are in flight on average
        (beyond the table, a fluid backlog: in_flight / c)."""
        return self.state(in_flight)[1]

    def state(self, in_flight: float) -> tuple[float, float]:
        """(rho(n), mean slowdown) at a mean in-flight count, with one lookup."""
        xs = self._mean
        if in_flight >= xs[-1]:
            return 1.0, max(1.0, in_flight / self.capacity)
        i = bisect_right(xs, in_flight)
        if i <= 0:
            return self._rho[0], self._factor[0]
        f = (in_flight - xs[i - 1]) / (xs[i] - xs[i - 1])
        rho, factor = self._rho, self._factor
        return rho[i - 1] + (rho[i] - rho[i - 1]) * f, factor[i - 1] + (
            factor[i] - factor[i - 1]
        ) * f

    def slowdowns(self, rho: float, max_log_factor: float) -> tuple[np.ndarray, np.ndarray]:
        """(ln factor, probability) of an arriving request's slowdown at utilization `rho`,
        the factors above e^max_log_factor lumped at that bound."""
        slowed = 0.0 if rho <= 0 else float(np.interp(rho, self.rho, self.slowed))
        rho = min(rho, float(self.rho[-1]))
        m = math.floor(self.capacity)
        if slowed <= 0.0:
            return np.zeros(1), np.ones(1)
        # Beyond m the count is geometric: P(k = m + j | slowed) = (1 - rho) rho^j.
        most = max(1, math.ceil(math.log(TAIL) / math.log(rho))) if rho > 0 else 1
        top = math.exp(max_log_factor) * self.capacity - m - 1
        count = max(1, min(most, math.ceil(top) + 1))
        j = np.arange(count, dtype=float)
        probs = slowed * (1.0 - rho) * rho**j
        logs = np.log(np.maximum(1.0, (m + 1 + j) / self.capacity))
        probs[-1] += slowed * rho**count  # what lies beyond, lumped at the last factor
        return np.concatenate([[0.0], np.minimum(logs, max_log_factor)]), np.concatenate(
            [[1.0 - slowed], probs]
        )


def queue_table(capacity: float) -> QueueTable:
    """The table of the nearest 1% step of capacity."""
    return _table(round(math.log(capacity) / CAPACITY_STEP))


def utilization_key(rho: float) -> int:
    """The step of -ln(1 - rho) a utilization falls in (the slowdown histograms' key)."""
    return 0 if rho <= 0 else round(-math.log1p(-min(rho, 1.0 - 1e-6)) / RHO_STEP)


def capacity_key(capacity: float) -> int:
    return round(math.log(capacity) / CAPACITY_STEP)


@lru_cache(maxsize=4096)
def _table(key: int) -> QueueTable:
    # A pure function of one number, memoized: the same table whoever asks, no state.
    return QueueTable.build(math.exp(key * CAPACITY_STEP))


@lru_cache(maxsize=65536)
def slowdown_histogram(
    capacity_step: int, utilization_step: int, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """(bin index, probability) of ln slowdown in `bins` bins of LOG_BIN (unique indices, the
    last bin holding everything slower), for a capacity and utilization step (their keys)."""
    table = _table(capacity_step)
    rho = 1.0 - math.exp(-utilization_step * RHO_STEP)
    logs, probs = table.slowdowns(rho, (bins - 1) * LOG_BIN)
    index = np.minimum(np.rint(logs / LOG_BIN).astype(np.int64), bins - 1)
    summed = np.bincount(index, weights=probs)
    unique = np.nonzero(summed)[0]
    return unique, summed[unique]


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    i = bisect_right(xs, x)
    if i <= 0:
        return ys[0]
    if i >= len(xs):
        return ys[-1]
    x0, x1 = xs[i - 1], xs[i]
    return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - x0) / (x1 - x0)
