"""schedule-window-empty, schedule-window-overlap: windows that never hold or never close.

Windows are walked from a fixed instant (never the clock, so the result is the same on every run)
for their first `OCCURRENCES` openings, in the window's own time zone (daylight saving included).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

from compiler import hookimpl
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.models.endpoint import ScheduleWindow
from compiler.review.lint import LintRule
from plugins.lint._common import at_field

EMPTY = "schedule-window-empty"
OVERLAP = "schedule-window-overlap"
REFERENCE = datetime(2026, 1, 5)  # a Monday; any fixed instant works, the clock would not
OCCURRENCES = 16
"""Openings walked: over two weeks of daily windows, three of weekday ones."""


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            EMPTY,
            Severity.ERROR,
            "a schedule window closes the moment it opens (or never opens): its floor never holds",
        ),
        LintRule(
            OVERLAP,
            Severity.WARNING,
            "a schedule window opens again before it closes: the raised floor never drops",
        ),
    ]


def check_window(window: ScheduleWindow) -> tuple[str, str] | None:
    """(rule, explanation) when the window is empty or overlaps itself, else None."""
    return _check(window.start, window.end, window.timezone)


# A pure function of three strings, memoized: thousands of endpoints share a handful of windows,
# and walking cron expressions costs milliseconds. The cache cannot change a result.
@functools.lru_cache(maxsize=1024)
def _check(start_cron: str, end_cron: str, timezone: str) -> tuple[str, str] | None:
    reference = REFERENCE.replace(tzinfo=ZoneInfo(timezone))
    try:
        opens = croniter(start_cron, reference)
        openings = [opens.get_next(datetime) for _ in range(OCCURRENCES + 1)]
        # Closings from just before the first opening, so one at the same minute is seen.
        closes = croniter(end_cron, openings[0] - timedelta(minutes=1))
        closing = closes.get_next(datetime)
        for opening, next_opening in itertools.pairwise(openings):
            while closing < opening:
                closing = closes.get_next(datetime)
            if closing == opening:
                return (
                    EMPTY,
                    f"`end` ({end_cron}) fires at the same minute as `start` ({start_cron})",
                )
            if closing > next_opening:
                return OVERLAP, (
                    f"the window opening {opening:%a %Y-%m-%d %H:%M} closes only at "
                    f"{closing:%a %Y-%m-%d %H:%M}, after it opens again at "
                    f"{next_opening:%a %Y-%m-%d %H:%M}"
                )
    except CroniterBadDateError:
        return EMPTY, "its cron expressions never fire (an impossible date such as 30 February)"
    return None


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    problems = []
    for index, window in enumerate(endpoint.spec.scaling.schedule):
        found = check_window(window)
        if found is None:
            continue
        rule, explanation = found
        what = "is empty" if rule == EMPTY else "overlaps itself"
        problems.append(
            at_field(
                endpoint,
                ("scaling", "schedule", index),
                f"scaling.schedule[{index}] {what}: {explanation}",
                Severity.ERROR if rule == EMPTY else Severity.WARNING,
                rule,
            )
        )
    return problems
