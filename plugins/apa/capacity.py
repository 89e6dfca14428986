"""What one replica can take, estimated from what replicas show at the load they carry. Pure.

The horizontal axis keeps replicas below their target, so evidence has to come from any load,
not only from replicas driven to saturation:

- **Resource use per busy slot** (CPU, GPU): utilization is linear in the slots a replica keeps
  busy (throughput x service time, the utilization law; `busy_slots` derives it from the
  requests in flight by Little's law), `idle + slope x busy`, until the bottleneck saturates.
  A least squares fit over the recent samples (exponentially forgotten, so a drift in cost per request
  is followed) says where the line crosses the resource's threshold — in both directions, at
  10% of the load as well as at 90%. With too little spread in load for a slope, one point
  still bounds it: below the threshold the line through the origin crosses it no later than
  the real one (idle >= 0), so `busy x threshold / utilization` is a lower bound; above
  it, an upper bound (the stress rule in `decision.py`).
- **The latency knee**: the capacity whose queue explains the latency at the load carried
  (`knee_estimate`: the fleet as one M/M/s queue); saturated, the throughput at healthy
  latency, however far the backlog went. Remembered, so growth does not walk past it again.
- **Healthy load**: replicas seen at some load with healthy latency can take at least that.

The fit lives in `VerticalState.fit` as plain sums (five per resource) so the state stays a
small tuple of floats: 10,000 ScaledObjects keep it in a few megabytes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

FIT_RESOURCES = ("cpu", "gpu")
"""Resources fitted against the load. Memory is left out: a working set barely follows the
requests in flight (model weights, caches), so its line says nothing about the knee."""
SUMS = 5
"""Per resource: weight, sum x, sum y, sum x^2, sum xy (x = slots busy per replica)."""
EMPTY_FIT = (0.0,) * (SUMS * len(FIT_RESOURCES))


class Estimate(NamedTuple):
    """Requests in flight one replica can take, and how much the figure is worth (a named
    tuple: `decide` builds several per ScaledObject and round, 10,000 objects a round).

    `exact`: a two-sided estimate (a fit with spread, the knee): the target may move either way
    toward it. Otherwise a lower bound: it may only justify growth.
    """

    value: float
    exact: bool
    source: str  # what bounds it: "cpu fit", "gpu at one load", "latency knee", "healthy load"


def add_point(
    fit: tuple[float, ...], load: float, values: tuple[float | None, ...], decay: float
) -> tuple[float, ...]:
    """The sums after forgetting by `decay` and adding (load, value) per resource (None: no
    point for that resource; its sums are left as they were, neither forgotten nor fed)."""
    sums = list(fit) if fit else list(EMPTY_FIT)
    for index, value in enumerate(values):
        if value is None:
            continue
        base = index * SUMS
        w, sx, sy, sxx, sxy = sums[base : base + SUMS]
        sums[base : base + SUMS] = (
            decay * w + 1.0,
            decay * sx + load,
            decay * sy + value,
            decay * sxx + load * load,
            decay * sxy + load * value,
        )
    return tuple(sums)


def resource_estimate(
    fit: tuple[float, ...],
    index: int,
    high: float,
    min_spread: float,
    max_extrapolation: float,
) -> Estimate | None:
    """Where resource `index`'s fitted line reaches `high`, or None without usable points."""
    if not fit:
        return None
    base = index * SUMS
    w, sx = fit[base], fit[base + 1]
    if w <= 0 or sx <= 0:
        return None
    sy, sxx, sxy = fit[base + 2], fit[base + 3], fit[base + 4]
    mean_x, mean_y = sx / w, sy / w
    if mean_y <= 0:
        return None
    name = FIT_RESOURCES[index]
    origin = mean_x * high / mean_y  # the line through the origin: a bound, not an estimate
    var_x = max(0.0, sxx / w - mean_x * mean_x)
    if var_x > 0 and var_x >= (min_spread * mean_x) ** 2:
        slope = (sxy / w - mean_x * mean_y) / var_x
        intercept = mean_y - slope * mean_x
        if slope <= 0 or intercept >= high:
            return None  # the resource does not follow the load: it bounds nothing
        # A negative intercept is noise (idle use is >= 0): the origin line is then the better
        # estimate, and never the lower of the two.
        value = max((high - max(intercept, 0.0)) / slope, origin if intercept < 0 else 0.0)
        if value > mean_x * max_extrapolation:
            # Too far from any load seen to trust the slope: only "at least this much".
            return Estimate(max(origin, mean_x * max_extrapolation), False, f"{name} fit")
        return Estimate(value, True, f"{name} fit")
    if mean_y >= high:
        return Estimate(origin, True, f"{name} at one load")
    return Estimate(origin, False, f"{name} at one load")


def busy_slots(load: float, latency_ms: float | None, baseline_ms: float | None) -> float:
    """Slots busy per replica: throughput x service time (the utilization law), by Little's
    law `load x baseline / latency`. The resources follow this, not the requests in flight:
    waiting requests use no CPU, so a line fitted against in-flight bends where queueing
    starts (a one-slot model's CPU line said 1.22 where the CPU reaches 0.9 at 0.89). Without
    a latency above the baseline nothing waits: the load itself."""
    if latency_ms is None or baseline_ms is None or latency_ms <= baseline_ms:
        return load
    return load * baseline_ms / latency_ms


def queue_wait(rho: float, servers: float) -> float:
    """Mean wait over service time of an M/M/s queue at utilization `rho` (Sakasegawa 1977:
    Wq / S ~ rho^(sqrt(2 (s + 1)) - 1) / (s (1 - rho)); within 3% of Erlang C for 1..1000
    servers at 0.3..0.98). For s = 1 it is exact: rho / (1 - rho)."""
    if rho >= 1.0:
        return math.inf
    if rho <= 0.0:
        return 0.0
    return rho ** (math.sqrt(2.0 * (servers + 1.0)) - 1.0) / (servers * (1.0 - rho))


KNEE_SEARCH = 64.0
"""The queue inversion looks for a capacity up to this x the busy slots (rho down to 1/64)."""


def knee_estimate(
    load: float, latency_ms: float, baseline_ms: float, replicas: float | None = None
) -> float:
    """What one replica takes, from the latency it shows at the load it carries.

    Little's law gives the slots busy per replica, `busy = load x baseline / latency` (the
    throughput times the service time: the utilization law). That is the capacity only when
    replicas are saturated; below it, latency also rises because requests wait, and reading
    `busy` as the capacity then takes the utilization for the limit (a one-slot model held at
    0.86 busy with latency 1.35x its baseline was taken to 0.88, then 0.78). So the capacity c
    is the one whose queue explains the latency: the fleet as one M/M/s queue of s =
    replicas x c slots (the gateway balances by least requests: Istio's default) at utilization
    busy / c, waiting `latency / baseline - 1` service times. Saturated, this is `busy`; a
    latency the model does not explain by queueing (barely above the baseline) says more.
    """
    if baseline_ms <= 0.0 or latency_ms <= 0.0:
        return 0.0  # a zero latency (an idle scrape learned as the baseline) says nothing
    waiting = latency_ms / baseline_ms - 1.0
    if waiting <= 0.0:
        return math.inf  # no wait at all: the latency bounds nothing
    busy = busy_slots(load, latency_ms, baseline_ms)
    if busy <= 0.0:
        return 0.0
    fleet = replicas if replicas is not None and replicas >= 1.0 else 1.0
    low, high = 0.0, math.log(KNEE_SEARCH)  # ln(c / busy)
    if queue_wait(math.exp(-high), fleet * busy * KNEE_SEARCH) >= waiting:
        return busy * KNEE_SEARCH
    for _ in range(40):  # bisection: the wait falls as c grows (rho down, servers up)
        mid = 0.5 * (low + high)
        c = busy * math.exp(mid)
        if queue_wait(busy / c, fleet * c) > waiting:
            low = mid
        else:
            high = mid
    return busy * math.exp(0.5 * (low + high))


def combine(estimates: list[Estimate]) -> Estimate | None:
    """The binding estimate: the least value; exact only if the least one is exact."""
    least: Estimate | None = None
    for estimate in estimates:  # min by (value, not exact, source), without a key function
        if (
            least is None
            or estimate.value < least.value
            or (
                estimate.value == least.value
                and (not estimate.exact, estimate.source) < (not least.exact, least.source)
            )
        ):
            least = estimate
    if least is None or not math.isfinite(least.value) or least.value <= 0:
        return None
    return least
