"""Schedule floors: cron windows in a time zone, correct across daylight-saving changes.

Part of the pure decision logic (`plugins.apa.decision` re-exports `schedule_floor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from plugins.apa.metadata import ScheduleFloor


def schedule_floor(schedule: Sequence[ScheduleFloor], now_utc: datetime) -> float:
    """Highest `min_concurrency` of the windows open at `now_utc` (0 when none is open).

    A window is open from the most recent `start` firing (<= now) until the first `end` firing
    after that start. Cron is evaluated on local wall time in the window's zone, so 08:00 stays
    08:00 across daylight-saving changes; a firing time skipped by a spring-forward gap fires at
    the first instant after the gap.
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    best = 0.0
    for window in schedule:
        if window.min_concurrency <= best:
            continue
        zone = ZoneInfo(window.timezone)
        if _window_open(window, now_utc.astimezone(zone), zone):
            best = window.min_concurrency
    return best


def _window_open(window: ScheduleFloor, now_local: datetime, zone: ZoneInfo) -> bool:
    # Cron runs on naive wall time (croniter's handling of aware datetimes across DST is not what
    # we want); wall times map back to instants with zoneinfo, and instants are compared in UTC
    # (aware datetimes sharing a tzinfo compare by wall time, ignoring fold).
    now = now_local.astimezone(_UTC)
    wall_now = now_local.replace(tzinfo=None)
    if now_local.fold:
        # In the repeated autumn hour the first pass already reached later wall times.
        first = wall_now.replace(tzinfo=zone, fold=0).utcoffset() or timedelta()
        second = wall_now.replace(tzinfo=zone, fold=1).utcoffset() or timedelta()
        wall_now += first - second
    # One second past the probe so a start firing exactly at `now` counts as the most recent.
    starts = croniter(window.start, wall_now + timedelta(seconds=1))
    start_wall = starts.get_prev(datetime)
    for _ in range(1000):  # skip firings whose instant is still ahead (repeated hour), bounded
        if _instant(start_wall, zone) <= now:
            break
        start_wall = starts.get_prev(datetime)
    start = _instant(start_wall, zone)
    ends = croniter(window.end, start_wall)
    end = _instant(ends.get_next(datetime), zone)
    for _ in range(1000):  # a skipped/ambiguous end wall time may map at or before the start
        if end > start:
            break
        end = _instant(ends.get_next(datetime), zone)
    return start <= now < end


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """Wall time in `zone` -> instant (UTC). A wall time skipped by a spring-forward gap maps to
    the first existing minute after it (as cron daemons run skipped jobs); an ambiguous one
    (autumn) to its first occurrence."""
    probe = wall
    for _ in range(24 * 60):  # gaps are at most a few hours; bounded anyway
        aware = probe.replace(tzinfo=zone, fold=0)
        if aware.astimezone(_UTC).astimezone(zone).replace(tzinfo=None) == probe:
            return aware.astimezone(_UTC)
        probe = (probe + timedelta(minutes=1)).replace(second=0, microsecond=0)
    raise ValueError(f"no valid wall time after {wall} in {zone}")


_UTC = ZoneInfo("UTC")
