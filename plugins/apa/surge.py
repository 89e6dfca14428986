"""The scale-up cap, where the load is known: one bad reading cannot multiply a fleet.

The rendered HPA lets one sync go anywhere up to maxReplicaCount (plugins/autoscaling/behavior.py),
so the cap lives here, relative to the load the scaler measures: a 1 s sample may read at most
`JUMP_LIMIT` x the level accepted before it. A higher reading is held at that cap until it is
*confirmed*, by what only real traffic does to a `rate()`:

- real arrivals keep the rate rising: a step of m x within one scrape raises `rate()[30s]` by
  (m - 1) x scrape / range per scrape, scrape after scrape, for a whole range. A later reading
  above the jump by `CONFIRM_RISE` x the jump confirms it (one scrape later: 5 s);
- a bad scrape, a counter reset (Prometheus counts the value before the reset as an increase:
  a long-lived counter read as 0 once adds its whole value) or a series that appears twice (a
  new series reads at its full rate at once, and the arrival estimate sees that as a 30 s
  backlog: 4x) jump once and stay flat: they are never confirmed. They end (the reading falls
  back under the cap: released at once) or they last longer than the rate's range plus the
  trend span — then the level is what the data says from now on, and is accepted.

Only jumps are held: growth of at most `JUMP_LIMIT` per sample always passes, so ramps and a
step of up to ~4x per scrape are followed at once. Pure and deterministic: every process fed the
same samples holds the same guard.
"""

from __future__ import annotations

import math

JUMP_LIMIT = 1.5
"""A sample may read at most this multiple of the accepted level before it needs confirming.
A duplicated series reads 2x (and its arrival estimate 4x): it is caught."""
CONFIRM_RISE = 0.5
"""A held jump is confirmed when a later raw reading exceeds the jump's by this fraction of the
jump (Prometheus' extrapolation moves a 30 s rate with 5 s scrapes by well under that)."""
HOLD_MARGIN_S = 10.0
"""An unconfirmed jump is accepted after the rate's range plus this (the arrival estimate's
trend span): a bad point has left every range by then, so what remains is a real level."""
IDLE_LEVEL = 1.0
"""From a level below this (idle: a version at or near zero), and for `hold_s` after the level
left it, every reading is accepted: a first request creates the series, whose rate then
extrapolates in over its range (a third, then all of it) and would look like a jump that never
confirms; and growth from nothing is no multiple of a fleet."""


class JumpGuard:
    """Caps one signal's samples at `JUMP_LIMIT` x its accepted level until a jump is confirmed.

    `add(t, raw, value)`: `raw` is the series as Prometheus returned it (what confirms a jump by
    rising again), `value` what the window would record (the arrival estimate, or the raw value
    itself); returns what it records instead.
    """

    __slots__ = (
        "_before",
        "_cap",
        "_held_since",
        "_jump_raw",
        "_last_raw",
        "_woke_at",
        "hold_s",
        "level",
    )

    def __init__(self, range_s: float) -> None:
        self.hold_s = range_s + HOLD_MARGIN_S
        self.level: float | None = None  # the last value accepted
        self._last_raw = 0.0
        self._held_since: float | None = None  # a jump is held since then
        self._jump_raw = 0.0
        self._before = 0.0  # raw reading before the jump
        self._cap = 0.0
        self._woke_at = -math.inf  # when the level last left idle

    @property
    def holding(self) -> bool:
        return self._held_since is not None

    def add(self, t: float, raw: float, value: float) -> float:
        level = self.level
        last_raw, self._last_raw = self._last_raw, raw
        if level is None or level < IDLE_LEVEL:
            if value >= IDLE_LEVEL:
                self._woke_at = t
            self.level = value
            return value
        held_since = self._held_since
        if held_since is None:
            cap = JUMP_LIMIT * level
            if value <= cap or t - self._woke_at < self.hold_s:
                self.level = value
                return value
            self._held_since = t
            self._jump_raw = raw
            self._before = last_raw
            self._cap = cap
            return cap
        confirmed = raw >= self._jump_raw + CONFIRM_RISE * (self._jump_raw - self._before)
        if confirmed or value <= self._cap or t - held_since >= self.hold_s:
            self._held_since = None
            self.level = value
            return value
        return self._cap
