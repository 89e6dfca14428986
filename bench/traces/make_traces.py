"""Write the standard traces of bench/autoscaling.py (deterministic; run to regenerate).

    /work/venv/bin/python bench/traces/make_traces.py

Rates are those of the CPU classifier (fraud-scorer); the benchmark scales them per model
profile so every model sees the same shapes at loads its endpoint can hold. All traces run in
real time (no compression): the diurnal day is 86,400 simulated seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write(name: str, comment: str, rows: Sequence[tuple[float, ...]], cost: bool = False) -> None:
    header = "t_seconds,rps,cost" if cost else "t_seconds,rps"
    lines = [f"# {line}" for line in comment.strip().splitlines()] + [header]
    for row in rows:
        lines.append(",".join(f"{value:g}" for value in row))
    (HERE / f"{name}.csv").write_text("\n".join(lines) + "\n")


def spike10x() -> None:
    write(
        "spike10x",
        """
spike10x: a sale starts. 3,000 rps for 15 min, 10x (30,000 rps) within 5 s, held 45 min,
back to 3,000 rps within 5 s, 15 min more. 75 min in all.
""",
        [(0, 3000), (900, 3000), (905, 30000), (3600, 30000), (3605, 3000), (4500, 3000)],
    )


def ramp() -> None:
    write(
        "ramp",
        """
ramp: 10 rps for 10 min, then 10 -> 10,000 rps within 10 s, held 20 min, back down over 10 min.
""",
        [(0, 10), (600, 10), (610, 10000), (1810, 10000), (2410, 10), (3000, 10)],
    )


def diurnal() -> None:
    # Two daily peaks (late morning, evening) over a night trough, one point per 5 minutes,
    # with a slow multiplicative random walk (+-3% per point) for the day's own noise.
    rng = random.Random(20261128)
    rows, wobble = [], 1.0
    for k in range(24 * 12 + 1):
        hour = k / 12
        morning = math.exp(-(((hour - 11.0) / 3.0) ** 2))
        evening = 0.8 * math.exp(-(((hour - 20.0) / 2.5) ** 2))
        wobble = min(1.15, max(0.85, wobble * (1 + rng.uniform(-0.03, 0.03))))
        rows.append((k * 300, round((1500 + 10500 * max(morning, evening)) * wobble, 1)))
    write(
        "diurnal",
        """
diurnal: one day in real time (86,400 s): 1,500 rps at night, 12,000 at the late-morning peak,
9,900 in the evening; a point per 5 min (interpolated) with a slow +-3% random walk.
""",
        rows,
    )


def bursty() -> None:
    # Bursts of uneven length and gap (fixed list, so the trace is the same everywhere).
    bursts = [(300, 60), (660, 120), (1020, 45), (1320, 90), (1680, 30), (1860, 150), (2400, 60)]
    rows: list[tuple[float, ...]] = [(0, 800)]
    for start, length in bursts:
        rows += [
            (start, 800),
            (start + 2, 12000),
            (start + length, 12000),
            (start + length + 2, 800),
        ]
    rows.append((3000, 800))
    write(
        "bursty",
        """
bursty: on/off traffic for 50 min: 800 rps with seven bursts to 12,000 rps (each up within 2 s),
30 s to 150 s long, 2 to 9 min apart.
""",
        rows,
    )


def zero_and_back() -> None:
    write(
        "zero_and_back",
        """
zero_and_back: 3,000 rps for 10 min, drops to 0 within 10 s, nothing for 20 min, then back to
3,000 rps within 5 s for 15 min (a batch client that stops and restarts).
""",
        [(0, 3000), (600, 3000), (610, 0), (1810, 0), (1815, 3000), (2700, 3000)],
    )


def cost_drift() -> None:
    # Traffic roughly flat; the work per request drifts up 2.5x over an hour (a feature change,
    # longer inputs), stays, and drifts back. The third column multiplies the cost of a request.
    rows = []
    for k in range(0, 3 * 3600 + 1, 300):
        minute = k / 60
        if minute <= 30:
            cost = 1.0
        elif minute <= 90:
            cost = 1.0 + 1.5 * (minute - 30) / 60
        elif minute <= 120:
            cost = 2.5
        elif minute <= 150:
            cost = 2.5 - 1.5 * (minute - 120) / 30
        else:
            cost = 1.0
        rps = 6000 * (1 + 0.1 * math.sin(2 * math.pi * k / 3600))
        rows.append((k, round(rps, 1), round(cost, 3)))
    write(
        "cost_drift",
        """
cost_drift: ~6,000 rps (+-10% hourly wave) for 3 h while the work per request drifts from 1x to
2.5x over an hour (min 30-90), holds 30 min and drifts back to 1x (min 120-150). Column 3 is the
cost multiplier: a replica saturates at capacity / cost concurrent requests.
""",
        rows,
        cost=True,
    )


def two_weeks() -> None:
    # A point a minute from Monday 00:00 UTC (the simulator's default start) for 14 days.
    rng = random.Random(20261203)
    rows: list[tuple[float, ...]] = []
    wobble = 1.0
    for minute in range(14 * 24 * 60 + 1):
        day, rest = divmod(minute, 24 * 60)
        hour = rest / 60
        weekday = day % 7 < 5
        rate = 3000.0
        if weekday:  # the working day: 3,000 -> 30,000 rps between 08:30 and 09:00, back by 18:30
            rate += 27000.0 * min(1.0, max(0.0, (hour - 8.5) / 0.5), max(0.0, (18.5 - hour)))
        elif 11 <= hour < 16:
            rate = 6000.0  # a quiet weekend midday
        if day % 7 == 5 and 3 + 2 / 60 <= hour < 3 + 40 / 60:
            rate = 40000.0  # the weekly batch: Saturday 03:00, up within 2 min, 38 min long
        if day == 9 and 13 + 1 / 60 <= hour < 13.5:
            rate = 60000.0  # week 2, Wednesday 13:00: a spike no history foretells
        if minute % 5 == 0:
            wobble = min(1.06, max(0.94, wobble * (1 + rng.uniform(-0.01, 0.01))))
        rows.append((minute * 60, round(rate * wobble, 1)))
    write(
        "two_weeks",
        """
two_weeks: 14 days from a Monday 00:00 UTC, a point a minute. 3,000 rps at night and on weekends
(6,000 at weekend middays); each weekday 3,000 -> 30,000 rps between 08:30 and 09:00, held,
back to 3,000 by 18:30; every Saturday 03:00 a batch of 40,000 rps for 38 min (up within 2 min);
in week 2 only, Wednesday 13:00-13:30, a spike to 60,000 rps that no history foretells; a slow
+-1% random walk. The forecast benchmark learns from week 1 and is judged on week 2.
""",
        rows,
    )


if __name__ == "__main__":
    for make in (spike10x, ramp, diurnal, bursty, zero_and_back, cost_drift, two_weeks):
        make()
