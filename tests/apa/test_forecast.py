"""Forecast floors: weekly then daily profiles, lead time, decay of wrong forecasts, state."""

from __future__ import annotations

import base64
import json
import math
import zlib

import pytest

from plugins.apa.forecast import (
    DAY_SLOTS,
    HEADROOM,
    LEAD_MARGIN_S,
    MIN_TRUST,
    SLOT_S,
    WEEK_SLOTS,
    DemandProfile,
)

WEEK = WEEK_SLOTS * SLOT_S
DAY = DAY_SLOTS * SLOT_S
MONDAY = 1767571200.0  # 2026-01-05 00:00 UTC
NINE = 9 * 3600


def week(peak_at: dict[float, float], base: float = 10.0, origin: float = MONDAY) -> list:
    """A week of slot peaks: `base` everywhere, `peak_at` {offset s: demand} on top."""
    return [(origin + s * SLOT_S, peak_at.get(s * SLOT_S, base)) for s in range(WEEK_SLOTS)]


def test_a_recurring_peak_raises_the_floor_ahead_by_the_lead() -> None:
    profile = DemandProfile()
    profile.learn(week({NINE: 100.0}))
    nine = MONDAY + WEEK + NINE
    lead = 600.0
    # The floor holds the peak from lead + margin before it until the slot ends.
    assert profile.floor(nine - lead - LEAD_MARGIN_S, lead) == pytest.approx(100.0 * HEADROOM)
    assert profile.floor(nine - lead - LEAD_MARGIN_S - SLOT_S, lead) == pytest.approx(
        10.0 * HEADROOM
    )
    assert profile.floor(nine + SLOT_S - 1, lead) == pytest.approx(100.0 * HEADROOM)
    assert profile.floor(nine + SLOT_S, lead) == pytest.approx(10.0 * HEADROOM)
    assert DemandProfile().floor(nine, lead) == 0.0  # no history, no floor


def test_a_one_off_spike_is_not_forecast_once_two_weeks_are_known() -> None:
    profile = DemandProfile()
    profile.learn(week({NINE: 100.0}))  # week 1: a spike at 09:00 Monday
    profile.learn(week({}, origin=MONDAY + WEEK))  # week 2: nothing
    nine = MONDAY + 2 * WEEK + NINE
    assert profile.floor(nine, 0.0) == pytest.approx(10.0 * HEADROOM)  # the lower of the two


def test_less_than_a_week_falls_back_to_the_daily_profile() -> None:
    profile = DemandProfile()
    profile.learn((MONDAY + s * SLOT_S, 50.0 if s % DAY_SLOTS == NINE // SLOT_S else 5.0)
                  for s in range(2 * DAY_SLOTS))  # fmt: skip
    wednesday_nine = MONDAY + 2 * DAY + NINE
    assert profile.floor(wednesday_nine, 0.0) == pytest.approx(50.0 * HEADROOM)


def test_a_forecast_that_proved_wrong_decays_and_recovers() -> None:
    profile = DemandProfile()
    profile.learn(week({NINE: 100.0}))
    nine = MONDAY + WEEK + NINE
    # Week 2 runs: 09:00 comes in at 20 (expected 100): trust halves when the slot ends.
    for s in range(NINE // SLOT_S, NINE // SLOT_S + 2):
        profile.observe(MONDAY + WEEK + s * SLOT_S, 20.0 if s == NINE // SLOT_S else 10.0, 16.0)
    assert profile.trust == 0.5
    assert profile.floor(nine - SLOT_S, 0.0) == pytest.approx(10.0 * HEADROOM * 0.5)
    for _ in range(10):  # halving stops at MIN_TRUST
        profile.trust = max(MIN_TRUST, profile.trust / 2)
    assert profile.trust == MIN_TRUST
    # Slots that came in as expected double it back: with a spec floor of 0 every slot counts
    # (with 16, an expected 10 x 1.1 was never raised by the forecast and is not judged). The
    # jump to Tuesday ends Monday 09:05 (as expected), the next sample Tuesday 09:00.
    tuesday = MONDAY + WEEK + DAY + NINE
    profile.observe(tuesday, 10.0, 0.0)
    profile.observe(tuesday + SLOT_S, 10.0, 0.0)
    assert profile.trust == 4 * MIN_TRUST


def test_slots_without_samples_are_unknown_not_idle() -> None:
    profile = DemandProfile()
    profile.learn(week({NINE: 100.0}))
    profile.observe(MONDAY + WEEK + 3 * 86400, 10.0)  # a gap of three days in the scaler's life
    # Tuesday 09:00 of week 2 was never seen: Tuesday of week 3 falls back to week 1 alone.
    assert profile._peak(int((MONDAY + WEEK + DAY + NINE) // SLOT_S)) is None
    assert profile.expected(int((MONDAY + 2 * WEEK + NINE) // SLOT_S)) == 100.0


def test_state_round_trips_exactly_and_rejects_a_wrong_size() -> None:
    profile = DemandProfile()
    profile.learn(week({NINE: 100.0}))
    profile.trust = 0.25
    again = DemandProfile.from_json(profile.to_json())
    assert again.to_json() == profile.to_json()
    assert again.floor(MONDAY + WEEK + NINE, 600.0) == profile.floor(MONDAY + WEEK + NINE, 600.0)
    broken = {**profile.to_json(), "q": base64.b64encode(zlib.compress(b"x")).decode()}
    with pytest.raises(ValueError, match="slots"):
        DemandProfile.from_json(broken)


def test_persisted_state_is_compact_and_never_lowers_a_floor() -> None:
    """Three weeks of a busy, noisy profile: a few KB, floors restored within +4.4 %."""
    profile = DemandProfile()
    points = [
        (MONDAY + i * SLOT_S, 5.0 + 900.0 * max(0.0, math.sin(i * math.pi / DAY_SLOTS)) + i % 7)
        for i in range(3 * WEEK_SLOTS)
    ]
    profile.learn(points)
    raw = profile.to_json()
    size = len(json.dumps(raw))
    assert size < 8000, size  # float32 was 32 KB of base64
    again = DemandProfile.from_json(raw)
    for hour in range(0, 7 * 24, 5):
        t = MONDAY + 3 * WEEK + hour * 3600
        before, after = profile.floor(t, 600.0), again.floor(t, 600.0)
        assert before <= after <= before * 1.045
    assert DemandProfile.from_json(again.to_json()).to_json() == again.to_json()


def test_the_float32_state_written_before_still_loads() -> None:
    profile = DemandProfile()
    profile.learn(week({NINE: 100.0}))
    old = {
        "slot": profile._slot,
        "trust": 0.5,
        "peaks": base64.b64encode(profile._peaks.tobytes()).decode("ascii"),
    }
    again = DemandProfile.from_json(old)
    assert again.trust == 0.5
    assert again.floor(MONDAY + WEEK + NINE, 600.0) == 0.5 * profile.floor(
        MONDAY + WEEK + NINE, 600.0
    )
    with pytest.raises(ValueError, match="slots"):
        DemandProfile.from_json({**old, "peaks": "AAAA"})
