"""The horizontal axis, pure: sample windows, the aligned instants, replicas needed, IsActive.

Re-exported by `plugins.apa.decision`; the sampler and `knobless simulate` call the same
functions, so what the simulator predicts is what the gRPC server answers.

Two signals per served version, sampled every second at the aligned instant T = floor(now - lag):
- `concurrency`: in-flight requests by Little's law on the *measured* latency (destination side);
- `requests`: the request rate at the gateway (source side). The gateway reports a request even
  when no pod exists, so it is the signal that wakes a scaled-to-zero version.

Demand is the window max of requests x the learned healthy latency (Little's law on the latency
the model has when not overloaded). Little's law on measured latency counts the backlog an
overload builds as if it were demand — each replica added brings more of it — so it is only the
fallback until a healthy latency is known, or when no gateway rate exists.
"""

from __future__ import annotations

import math
import re
from array import array
from dataclasses import dataclass

from plugins.apa.metadata import TriggerMetadata
from plugins.apa.surge import JUMP_LIMIT, JumpGuard


@dataclass(frozen=True)
class Bounds:
    """Concurrency range of one served version and bounds of its learned per-replica target."""

    concurrency_min: float
    concurrency_max: float
    per_replica_min: float
    per_replica_max: float
    per_replica_initial: float

    @classmethod
    def from_metadata(cls, m: TriggerMetadata) -> Bounds:
        return cls(
            concurrency_min=m.concurrency_min,
            concurrency_max=m.concurrency_max,
            per_replica_min=m.per_replica_min,
            per_replica_max=m.per_replica_max,
            per_replica_initial=m.per_replica_initial,
        )

    def clamp_target(self, target: float) -> float:
        return min(max(target, self.per_replica_min), self.per_replica_max)


def aligned_instant(second: float, lag_s: float, step_s: float = 1.0) -> float:
    """The evaluation instant for a tick at wall-clock `second`: floor((second - lag) / step) x
    step. Every process evaluates the same instants, whenever it ticks."""
    return math.floor((second - lag_s) / step_s) * step_s


def vertical_boundary(instant: float, interval_s: float, phase_s: float = 0.0) -> bool:
    """Whether `instant` is a vertical decision instant (one `decide` per `interval_s`)."""
    return (instant - phase_s) % interval_s == 0


_COMPACT = 64
"""A queue drops its consumed front (`del samples[:head]`) once at least this many doubles are
consumed and they are at least half of the array: each drop copies at most as many doubles as
were consumed since the last one, so the queues stay O(1) amortized."""


class ConcurrencyWindow:
    """Max of the samples whose time is within the last `window_s` seconds (t > now - window_s).

    A monotonic deque: each sample is pushed and popped at most once, so add/max are O(1)
    amortized. Samples must be added in non-decreasing time order.
    """

    __slots__ = ("_head", "_samples", "last_t", "window_s")

    def __init__(self, window_s: float = 20.0) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
        self.window_s = window_s
        # The deque as (time, value) pairs flattened into one array of doubles, live from index
        # `_head` on, values strictly decreasing. The sampler keeps four windows per
        # ScaledObject: two `deque`s each cost ~1.5 kB even when empty, this ~0.1 kB plus 16 bytes
        # a sample; and an array holds no objects, so the garbage collector has nothing to scan.
        self._samples = array("d")
        self._head = 0
        self.last_t: float | None = None

    def add(self, t: float, value: float) -> None:
        if self.last_t is not None and t < self.last_t:
            raise ValueError(f"sample at {t} is older than the last one at {self.last_t}")
        self.last_t = t
        samples, head = self._samples, self._head
        while len(samples) > head and samples[-1] <= value:
            del samples[-2:]
        samples.append(t)
        samples.append(value)

    def max(self, now: float) -> float | None:
        """The window's max, or None when no sample is inside it (missing data)."""
        samples, head = self._samples, self._head
        horizon = now - self.window_s
        end = len(samples)
        while head < end and samples[head] <= horizon:
            head += 2
        if head == end:
            if end:
                del samples[:]
                self._head = 0
            return None
        if head != self._head:
            if head >= _COMPACT and 2 * head >= end:
                del samples[:head]
                head = 0
            self._head = head
        return samples[head + 1]


RATE_RANGE_S = 30.0
"""Range of the `rate()` in the default `requests` query (`[30s]`, plugins/apa/config.py; a test
holds them equal). The rate a range query returns is the mean over that range: a step shows as
a 30 s ramp, which `ArrivalEstimate` undoes — given the range the query really uses
(`rate_range`): with a 3 s range read as 30 s, a new series would read 3x its rate."""
_RANGE = re.compile(r"\[(\d+)([smh])\]")
_UNITS = {"s": 1, "m": 60, "h": 3600}


def rate_range(query: str) -> float | None:
    """Seconds of the first range selector of a PromQL query (`[30s]` -> 30.0), None if none."""
    match = _RANGE.search(query)
    return None if match is None else float(int(match[1]) * _UNITS[match[2]])


TREND_SPAN_S = 10.0
"""How far back the rise of the rate is measured. At least the scrape interval: the rate only
moves when a scrape lands, so a shorter span would see a whole scrape's rise in one second."""
TREND_Z = 4.0
"""A rise counts only when it exceeds this many standard deviations of Poisson noise on the
requests behind it: a 4.5 rps LLM endpoint does not scale up on chance."""
TREND_MIN_RISE = 0.05
"""...and at least this fraction of the rate (Prometheus' own extrapolation jitter)."""


class ArrivalEstimate:
    """The arrival rate of the last `span_s` seconds, reconstructed from a `rate()[range_s]`
    series sampled every second.

    rate(t) - rate(t - span) = (arrivals of the last span - arrivals of the span that left the
    range) / range, so the recent arrival rate is that rise x range / span plus the rate that
    left the range — the range's lowest rate, `base`. For a 3,000 -> 30,000 rps step this reads
    30,000 as soon as `span_s` of the step is visible, where the rate itself shows 12,000 and
    needs the whole range to get there. No rise (or one within noise): the rate itself. Never
    below the rate, so it only ever adds to demand.
    """

    __slots__ = ("_base", "_base_head", "_lag", "_lag_head", "range_s", "span_s")

    def __init__(self, range_s: float = RATE_RANGE_S, span_s: float = TREND_SPAN_S) -> None:
        self.range_s = range_s
        # A span longer than the range would count a step twice once the range holds it all
        # (base already up, rise still in the span): at most the range.
        self.span_s = min(span_s, range_s)
        # Two deques of (time, rate) pairs, flattened into arrays of doubles live from their
        # head index on, as in `ConcurrencyWindow`.
        self._base = array("d")  # sliding min over the range: increasing rates
        self._base_head = 0
        self._lag = array("d")  # samples back to the last one at or before t - span
        self._lag_head = 0

    def add(self, t: float, rate: float) -> float:
        """Add the rate sampled at `t` (time order) and return the estimated arrival rate."""
        base, head = self._base, self._base_head
        while len(base) > head and base[-1] >= rate:
            del base[-2:]
        base.append(t)
        base.append(rate)
        oldest = t - self.range_s
        while base[head] < oldest:
            head += 2
        if head != self._base_head:
            if head >= _COMPACT and 2 * head >= len(base):
                del base[:head]
                head = 0
            self._base_head = head
        lowest = base[head + 1]
        lag, head = self._lag, self._lag_head
        horizon = t - self.span_s
        end = len(lag)
        while end - head > 2 and lag[head + 2] <= horizon:
            head += 2
        if head != self._lag_head:
            if head >= _COMPACT and 2 * head >= end:
                del lag[:head]
                head = 0
            self._lag_head = head
        estimate = rate
        if end and lag[head] <= horizon:
            span = t - lag[head]
            before = lag[head + 1]
            rise = rate - before
            # Excess requests behind the rise, against the Poisson noise of both spans.
            excess = rise * self.range_s
            if (
                rise > TREND_MIN_RISE * rate
                and excess * excess > TREND_Z * TREND_Z * 2.0 * span * max(before, 1.0 / span)
            ):
                estimate = max(rate, lowest + excess / span)
        lag.append(t)
        lag.append(rate)
        return estimate


class HorizontalWindow:
    """The horizontal signals of one served version over the same window: measured in-flight,
    the gateway's request rate, and the arrivals estimated from it (`ArrivalEstimate`).

    `rate_range_s` is the range of the `rate()` in the `requests` query actually configured
    (`rate_range(queries["requests"])`). Without it (None) there is no estimate: the arrivals
    are the rate itself, as before the estimate existed — a wrong range would mis-size every
    step, so the caller has to say it.

    The in-flight and arrivals windows record what their `JumpGuard` lets through (one bad
    scrape, a counter reset or a duplicated series cannot multiply the demand); `requests`
    keeps the raw rate, for activity only. With an arrival estimate, `settled` holds the same
    guarded arrivals, negated, over `BACKLOG_SETTLE_S` (at least the window): its max is minus
    the lowest arrivals of that span (`settled_arrivals`), the demand that has lasted it.
    Without one (None) the rate lags a step by its range, and the backlog is also the only
    sign of the arrivals it does not show yet: the allowance stays 1.5x today's demand.
    """

    __slots__ = (
        "_arrivals_guard",
        "_concurrency_guard",
        "_estimate",
        "arrivals",
        "concurrency",
        "rate_range_s",
        "requests",
        "settled",
    )

    def __init__(
        self,
        window_s: float = 20.0,
        rate_range_s: float | None = None,
        *,
        jump_limit: float = JUMP_LIMIT,
    ) -> None:
        self.concurrency = ConcurrencyWindow(window_s)
        self.requests = ConcurrencyWindow(window_s)
        self.arrivals = ConcurrencyWindow(window_s)
        self.settled = (
            None if rate_range_s is None else ConcurrencyWindow(max(window_s, BACKLOG_SETTLE_S))
        )
        self.rate_range_s = rate_range_s
        self._estimate = None if rate_range_s is None else ArrivalEstimate(rate_range_s)
        # Without a known range the default query's: how long a bad point stays in a rate.
        guard_range = RATE_RANGE_S if rate_range_s is None else rate_range_s
        self._concurrency_guard = JumpGuard(guard_range, limit=jump_limit)
        self._arrivals_guard = JumpGuard(guard_range, limit=jump_limit)

    @property
    def last_t(self) -> float | None:
        return self.concurrency.last_t

    @property
    def lookback_s(self) -> float:
        """How long before its window a sample can still change this window's answer: the
        settled span's excess over the window, then the guard's own look-back on top of the
        arrival estimate's (the rate's range). The sampler fills a new window from that much
        history, so that it answers exactly as a window fed for days does."""
        estimate = 0.0 if self._estimate is None else self._estimate.range_s
        settled = 0.0 if self.settled is None else self.settled.window_s - self.concurrency.window_s
        return settled + self._concurrency_guard.lookback_s + estimate + 1.0

    @property
    def holding(self) -> bool:
        """Whether a jump of either signal is held unconfirmed (a decision reason)."""
        return self._concurrency_guard.holding or self._arrivals_guard.holding

    def add(self, t: float, concurrency: float, requests: float = 0.0) -> None:
        self.concurrency.add(t, self._concurrency_guard.add(t, concurrency, concurrency))
        self.requests.add(t, requests)
        estimate = self._estimate
        arrivals = requests if estimate is None else estimate.add(t, requests)
        guarded = self._arrivals_guard.add(t, requests, arrivals)
        self.arrivals.add(t, guarded)
        if self.settled is not None:
            self.settled.add(t, -guarded)

    def settled_arrivals(self, t: float) -> float | None:
        """The lowest guarded arrivals of the last `BACKLOG_SETTLE_S` (None: no sample, or no
        arrival estimate)."""
        lowest = None if self.settled is None else self.settled.max(t)
        return None if lowest is None else -lowest


BACKLOG_ALLOWANCE = 1.5
"""Measured in-flight counts as demand up to the healthy demand plus this multiple, less one,
of the settled demand (`BACKLOG_SETTLE_S`): 1.5x requests x healthy latency at steady traffic."""
BACKLOG_SETTLE_S = 180.0
"""The backlog's allowance is half the demand that has lasted this long (the lowest arrivals of
the span x healthy latency), not half of today's. A rise builds a backlog of its own while the
replicas it asks for start: it lasts their start-up, the rate's range and the drain (~80 s for
10 s pods and ~170 s for 90 s pods on spike10x) and the answer already sizes the new arrivals.
Counted at 1.5x it asked for half as many replicas again, which the HPA's 300 s scale-down
stabilization then held for five minutes: +4,700 replica-s (CPU) and +900 (GPU) on spike10x,
for no fewer misses (the backlog drains in under a second at the new size). At steady traffic
the span changes nothing: an overload that lasts (a target too high, a cost per request that
drifts before the healthy latency follows) still counts up to 1.5x."""


def demand(window: HorizontalWindow, t: float, latency_baseline_ms: float | None) -> float | None:
    """In-flight requests the window's traffic needs at `t`; None when the window is empty.

    Gateway rate x healthy latency when both are known; otherwise Little's law on measured
    latency (no baseline learned yet, or no gateway series: a custom `concurrency` query alone).
    """
    concurrency = window.concurrency.max(t)
    requests = window.arrivals.max(t)
    if concurrency is None and requests is None:
        return None
    if requests and latency_baseline_ms:
        healthy = requests * latency_baseline_ms / 1000.0
        # A backlog still counts, up to half the settled demand on top: it is work to do (and
        # the only horizontal sign that the target is too high until the vertical loop catches
        # up), but counted in full it asks for 10-20x the replicas after an overload, and right
        # after a rise it is the rise's own, which the answer already sizes.
        lowest = window.settled_arrivals(t)
        settled = healthy if lowest is None else lowest * latency_baseline_ms / 1000.0
        allowance = healthy + (BACKLOG_ALLOWANCE - 1.0) * settled  # settled <= healthy
        return max(healthy, min(concurrency or 0.0, allowance))
    return concurrency or 0.0


def replicas_needed(
    window_max: float | None,
    bounds: Bounds,
    target: float,
    *,
    floor: float = 0.0,
    previous: float | None = None,
) -> float:
    """clamp(window_max, max(concurrency_min, floor), concurrency_max) / target.

    The ceiling wins over a floor above it. Missing data (window_max None) never scales down or
    to zero: with `previous` the answer is max(previous, clamped floor / target) — the last answer,
    raised if a floor (e.g. a schedule window) opened meanwhile; without it, clamped floor / target.
    """
    if not target > 0:
        raise ValueError(f"target must be > 0, got {target}")
    low = max(bounds.concurrency_min, floor)
    floor_value = min(low, bounds.concurrency_max) / target
    if window_max is None:
        return floor_value if previous is None else max(previous, floor_value)
    return min(max(window_max, low), bounds.concurrency_max) / target


@dataclass(frozen=True)
class Answer:
    """What GetMetrics (replicas needed) and IsActive say for one served version."""

    value: float
    active: bool


def answer(
    window: HorizontalWindow | None,
    t: float | None,
    bounds: Bounds,
    target: float,
    latency_baseline_ms: float | None = None,
    *,
    floor: float = 0.0,
    previous: Answer | None = None,
) -> Answer:
    """The per-tick answer. With a fresh window (`window` and `t`): replicas needed for the
    window's demand, and active with traffic in the window (gateway requests or in flight),
    a provisioned floor (concurrency_min > 0) or an open schedule floor. Without (missing data:
    `window` None): the previous answer, raised by any floor, and never deactivated.
    """
    provisioned = bounds.concurrency_min > 0 or floor > 0
    if window is not None and t is not None:
        peak = demand(window, t, latency_baseline_ms)
        traffic = bool(window.requests.max(t)) or bool(window.concurrency.max(t))
        return Answer(replicas_needed(peak, bounds, target, floor=floor), traffic or provisioned)
    value = replicas_needed(
        None, bounds, target, floor=floor, previous=None if previous is None else previous.value
    )
    return Answer(value, (previous is not None and previous.active) or provisioned)
