"""Traffic traces: `t_seconds,rps[,cost]` CSV or a Prometheus range-query JSON export.

CSV: any time step (values in between are interpolated linearly), an optional header naming the
columns, `#` comments and blank lines ignored. The optional third column `cost` multiplies the
work one request needs (1 = the profile as given; 2 = each request holds twice the replica's
resources, so a replica saturates at half its concurrency) — how a slow drift in model cost is
written down. Prometheus: the JSON `/api/v1/query_range` returns; every series is summed (a
per-pod or per-route breakdown adds up to the endpoint's rate), time starts at the first sample.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from compiler.diagnostics import Diagnostic
from compiler.errors import InputError

MAX_TRACE_BYTES = 64 * 1024 * 1024
COLUMNS = ("t_seconds", "rps", "cost")


@dataclass(frozen=True)
class Trace:
    """Request rate (and optional cost multiplier) at given times, seconds from the start."""

    name: str
    t: np.ndarray
    rps: np.ndarray
    cost: np.ndarray
    start: datetime | None = None
    """Wall-clock time of t=0 when the source says (Prometheus exports), for schedule windows."""

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0])

    def sample(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rps, cost) at `times`, linearly interpolated."""
        return np.interp(times, self.t, self.rps), np.interp(times, self.t, self.cost)

    def scaled(self, factor: float) -> Trace:
        return Trace(self.name, self.t, self.rps * factor, self.cost, self.start)

    def split(self, at_s: float) -> tuple[Trace, Trace]:
        """(before, after) `at_s` seconds from the start: the history a forecast learns from
        and the part evaluated, which starts at 0 again (its wall clock `at_s` later)."""
        if not 0 < at_s < self.duration_s:
            raise ValueError(f"cannot split a {self.duration_s:g} s trace at {at_s:g} s")
        cut = self.t[0] + at_s
        rps, cost = self.sample(np.array([cut]))
        inside = self.t < cut
        before = Trace(
            self.name,
            np.append(self.t[inside], cut) - self.t[0],
            np.append(self.rps[inside], rps),
            np.append(self.cost[inside], cost),
            self.start,
        )
        later = self.t > cut
        start = None if self.start is None else self.start + timedelta(seconds=at_s)
        after = Trace(
            self.name,
            np.insert(self.t[later], 0, cut) - cut,
            np.insert(self.rps[later], 0, rps),
            np.insert(self.cost[later], 0, cost),
            start,
        )
        return before, after

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "duration_s": round(self.duration_s, 3),
            "points": len(self.t),
            "rps_min": round(float(self.rps.min()), 3),
            "rps_mean": round(float(_time_mean(self.t, self.rps)), 3),
            "rps_max": round(float(self.rps.max()), 3),
            "cost_max": round(float(self.cost.max()), 3),
            "upward_steps": [
                {"t_start_s": round(s, 3), "t_end_s": round(e, 3)} for s, e in upward_steps(self)
            ],
        }


def _time_mean(t: np.ndarray, y: np.ndarray) -> float:
    if len(t) < 2 or t[-1] == t[0]:
        return float(y.mean())
    return float(np.sum((y[1:] + y[:-1]) * np.diff(t)) / 2 / (t[-1] - t[0]))


STEP_FACTOR = 2.0
"""An upward step: the rate grows at least this much (or from ~0) ..."""
STEP_SPAN_S = 120.0
"""... within this many seconds of consecutive rising points."""


def upward_steps(trace: Trace) -> list[tuple[float, float]]:
    """(start, end) of each upward step: a run of rising points that at least doubles the rate
    within STEP_SPAN_S. Slow rises (a diurnal morning) are not steps."""
    steps: list[tuple[float, float]] = []
    t, rps = trace.t, trace.rps
    i = 0
    while i < len(t) - 1:
        if rps[i + 1] <= rps[i]:
            i += 1
            continue
        j = i
        while j < len(t) - 1 and rps[j + 1] > rps[j] and t[j + 1] - t[i] <= STEP_SPAN_S:
            j += 1
        low, high = rps[i], rps[j]
        if high >= STEP_FACTOR * low and high - low >= 1.0:
            steps.append((float(t[i]), float(t[j])))
        i = max(j, i + 1)
    return steps


def load_trace(path: Path, display: str | None = None) -> Trace:
    """Read a CSV or Prometheus JSON trace; InputError with `file:line:col` for every bad row."""
    shown = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_TRACE_BYTES:
            raise InputError(
                [Diagnostic(shown, 0, 0, f"trace is {size} bytes; the limit is {MAX_TRACE_BYTES}")]
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Diagnostic(shown, 0, 0, "trace file not found")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError([Diagnostic(shown, 0, 0, f"cannot read trace: {error}")]) from None
    if text.lstrip().startswith("{"):
        return parse_prometheus(text, shown, path.stem)
    return parse_csv(text, shown, path.stem)


def parse_csv(text: str, display: str, name: str) -> Trace:
    problems: list[Diagnostic] = []
    rows: list[tuple[float, float, float]] = []
    header_allowed = True
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in raw.split(",")]
        offsets = _field_columns(raw)
        if header_allowed and not _is_number(fields[0]):
            header_allowed = False
            names = tuple(f.lower() for f in fields)
            if names not in (COLUMNS[:2], COLUMNS):
                problems.append(
                    Diagnostic(
                        display,
                        number,
                        1,
                        f"header must be `t_seconds,rps` or `t_seconds,rps,cost`, got `{line}`",
                    )
                )
            continue
        header_allowed = False
        if len(fields) not in (2, 3):
            problems.append(
                Diagnostic(
                    display, number, 1, f"expected t_seconds,rps[,cost], got {len(fields)} fields"
                )
            )
            continue
        values: list[float] = []
        for index, field_text in enumerate(fields):
            value = _number(field_text)
            if value is None:
                problems.append(
                    Diagnostic(
                        display,
                        number,
                        offsets[index],
                        f"{COLUMNS[index]} `{field_text}` is not a finite number",
                    )
                )
                break
            values.append(value)
        else:
            t, rps = values[0], values[1]
            cost = values[2] if len(values) == 3 else 1.0
            if rps < 0:
                problems.append(
                    Diagnostic(display, number, offsets[1], f"rps {fields[1]} is negative")
                )
            elif cost <= 0:
                problems.append(
                    Diagnostic(display, number, offsets[2], f"cost {fields[2]} must be > 0")
                )
            elif rows and t <= rows[-1][0]:
                problems.append(
                    Diagnostic(
                        display,
                        number,
                        offsets[0],
                        f"time {fields[0]} is not after the previous row's {rows[-1][0]:g}; "
                        "rows must be in increasing time order",
                    )
                )
            else:
                rows.append((t, rps, cost))
    if not problems and len(rows) < 2:
        problems.append(Diagnostic(display, 0, 0, "a trace needs at least two rows"))
    if problems:
        raise InputError(problems)
    array = np.array(rows, dtype=float)
    t0 = array[0, 0]
    return Trace(name, array[:, 0] - t0, array[:, 1], array[:, 2])


def _field_columns(raw: str) -> list[int]:
    """1-based column where each comma-separated field's text starts."""
    columns, start = [], 0
    for part in raw.split(","):
        columns.append(start + (len(part) - len(part.lstrip())) + 1)
        start += len(part) + 1
    return columns


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_prometheus(text: str, display: str, name: str) -> Trace:
    def fail(message: str, line: int = 0) -> InputError:
        return InputError([Diagnostic(display, line, 0, message)])

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            [Diagnostic(display, error.lineno, error.colno, f"not JSON: {error.msg}")]
        ) from None
    if not isinstance(document, dict) or document.get("status") != "success":
        raise fail('expected a Prometheus query_range response with "status": "success"')
    data = document.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise fail('expected "data": {"resultType": "matrix", ...} (a range query export)')
    result = data.get("result")
    if not isinstance(result, list) or not result:
        raise fail('"data.result" is empty: the query matched no series')
    totals: dict[float, float] = {}
    for series_index, series in enumerate(result):
        values = series.get("values") if isinstance(series, dict) else None
        if not isinstance(values, list):
            raise fail(f'data.result[{series_index}] has no "values" list')
        for point_index, point in enumerate(values):
            where = f"data.result[{series_index}].values[{point_index}]"
            if not (isinstance(point, list) and len(point) == 2):
                raise fail(f'{where} must be [timestamp, "value"]')
            stamp = _number(str(point[0]))
            value = _number(str(point[1]))
            if stamp is None or value is None:
                raise fail(f"{where} = {point!r} is not a finite [timestamp, value] pair")
            if value < 0:
                raise fail(f"{where}: rps {value:g} is negative")
            totals[stamp] = totals.get(stamp, 0.0) + value
    stamps = sorted(totals)
    if len(stamps) < 2:
        raise fail("a trace needs at least two samples")
    t = np.array(stamps)
    rps = np.array([totals[s] for s in stamps])
    start = datetime.fromtimestamp(stamps[0], tz=UTC)
    return Trace(name, t - t[0], rps, np.ones_like(rps), start)
