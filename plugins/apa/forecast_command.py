"""`knobless forecast`: the floors the scaler's forecast would raise, as a reviewable `schedule`.

The same `DemandProfile` the simulator's apa policy runs learns the history (a Prometheus range
query of the version's in-flight, or a trace file), then the coming week's floors are grouped
into windows — from the first 5-minute slot the forecast raises above the spec's floor to the
last, holding the window's highest floor — and printed as `scaling.schedule` entries (the
endpoint-wide `minConcurrency`: this version's floor over its traffic share), with the expected
cost in replica-hours at the version's initial per-replica target.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from compiler import hookimpl
from compiler.errors import UsageError

HISTORY_DAYS = 14
RAISED = 1.5
"""A slot belongs to a window when its floor is over this multiple of the week's median floor."""
DESCRIPTION = """\
Learn a served version's daily and weekly demand from its history and print the floors the
scaler's forecast would raise over the coming week as a `schedule:` block (paste it under
`scaling:` in the endpoint file to have them reviewed and applied as fixed windows), with the
expected cost. History: --prometheus URL (the last two weeks of the version's in-flight, read
with the scaler's default `concurrency` query) or --history FILE (a trace: `t_seconds,rps[,cost]`
CSV or a Prometheus range-query JSON export of the endpoint's request rate).
"""
EPILOG = """\
exit codes:
  0  printed (possibly an empty schedule: nothing recurs above the spec's floor)
  1  invalid history, endpoint or environment (file:line:col: error: ...)
  2  usage error, or Prometheus unreachable
"""


@hookimpl
def knobless_add_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "forecast",
        help="the floors the scaler's forecast would raise, as a `schedule:` block",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("endpoint", metavar="ENDPOINT")
    parser.add_argument(
        "--env", required=True, metavar="ENV", help="the environment whose endpoint to forecast"
    )
    parser.add_argument("--served", metavar="NAME", help="served version (default: most traffic)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prometheus", metavar="URL", help="read the last two weeks from here")
    source.add_argument("--history", type=Path, metavar="FILE", help="a trace file")
    parser.add_argument(
        "--start",
        metavar="ISO",
        help="wall-clock time of a CSV history's t=0 (default: a Prometheus export's own, "
        "else 2026-01-05T00:00Z, a Monday)",
    )
    parser.add_argument(
        "--rps-scale", type=float, default=1.0, metavar="X", help="multiply the history's rate"
    )
    parser.add_argument("--timezone", default="UTC", metavar="TZ", help="of the windows (IANA)")
    parser.add_argument(
        "--root", type=Path, default=Path("."), metavar="DIR", help="repository root (default: .)"
    )
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class Window:
    start: datetime  # local
    end: datetime
    floor: float  # endpoint-wide minConcurrency


def run(args: argparse.Namespace) -> int:
    from plugins.apa.forecast import DemandProfile
    from plugins.apa.simulator.endpoint import served_system
    from plugins.apa.simulator.profile import runtime_profile

    root: Path = args.root
    if not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--timezone {args.timezone}: not an IANA time zone") from None
    system = served_system(root.resolve(), args.env, args.endpoint, args.served)
    profile = runtime_profile(
        system.runtime, cpu_cores=system.cpu_cores, gpu_count=system.gpu_count
    )
    if args.history is not None:
        if not args.rps_scale > 0:
            raise UsageError(f"--rps-scale {args.rps_scale}: must be > 0")
        points, end = _trace_history(args.history, args.start, args.rps_scale, system, profile)
    else:
        points, end = _prometheus_history(args.prometheus, system)
    demand = DemandProfile()
    demand.learn(points)
    windows = coming_windows(demand, end, profile.startup_s, system, zone)
    print_schedule(windows, system, profile.startup_s, args, sys.stdout)
    return 0


def _trace_history(
    path: Path, start: str | None, scale: float, system: Any, profile: Any
) -> tuple[list[tuple[float, float]], float]:
    from plugins.apa.simulator.simulation import DEFAULT_START, history_demand
    from plugins.apa.simulator.trace import load_trace

    trace = load_trace(path, str(path)).scaled(scale)
    origin = trace.start or DEFAULT_START
    if start is not None:
        try:
            origin = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--start {start}: not an ISO 8601 time") from None
        if origin.tzinfo is None:
            raise UsageError(f"--start {start}: give a time zone (e.g. {start}Z)")
    end = origin + timedelta(seconds=trace.duration_s)
    return history_demand(trace, system, profile, end), end.timestamp()


def _prometheus_history(url: str, system: Any) -> tuple[list[tuple[float, float]], float]:
    from plugins.apa.config import DEFAULT_QUERIES
    from plugins.apa.forecast import SLOT_S
    from plugins.apa.prometheus import PrometheusClient, PrometheusError

    # The peak of each slot (a 30 s rate sampled every 30 s), one point per slot: two weeks
    # are 4,032 points, under Prometheus' 11,000 per series.
    query = f"max_over_time(({DEFAULT_QUERIES['concurrency']})[{SLOT_S}s:30s])"
    end = math.floor(time.time() / SLOT_S) * SLOT_S
    start = end - HISTORY_DAYS * 86400

    async def fetch() -> list[tuple[float, dict[tuple[str, str], float]]]:
        client = PrometheusClient(url, timeout_s=30.0)
        try:
            return await client.query_range(query, start, end, SLOT_S)
        finally:
            await client.aclose()

    try:
        instants = asyncio.run(fetch())
    except PrometheusError as error:
        raise UsageError(f"--prometheus {url}: {error}") from None
    key = system.key
    points = [(t - SLOT_S, values[key]) for t, values in instants if key in values]
    if not points:
        raise UsageError(
            f"--prometheus {url}: no in-flight series for {key[0]}/{key[1]} in the last "
            f"{HISTORY_DAYS} days (is the version serving, are the gateway metrics scraped?)"
        )
    return points, float(end)


def coming_windows(
    demand: Any, end: float, startup_s: float, system: Any, zone: ZoneInfo
) -> list[Window]:
    """The week after `end`: runs of slots whose floor is above the spec's, as windows."""
    from plugins.apa.forecast import SLOT_S, WEEK_SLOTS

    share = system.traffic_percent / 100.0
    high = system.bounds.concurrency_max
    windows: list[Window] = []
    first = math.ceil(end / SLOT_S)
    floors = [
        min(demand.floor(s * SLOT_S, startup_s), high) for s in range(first, first + WEEK_SLOTS)
    ]
    # A window is where the floor stands well above the week's usual level (which the scaler
    # follows reactively anyway) and above the spec's floor.
    usual = sorted(floors)[len(floors) // 2]
    low = max(system.bounds.concurrency_min, RAISED * usual)
    opened: tuple[int, float] | None = None
    for index in range(WEEK_SLOTS + 1):
        slot = first + index
        value = floors[index] if index < WEEK_SLOTS else 0.0
        raised = value > low
        if raised:
            opened = (slot, value) if opened is None else (opened[0], max(opened[1], value))
        elif opened is not None:
            start = datetime.fromtimestamp(opened[0] * SLOT_S, UTC).astimezone(zone)
            stop = datetime.fromtimestamp(slot * SLOT_S, UTC).astimezone(zone)
            windows.append(Window(start, stop, _nice(opened[1] / share)))
            opened = None
    return windows


def _nice(value: float) -> float:
    """Up to two significant digits, rounded up: days alike print as one window."""
    if value <= 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(value)) - 1)
    return math.ceil(value / step - 1e-9) * step


def _cron_day(moment: datetime) -> int:
    return (moment.weekday() + 1) % 7  # cron: 0 = Sunday


def _days(days: Sequence[int]) -> str:
    ordered = sorted(set(days))
    if len(ordered) > 1 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(str(d) for d in ordered)


def print_schedule(
    windows: list[Window], system: Any, startup_s: float, args: argparse.Namespace, out: TextIO
) -> None:
    # Days with the same hours print as one entry holding the highest of their floors.
    groups: dict[tuple[str, str, int], tuple[list[int], float]] = {}
    for w in windows:
        days_later = (w.end.date() - w.start.date()).days
        key = (w.start.strftime("%H:%M"), w.end.strftime("%H:%M"), days_later)
        days, floor = groups.get(key, ([], 0.0))
        groups[key] = ([*days, _cron_day(w.start)], max(floor, w.floor))
    share = system.traffic_percent / 100.0
    hours = 0.0
    for w in windows:
        key = (
            w.start.strftime("%H:%M"),
            w.end.strftime("%H:%M"),
            (w.end.date() - w.start.date()).days,
        )
        hours += (w.end - w.start).total_seconds() / 3600 * groups[key][1] * share
    target = system.bounds.per_replica_initial
    source = f"--history {args.history}" if args.history is not None else args.prometheus
    out.write(
        f"# knobless forecast {system.endpoint} --env {system.env_name} "
        f"(served {system.served}, {system.traffic_percent}% of traffic), from {source}\n"
        "# windows: where the forecast floor is over 1.5x its weekly median and the spec's floor\n"
        f"# windows open {startup_s:g} s (the {system.runtime} start-up budget) + 60 s ahead of "
        "the demand they hold\n"
        f"# expected cost: {hours / target:,.1f} replica-hours a week for this version at "
        f"{target:g} in flight per replica (its initial target)\n"
    )
    if not groups:
        out.write("schedule: []  # nothing recurs above the spec's floor\n")
        return
    out.write("schedule:\n")
    for (start, end, later), (days, floor) in sorted(groups.items(), key=lambda g: (g[1][0], g[0])):
        sh, sm = (int(x) for x in start.split(":"))
        eh, em = (int(x) for x in end.split(":"))
        end_days = [(d + later) % 7 for d in days]
        floor_text = f"{floor:g}"
        out.write(
            f'  - {{start: "{sm} {sh} * * {_days(days)}", end: "{em} {eh} * * {_days(end_days)}", '
            f"timezone: {args.timezone}, minConcurrency: {floor_text}}}\n"
        )
