"""The scale-up cap, where the load is known: one bad reading cannot multiply a fleet.

The rendered HPA lets one sync go anywhere up to maxReplicaCount (plugins/autoscaling/behavior.py),
so the cap lives here, relative to the load the scaler measures. A *jump* is a 1 s sample that
reads more than `JUMP_LIMIT` x the sample before it. A jump is held at that cap until it is
*confirmed*, by what only real traffic does to a `rate()`:

- real arrivals keep the rate rising: a step of m x within one scrape raises `rate()[30s]` by
  (m - 1) x scrape / range per scrape, scrape after scrape, for a whole range. A later raw
  reading above the jump's by `CONFIRM_RISE` x the jump's own rise confirms it (one scrape
  later: 5 s); the reading that first confirms a jump (within `CONTINUE_S`) continues a rise,
  so it is no new hold even if it is a jump by size;
- a bad scrape, a counter reset (Prometheus counts the value before the reset as an increase:
  a long-lived counter read as 0 once adds its whole value) or a series that appears twice (a
  new series reads at its full rate at once, and the arrival estimate sees that as a 30 s
  backlog: 4x) jump once and stay flat: they are never confirmed. They end (a reading back at
  or under the cap releases the hold) or they last `hold_s`, the rate's range plus the trend
  span — then a bad point has left every range, what remains is a real level, and it counts.

Growth of at most `JUMP_LIMIT` per sample always passes, so ramps and a step of up to ~4x per
scrape are followed at once.

**A pure function of the recent samples.** What the guard returns at t depends only on the
samples of the last `lookback_s` (2 x `hold_s` + 1 s) — never on how long a process has watched
the series: two scaler processes reading the same Prometheus, one started a week ago and one a
second ago and filled from a range query, give the same answer at every instant (the sampler
fetches that much history for a new window). That is why a jump is measured against the sample
before it, not against what the guard last let through (a chain of accepted levels reaching back
to whenever the process started), and why "just woke from idle" is a sample under `IDLE_LEVEL`
within `hold_s`, not a remembered time.
"""

from __future__ import annotations

import math

JUMP_LIMIT = 1.5
"""A sample may read at most this multiple of the sample before it without confirming.
A duplicated series reads 2x (and its arrival estimate 4x): it is caught."""
CONFIRM_RISE = 0.5
"""A jump is confirmed when a later raw reading exceeds the jump's by this fraction of the jump's
rise (Prometheus' extrapolation moves a 30 s rate with 5 s scrapes by well under that)."""
CONTINUE_S = 10.0
"""A jump can be continued (a later jump that first confirms it is no new hold) for this long:
a real step's rate rises again at the next scrape (every 5 s in a cluster); later, a jump on top
of a confirmed one is a jump of its own."""
HOLD_MARGIN_S = 10.0
"""An unconfirmed jump counts after the rate's range plus this (the arrival estimate's trend
span): a bad point has left every range by then, so what remains is a real level."""
IDLE_LEVEL = 1.0
"""Within `hold_s` after a sample below this (idle: a version at or near zero), nothing is held:
a first request creates the series, whose rate then extrapolates in over its range (a third,
then all of it) and would look like a jump that never confirms; and growth from nothing is no
multiple of a fleet."""


class JumpGuard:
    """Caps one signal's jumps at `JUMP_LIMIT` x the sample before them until confirmed.

    `add(t, raw, value)`: `raw` is the series as Prometheus returned it (what confirms a jump by
    rising again), `value` what the window would record (the arrival estimate, or the raw value
    itself); returns what it records instead. Samples in time order.

    Incremental, but every piece of state expires within `lookback_s`: the previous sample, the
    last idle sample (it matters for `hold_s`), the jumps of the last `CONTINUE_S` not confirmed
    yet (which a later reading may continue) and the holds not yet confirmed, released or
    expired — usually none, so it costs a comparison per sample.
    """

    __slots__ = ("_held", "_idle_t", "_jumps", "_last", "hold_s", "limit")

    def __init__(self, range_s: float, *, limit: float = JUMP_LIMIT) -> None:
        self.hold_s = range_s + HOLD_MARGIN_S
        self.limit = limit  # math.inf: no guard (what-if benchmarks)
        self._last: tuple[float, float] | None = None  # (raw, value) of the previous sample
        self._idle_t = -math.inf  # time of the last sample under IDLE_LEVEL
        # (t, raw, rise) of the jumps of the last hold_s: a later reading may continue them.
        self._jumps: list[tuple[float, float, float]] = []
        # (t, raw, rise, cap) of the jumps held now.
        self._held: list[tuple[float, float, float, float]] = []

    @property
    def lookback_s(self) -> float:
        """How far back samples can change what `add` returns: a hold lasts `hold_s` and whether
        it started depends on the `hold_s` before it (an idle sample, a jump it continues)."""
        return 2.0 * self.hold_s + 1.0

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def add(self, t: float, raw: float, value: float) -> float:
        hold_s = self.hold_s
        continues = False
        if self._jumps:
            # A reading that first confirms a recent jump continues its rise (the next scrape
            # of a real step); a confirmed jump is continued once, then forgotten.
            continues = any(raw >= r + CONFIRM_RISE * s for _, r, s in self._jumps)
            self._jumps = [
                j
                for j in self._jumps
                if t - j[0] <= CONTINUE_S and raw < j[1] + CONFIRM_RISE * j[2]
            ]
        if self._held:
            self._held = [
                h
                for h in self._held
                if t - h[0] < hold_s and value > h[3] and raw < h[1] + CONFIRM_RISE * h[2]
            ]
        last, self._last = self._last, (raw, value)
        if last is not None:
            last_raw, last_value = last
            if last_value >= IDLE_LEVEL and value > self.limit * last_value:
                rise = raw - last_raw
                self._jumps.append((t, raw, rise))
                if not continues and t - self._idle_t >= hold_s:
                    self._held.append((t, raw, rise, self.limit * last_value))
        if value < IDLE_LEVEL:
            self._idle_t = t
        if self._held:
            return min(value, min(h[3] for h in self._held))
        return value
