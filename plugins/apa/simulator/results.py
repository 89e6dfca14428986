"""From per-step records to the figures users compare: cost, latency, rejections, reaction, thrash.

Latency: a request's latency is its own service time (log-normal with the profile's mean and
spread) times the slowdown it meets: the number in flight it finds, drawn from the queue's
stationary distribution in the step it arrived in (plugins/apa/simulator/queueing.py), so the
distribution over a run is a mixture of shifted log-normals. It is computed exactly on a fine
log grid (the run's histogram of slowdowns convolved with the log-normal), not sampled.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from plugins.apa.simulator.engine import Inputs, Run
from plugins.apa.simulator.profile import Profile
from plugins.apa.simulator.queueing import LOG_BIN

THRASH_WINDOW_S = 300


def lognormal_params(profile: Profile) -> tuple[float, float]:
    """(mu, sigma) of ln(service time in ms)."""
    sigma = math.sqrt(math.log1p(profile.service_time_cv**2))
    return math.log(profile.service_time_ms) - sigma * sigma / 2, sigma


class LatencyDistribution:
    """Latency of every served request of a run, on a log grid."""

    def __init__(self, log_factors: np.ndarray, weights: np.ndarray, profile: Profile) -> None:
        """Requests slower than the profile's timeout were abandoned: `timed_out` is their
        fraction, and the distribution is that of the others (the requests really served)."""
        mu, sigma = lognormal_params(profile)
        self.timed_out = 0.0
        keep = (weights > 0) & np.isfinite(log_factors)
        factors, weights = log_factors[keep], weights[keep]
        self.total = float(weights.sum())
        if self.total <= 0:
            self.grid = np.array([mu])
            self.pmf = np.array([1.0])
            return
        index = np.rint(factors / LOG_BIN).astype(np.int64)
        shifts = np.bincount(index, weights=weights)
        if sigma > 0:
            half = math.ceil(6 * sigma / LOG_BIN)
            x = np.arange(-half, half + 1) * LOG_BIN
            kernel = np.exp(-0.5 * (x / sigma) ** 2)
            kernel /= kernel.sum()
            pmf = np.convolve(shifts, kernel)
            self.grid = mu + (np.arange(len(pmf)) - half) * LOG_BIN
        else:
            pmf = shifts
            self.grid = mu + np.arange(len(pmf)) * LOG_BIN
        pmf = pmf / pmf.sum()
        late = self.grid > math.log(profile.timeout_s * 1000.0)
        self.timed_out = float(pmf[late].sum())
        pmf[late] = 0.0
        if pmf.sum() <= 0:
            self.total = 0.0
            return
        self.pmf = pmf / pmf.sum()
        self.cdf = np.cumsum(self.pmf)

    def quantile(self, q: float) -> float:
        if self.total <= 0:
            return 0.0
        position = int(np.searchsorted(self.cdf, q))
        return float(math.exp(self.grid[min(position, len(self.grid) - 1)]))

    def above(self, ms: float) -> float:
        """Fraction of served requests slower than `ms`."""
        if self.total <= 0:
            return 0.0
        return float(self.pmf[self.grid > math.log(ms)].sum())


def direction_changes(pods: np.ndarray) -> tuple[int, int]:
    """(scale direction changes, the most in any THRASH_WINDOW_S seconds)."""
    diffs = np.diff(pods.astype(np.int64))
    moves = np.nonzero(diffs)[0]
    if len(moves) < 2:
        return 0, 0
    signs = np.sign(diffs[moves])
    flips = moves[1:][signs[1:] != signs[:-1]] + 1  # step index of each change of direction
    worst = 0
    for k, start in enumerate(flips):
        end = np.searchsorted(flips, start + THRASH_WINDOW_S, side="left")
        worst = max(worst, int(end - k))
    return len(flips), worst


def time_to_capacity(
    run: Run, inputs: Inputs, steps: list[tuple[float, float]]
) -> list[float | None]:
    """Per upward step of the trace: seconds from its start until the ready replicas can hold
    the demand at its top (ready x capacity >= rate x service time), 0 if they always could;
    None if they never did before the trace ended."""
    profile = inputs.profile
    offset = inputs.warmup_steps
    service_s = profile.service_time_ms / 1000.0
    capacity = run.ready * (profile.replica_capacity / inputs.cost)
    demand = inputs.rate * service_s
    enough = capacity >= demand - 1e-9
    result: list[float | None] = []
    for start_s, end_s in steps:
        first = offset + math.floor(start_s)
        top = offset + math.ceil(end_s)
        if top >= len(enough):
            result.append(None)
            continue
        if enough[first : top + 1].all():
            result.append(0.0)
            continue
        later = np.nonzero(enough[top:])[0]
        result.append(None if len(later) == 0 else float(top + later[0] - first))
    return result


def summarize(
    run: Run, inputs: Inputs, steps: list[tuple[float, float]], target: tuple[float, float] | None
) -> dict[str, Any]:
    profile = inputs.profile
    start = inputs.warmup_steps
    pods = run.pods[start:]
    recorded = np.nonzero(run.slowdown)[0]
    factors = recorded * LOG_BIN
    weights = run.slowdown[recorded]
    deferred = [(i - start, count, f) for i, count, f in run.deferred if i >= start]
    if deferred:
        factors = np.concatenate([factors, [f for _, _, f in deferred]])
        weights = np.concatenate([weights, [c for _, c, _ in deferred]])
    latency = LatencyDistribution(factors, weights, profile)
    requests = float(inputs.arrivals[start:].sum())
    rejected = float(run.rejected[start:].sum())
    served = max(0.0, requests - rejected)
    timed_out = served * latency.timed_out
    rejected = min(requests, rejected + timed_out)
    served = requests - rejected
    over_slo = served * latency.above(profile.slo_ms)
    replica_seconds = float(pods.sum()) * 1.0
    changes, worst = direction_changes(pods)
    return {
        "replica_seconds": round(replica_seconds, 1),
        "gpu_hours": round(replica_seconds * profile.gpus_per_replica / 3600.0, 3),
        "requests": round(requests),
        "served": round(served),
        "over_slo_fraction": _fraction(over_slo, requests),
        "rejected_fraction": _fraction(rejected, requests),
        "latency_ms": {
            "p50": _ms(latency.quantile(0.5)),
            "p99": _ms(latency.quantile(0.99)),
            "p999": _ms(latency.quantile(0.999)),
        },
        "time_to_capacity_s": [
            None if t is None else round(t, 1) for t in time_to_capacity(run, inputs, steps)
        ],
        "direction_changes": changes,
        "direction_changes_max_5min": worst,
        "replicas": {
            "min": int(pods.min()),
            "mean": round(float(pods.mean()), 2),
            "max": int(pods.max()),
        },
        "per_replica_target": None
        if target is None
        else {"initial": round(target[0], 3), "final": round(target[1], 3)},
    }


def misses_within(run: Run, inputs: Inputs, mask: np.ndarray) -> float:
    """Share of the requests arriving in the evaluated steps where `mask` is true (indexed
    from the end of the warm-up) that were over the SLO, timed out or rejected."""
    profile = inputs.profile
    start = inputs.warmup_steps
    chosen = np.flatnonzero(mask) + start
    requests = float(inputs.arrivals[chosen].sum())
    if requests <= 0:
        return 0.0
    latency = LatencyDistribution(run.log_factor[chosen], run.served[chosen], profile)
    rejected = float(run.rejected[chosen].sum())
    served = max(0.0, requests - rejected)
    lost = min(requests, rejected + served * latency.timed_out)
    return (lost + (requests - lost) * latency.above(profile.slo_ms)) / requests


def _fraction(part: float, whole: float) -> float:
    return round(part / whole, 6) if whole > 0 else 0.0


def _ms(value: float) -> float:
    return round(value, 3 if value < 100 else 1)


def p99_series(run: Run, profile: Profile) -> np.ndarray:
    """p99 latency (ms) of the requests arriving in each step (NaN when none was served), for
    plots: the service time's p99 times the step's mean slowdown (the queue's spread left out)."""
    mu, sigma = lognormal_params(profile)
    p99 = np.exp(mu + run.log_factor + 2.3263 * sigma)
    return np.where(run.served > 0, p99, np.nan)


CONVERGED_BAND = 0.15
"""`converged_s`: the learned target within +-15% of the true capacity."""


def converged_s(targets: list[tuple[float, float]], inputs: Inputs) -> float | None:
    """Seconds after the trace's start from which the APA's target stays within
    `CONVERGED_BAND` of the true per-replica capacity (capacity / cost at each second, so a cost
    drift has to be followed), 0 if it always was, None if it is outside at the end."""
    start = inputs.warmup_steps
    steps = np.arange(start, len(inputs.arrivals), dtype=float)
    if len(steps) == 0 or not targets:
        return None
    times = np.array([t for t, _ in targets])
    values = np.array([v for _, v in targets])
    # A target set at the end of second i (View.now = i + 1) holds from second i + 1 on.
    current = values[np.searchsorted(times, steps, side="right") - 1]
    truth = inputs.profile.replica_capacity / inputs.cost[start:]
    outside = np.nonzero(np.abs(current / truth - 1.0) > CONVERGED_BAND + 1e-9)[0]
    if len(outside) == 0:
        return 0.0
    last = int(outside[-1])
    if last == len(steps) - 1:
        return None
    return float(last + 1)
