"""Forecast floors: each served version's weekly and daily demand, raised ahead by start-up time.

Pure (samples in, floor out), shared by `knobless simulate`, `knobless forecast` and the scaler.

A `DemandProfile` keeps the peak demand (in flight, the unit of `concurrency_min`) of every
5-minute slot of the last three weeks. The demand expected in a slot is the *lower* of the same
slot one and two weeks before (a one-off spike last week is not forecast again), or with less
than a week of history the lower of the same slot one and two days before. The floor at `t` is
the highest demand expected from `t` until `t + lead`, lead = the pod start-up time observed
(creation to Ready) plus `LEAD_MARGIN_S` for KEDA's poll and the HPA's sync: a pod asked for at
`t` serves from `t + lead`, so the replicas stand when the demand arrives.

Wrong forecasts decay: when a slot the forecast raised ends with less than half the demand
expected, `trust` halves (down to `MIN_TRUST`) and scales every floor; a slot that came in as
expected doubles it back (up to 1). A week later the slot's own figure has dropped anyway (the
lower of two weeks). The caller clamps the floor into the spec's concurrency range.
"""

from __future__ import annotations

import base64
import math
import zlib
from array import array
from collections.abc import Iterable
from typing import Any

SLOT_S = 300
DAY_SLOTS = 86400 // SLOT_S
WEEK_SLOTS = 7 * DAY_SLOTS
KEPT_SLOTS = 3 * WEEK_SLOTS
"""Three weeks: for any slot of the coming week, the same slot one and two weeks before."""
HEADROOM = 1.1
"""The floor is the expected peak x this: a week's peak varies by a few per cent, and for a
model that starts in minutes, what the floor does not hold is missed for those minutes."""
LEAD_MARGIN_S = 60.0
"""Added to the start-up time: KEDA polls every 15-30 s, the HPA syncs every 15 s."""
WRONG_BELOW = 0.5
MIN_TRUST = 1.0 / 16.0
_UNKNOWN = math.nan
_Q_PER_OCTAVE = 16
"""Persisted resolution: 2 ** (1/16), +4.4 % at most, under HEADROOM's 10 %."""
_Q_TOP = 254
_Q_UNKNOWN = 255


class DemandProfile:
    """Peak demand per 5-minute slot (absolute slot = unix seconds // SLOT_S), last 3 weeks."""

    __slots__ = ("_peaks", "_slot", "trust")

    def __init__(self) -> None:
        self._peaks = array("f", [_UNKNOWN]) * KEPT_SLOTS
        self._slot: int | None = None  # the latest slot observed
        self.trust = 1.0

    # -- learning ---------------------------------------------------------------------------

    def observe(self, t: float, demand: float, spec_floor: float = 0.0) -> None:
        """One sample of demand at unix time `t` (time order; older samples are ignored).
        Finishing a slot judges it against what was expected (`spec_floor`: slots expected at
        or below it were not raised by the forecast, so they are not judged)."""
        slot = int(t // SLOT_S)
        if self._slot is not None and slot > self._slot:
            self._judge(self._slot, spec_floor)
        self._record(slot, demand)

    def learn(self, points: Iterable[tuple[float, float]]) -> None:
        """History at start (a Prometheus range query, a trace): (unix time, demand) in time
        order. Not judged: nothing was forecast for it."""
        for t, demand in points:
            self._record(int(t // SLOT_S), demand)

    def _record(self, slot: int, demand: float) -> None:
        current = self._slot
        if current is not None and slot < current:
            return
        index = slot % KEPT_SLOTS
        if current is None or slot > current:
            if current is not None:  # slots without a sample are unknown, not idle
                for skipped in range(current + 1, min(slot, current + KEPT_SLOTS + 1)):
                    self._peaks[skipped % KEPT_SLOTS] = _UNKNOWN
            self._peaks[index] = demand
            self._slot = slot
        elif not self._peaks[index] >= demand:  # max, NaN-safe
            self._peaks[index] = demand

    def _judge(self, slot: int, spec_floor: float) -> None:
        expected = self.expected(slot)
        if expected is None or HEADROOM * expected <= spec_floor:
            return
        observed = self._peaks[slot % KEPT_SLOTS]
        if observed >= WRONG_BELOW * expected:
            self.trust = min(1.0, self.trust * 2.0)
        else:  # NaN (no sample) counts as wrong too: no demand came
            self.trust = max(MIN_TRUST, self.trust / 2.0)

    # -- forecasting ------------------------------------------------------------------------

    def _peak(self, slot: int) -> float | None:
        current = self._slot
        if current is None or slot > current or slot <= current - KEPT_SLOTS:
            return None
        value = self._peaks[slot % KEPT_SLOTS]
        return None if math.isnan(value) else float(value)

    def expected(self, slot: int) -> float | None:
        """Demand expected in `slot`: the lower of the same slot one and two weeks before, else
        of one and two days before; None when no history covers it."""
        for period in (WEEK_SLOTS, DAY_SLOTS):
            seen = [self._peak(slot - period), self._peak(slot - 2 * period)]
            values = [v for v in seen if v is not None]
            if values:
                return min(values)
        return None

    def floor(self, t: float, lead_s: float) -> float:
        """The concurrency floor at unix time `t`: the highest expected demand until
        `t + lead_s + LEAD_MARGIN_S`, x HEADROOM x trust; 0 without history."""
        first = int(t // SLOT_S)
        last = int((t + lead_s + LEAD_MARGIN_S) // SLOT_S)
        best = 0.0
        for slot in range(first, last + 1):
            value = self.expected(slot)
            if value is not None and value > best:
                best = value
        return best * HEADROOM * self.trust

    # -- persistence ------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Compact: every slot as one byte on a log scale under the profile's top (1/16 octave
        a step, rounded up so a restored floor is never lower), zlib-compressed, base64."""
        finite = [v for v in self._peaks if v > 0.0]  # NaN compares False
        top = max(finite) if finite else 0.0
        codes = bytearray(KEPT_SLOTS)
        for i, value in enumerate(self._peaks):
            if math.isnan(value):
                codes[i] = _Q_UNKNOWN
            elif value > 0.0:
                steps = math.floor(_Q_PER_OCTAVE * math.log2(top / value) + 1e-4)  # float32 noise
                codes[i] = max(1, _Q_TOP - steps)
        return {
            "slot": self._slot,
            "trust": self.trust,
            "top": top,
            "q": base64.b64encode(zlib.compress(bytes(codes), 9)).decode("ascii"),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DemandProfile:
        """Reads the compact form, and the float32 form ("peaks") written before it."""
        profile = cls()
        peaks = array("f")
        if "q" in raw:
            codes = zlib.decompress(base64.b64decode(raw["q"]))
            if len(codes) != KEPT_SLOTS:
                raise ValueError(f"a demand profile has {KEPT_SLOTS} slots, got {len(codes)}")
            top = float(raw["top"])
            peaks.extend(
                _UNKNOWN
                if code == _Q_UNKNOWN
                else 0.0
                if code == 0
                else top * 2.0 ** ((code - _Q_TOP) / _Q_PER_OCTAVE)
                for code in codes
            )
        else:
            data = base64.b64decode(raw["peaks"])
            if len(data) != KEPT_SLOTS * peaks.itemsize:
                raise ValueError(f"a demand profile has {KEPT_SLOTS} slots, got {len(data)} bytes")
            peaks.frombytes(data)
        profile._peaks = peaks
        profile._slot = None if raw["slot"] is None else int(raw["slot"])
        profile.trust = min(1.0, max(MIN_TRUST, float(raw["trust"])))
        return profile
