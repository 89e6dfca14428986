"""The background sampler: Prometheus -> windows -> answers, on wall-clock-aligned instants.

Horizontal (every `horizontal_interval_s`, 1 s): one grouped range query per horizontal signal
(concurrency, gateway requests) evaluated at aligned instants T = floor(now - lag), covering every
instant not sampled yet
(after a start, a Prometheus outage or a slow tick), so every process holds the same window for
the same T. The instants are kept for the longest window plus what its jump guard and arrival
estimate look back before it (`HorizontalWindow.lookback_s`: 20 + 272 s by default): a
ScaledObject seen for the first time gets its window from this history at once, in exactly the
state a window fed since the series began is in. Then every answer is recomputed in memory, in
short slices, by `decision.answer`: GetMetrics never waits on Prometheus.

Vertical (at every multiple of `vertical.interval_s`, 30 s): per boundary not decided yet, one
grouped query per signal, then `decide` once per ScaledObject. A boundary is all-or-nothing: if
any query fails, no state moves and it is replayed later, so two processes reading the same
Prometheus make the same decisions in the same order.

Missing data never scales down: a failed tick freezes the answers (floors may still raise them).
A successful query without a series for a ScaledObject means no traffic (0), which is what the
standard exporters report by dropping series.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import math
import time
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from plugins.apa.config import HORIZONTAL_SIGNALS, VERTICAL_SIGNALS, ScalerConfig
from plugins.apa.decision import (
    Answer,
    ScheduleFloor,
    Signals,
    aligned_instant,
    answer,
    decide,
    schedule_floor,
)
from plugins.apa.prometheus import Instants, Key, PrometheusClient, PrometheusError
from plugins.apa.registry import Entry, Registry
from plugins.apa.state import Saved, save
from plugins.apa.telemetry import Telemetry

log = logging.getLogger("knobless.scaler")

Instant = tuple[float, dict[Key, float], dict[Key, float]]
"""One aligned instant of the horizontal signals: (t, {key: concurrency}, {key: requests})."""
Stored = tuple[float, "array[float]", "array[float]"]
"""An instant as the history keeps it: values by series index (`Sampler._series`), 0.0 where a
series is absent; an empty array when the instant had no series at all. Two arrays of doubles
instead of two dicts of float objects: 80 KB instead of 530 KB per signal and instant at
10,000 series, 17 MB less for a 20 s history."""


def without_concurrency(instant: Instant) -> list[Key]:
    """Versions with gateway requests but no concurrency series at this instant, sorted."""
    _, concurrency, requests = instant
    return sorted(key for key, rate in requests.items() if rate > 0 and key not in concurrency)


def tune_gc() -> None:
    """Every tick allocates an object or two per ScaledObject; with CPython's default threshold
    (700) that triggers collections scanning the long-lived registry: measured, over half of a
    10,000-object tick. Ticks build no reference cycles, so collect far less often."""
    gc.set_threshold(50_000, 20, 100)


class ScheduleCache:
    """Schedule floors per distinct schedule, recomputed once per minute (cron's resolution)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[ScheduleFloor, ...], tuple[int, float]] = {}

    def floor(self, schedule: tuple[ScheduleFloor, ...], at: float) -> float:
        if not schedule:
            return 0.0
        minute = int(at // 60)
        hit = self._cache.get(schedule)
        if hit is not None and hit[0] == minute:
            return hit[1]
        value = schedule_floor(schedule, datetime.fromtimestamp(minute * 60, UTC))
        self._cache[schedule] = (minute, value)
        return value


class Sampler:
    def __init__(
        self,
        registry: Registry,
        client: PrometheusClient,
        config: ScalerConfig,
        telemetry: Telemetry,
        *,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.registry = registry
        self.client = client
        self.config = config
        self.telemetry = telemetry
        self.state_path = state_path
        self.clock = clock
        self.on_tick = on_tick  # after every horizontal tick: publish the answers
        self.schedules = ScheduleCache()
        self.last_t: float | None = None  # last aligned instant sampled
        self.last_tick_ok = False
        self.ticked = asyncio.Event()  # set after every horizontal tick, then replaced
        self._vertical_task: asyncio.Task[None] | None = None
        self._vertical_done = -math.inf  # last boundary a round was started for
        self._vertical_tried = -math.inf
        self._vertical_ok = True
        # Recent instants of the horizontal signals, oldest first: a new ScaledObject's window
        # is filled from here without asking Prometheus again.
        self.history: deque[Stored] = deque()
        self._series: dict[Key, int] = {}  # series key -> index in the stored arrays
        self._blind: list[Key] = []  # requests but no concurrency series at the last instant

    # -- timing -----------------------------------------------------------------------------

    def aligned(self, second: float) -> float:
        """The evaluation instant for a tick at wall-clock `second`."""
        return aligned_instant(second, self.config.lag_s, self.config.horizontal_interval_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick just after each aligned second until `stop` is set."""
        step = self.config.horizontal_interval_s
        while not stop.is_set():
            now = self.clock()
            second = math.floor(now / step) * step + step
            delay = second + self.config.tick_offset_s - now
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(delay, 0.0))
                break
            except TimeoutError:
                pass
            await self.tick(second)

    async def tick(self, second: float) -> None:
        await self.horizontal_tick(second)
        interval = self.config.vertical.interval_s
        boundary = math.floor((second - self.config.lag_s) / interval) * interval
        running = self._vertical_task is not None and not self._vertical_task.done()
        # Once per boundary; a failed round is retried, at most every `retry_s` seconds.
        due = boundary > self._vertical_done or (
            not self._vertical_ok and second - self._vertical_tried >= self.config.retry_s
        )
        if not running and due:
            self._vertical_done = boundary
            self._vertical_tried = second
            # Its own task: a slow vertical query must not delay the 1 s horizontal answers.
            self._vertical_task = asyncio.create_task(self.vertical_round(boundary))

    # -- horizontal -------------------------------------------------------------------------

    async def horizontal_tick(self, second: float) -> None:
        started = time.perf_counter()
        t = self.aligned(second)
        step = self.config.horizontal_interval_s
        entries = list(self.registry)
        span = max((_span(e) for e in entries), default=0.0)
        span = max(span, self.config.history_s)
        earliest = t - math.ceil(span / step) * step + step
        covered = self.history and self.history[0][0] <= earliest
        # Only the instants not sampled yet; the whole window on start, after a gap, or when a
        # new ScaledObject has a longer window than the history kept.
        start = earliest
        if covered and self.last_t is not None:
            start = max(self.last_t + step, earliest)
        fresh = False
        if entries and start <= t:
            instants = await self._horizontal(start, t, step)
            if instants is not None:
                if instants[-1][1] or instants[-1][2]:
                    self._remember(instants, earliest)
                    self._blind = without_concurrency(instants[-1])
                    fresh = True
                else:
                    # Not a single series at t: Prometheus restarted empty or scrapes stopped.
                    # That is missing data, not "no traffic anywhere": retried next tick.
                    self.telemetry.prometheus_up.set(1)
                    self.telemetry.degraded.set(1)
                    self.telemetry.degraded_reason = "no series at the evaluation instant"
        elif entries:
            fresh = self.last_t == t
        for index, entry in enumerate(entries):
            if fresh:
                self._feed(entry)
            self._answer(entry, self.last_t if fresh else t, second, fresh=fresh)
            if index % 250 == 249:
                # Let the process's other tasks (registrations from the gRPC process) in.
                await asyncio.sleep(0)
        self.last_tick_ok = fresh or not entries
        self.telemetry.scaledobjects.set(len(entries))
        if self.last_tick_ok:
            self.telemetry.prometheus_up.set(1)
            self.telemetry.missing_concurrency.set(len(self._blind))
            if self._blind:
                # The gateway sees requests the concurrency template does not: the answer for
                # those versions is their floor whatever the load (a template reading series
                # that do not exist, e.g. destination-side series without sidecars).
                namespace, service = self._blind[0]
                self.telemetry.degraded.set(1)
                self.telemetry.degraded_reason = (
                    f"{len(self._blind)} version(s) with requests but no concurrency series "
                    f"(e.g. {namespace}/{service}): check the concurrency query template"
                )
            else:
                self.telemetry.degraded.set(0)
                self.telemetry.degraded_reason = ""
            self.telemetry.last_success.set(second)
            self.telemetry.sample_time.set(t)
        self.telemetry.tick_seconds.labels("horizontal").observe(time.perf_counter() - started)
        if self.on_tick is not None:
            self.on_tick()
        # httpx leaves each response (a 1 MB body at 10,000 series) in a reference cycle, and
        # with the raised thresholds nothing else here allocates enough to trigger a collection:
        # measured, +1.8 MB a second. The young generations are small: this costs well under
        # a millisecond.
        gc.collect(1)
        self.ticked.set()
        self.ticked = asyncio.Event()

    async def _horizontal(self, start: float, end: float, step: float) -> list[Instant] | None:
        """Every horizontal signal over the same instants; None when any query failed."""
        results = []
        for signal in HORIZONTAL_SIGNALS:
            result = await self._query(signal, start, end, step)
            if result is None:
                return None
            results.append(result)
        concurrency, requests = results
        return [(t, c, r) for (t, c), (_, r) in zip(concurrency, requests, strict=True)]

    def _remember(self, instants: list[Instant], earliest: float) -> None:
        """Append newly sampled instants to the history and drop the ones before `earliest`."""
        history = self.history
        last = history[-1][0] if history else None
        if last is not None and instants[0][0] <= last:  # a refetch: rebuild from the response
            history.clear()
            last = None
        history.extend(self._compact(instant) for instant in instants)
        while history and history[0][0] < earliest:
            history.popleft()
        self.last_t = history[-1][0]

    def _compact(self, instant: Instant) -> Stored:
        t, concurrency, requests = instant
        series = self._series
        for key in itertools.chain(concurrency, requests):
            if key not in series:
                series[key] = len(series)
        return t, self._array(concurrency), self._array(requests)

    def _array(self, values: dict[Key, float]) -> array[float]:
        if not values:
            return array("d")
        series = self._series
        stored = array("d", bytes(8 * len(series)))
        for key, value in values.items():
            stored[series[key]] = value
        return stored

    def _feed(self, entry: Entry) -> None:
        """Add the instants this entry's window lacks, from the shared history (a new entry
        gets its whole window at once, identical to what a long-running process holds)."""
        window = entry.window
        key = entry.key
        last = window.last_t
        history = self.history
        # Walk back only as far as needed: usually one instant.
        index = len(history)
        while index > 0 and (last is None or history[index - 1][0] > last):
            index -= 1
        series = self._series.get(key, -1)
        for at, concurrency, requests in itertools.islice(history, index, None):
            if concurrency or requests:  # an instant without any series carries no information
                # No series: no requests (idle, or no pod behind the route).
                window.add(
                    at,
                    concurrency[series] if 0 <= series < len(concurrency) else 0.0,
                    requests[series] if 0 <= series < len(requests) else 0.0,
                )
        entry.needs_backfill = False

    def _answer(self, entry: Entry, t: float | None, second: float, *, fresh: bool) -> None:
        bounds = entry.bounds
        floor = self.schedules.floor(entry.metadata.schedule, second)
        vertical = entry.vertical
        if fresh and t is not None and not entry.needs_backfill:
            result = answer(
                entry.window, t, bounds, vertical.target, vertical.latency_baseline_ms, floor=floor
            )
        elif entry.value is not None:  # missing data: last good answer, raised by any floor
            previous = Answer(entry.value, bool(entry.active))
            result = answer(None, None, bounds, vertical.target, floor=floor, previous=previous)
        else:
            return
        entry.value = result.value
        entry.active = result.active

    def answer_now(self, entry: Entry) -> None:
        """Answer a just-registered entry at once from the shared history, when it covers the
        entry's window (otherwise the next tick fetches what is missing)."""
        if entry.value is not None or not self.last_tick_ok or self.last_t is None:
            return
        history = self.history
        needed = self.last_t - _span(entry) + self.config.horizontal_interval_s
        if history and history[0][0] <= needed:
            self._feed(entry)
            self._answer(entry, self.last_t, self.clock(), fresh=True)

    async def _query(self, signal: str, start: float, end: float, step: float) -> Instants | None:
        started = time.perf_counter()
        try:
            return await self.client.query_range(self.config.queries[signal], start, end, step)
        except PrometheusError as error:
            self.telemetry.query_errors.labels(signal, error.kind).inc()
            self.telemetry.prometheus_up.set(0)
            self.telemetry.degraded.set(1)
            self.telemetry.degraded_reason = f"prometheus {signal} query failed: {error}"
            log.warning("prometheus %s query failed: %s", signal, error)
            return None
        finally:
            self.telemetry.query_seconds.labels(signal).observe(time.perf_counter() - started)

    # -- vertical ---------------------------------------------------------------------------

    def _origin(self, boundary: float) -> float:
        # A new ScaledObject starts from its initial target at the start of the current epoch
        # of `catchup_rounds` boundaries and replays from there: processes that learn about it
        # at different moments of the same epoch end in the same state.
        epoch = self.config.vertical.interval_s * self.config.catchup_rounds
        return math.floor(boundary / epoch) * epoch

    def _pending(self, entry: Entry, boundary: float) -> bool:
        decided = entry.vertical.decided_at
        return decided is None or decided < boundary

    async def vertical_round(self, boundary: float) -> None:
        started = time.perf_counter()
        interval = self.config.vertical.interval_s
        entries = [e for e in self.registry if self._pending(e, boundary)]
        if not entries:
            return
        oldest = boundary - (self.config.catchup_rounds - 1) * interval
        first = max(
            oldest,
            min(
                (
                    e.vertical.decided_at
                    if e.vertical.decided_at is not None
                    else self._origin(boundary)
                )
                + interval
                for e in entries
            ),
        )
        if first > boundary:
            return
        config = self.config.vertical
        self._vertical_ok = True
        at = first
        while at <= boundary:
            # One boundary at a time and one signal after the other: after a gap or a start the
            # responses stay small, so no single parse holds the event loop for long.
            snapshot: dict[str, dict[Key, float]] = {}
            for signal in VERTICAL_SIGNALS:
                result = await self._query(signal, at, at, interval)
                if result is None:
                    self._vertical_ok = False
                    return  # all-or-nothing per boundary: replayed once Prometheus answers
                snapshot[signal] = result[0][1]
            for index, entry in enumerate(entries):
                if index % 250 == 249:
                    await asyncio.sleep(0)  # registrations from the gRPC process go first
                decided = entry.vertical.decided_at
                if decided is None:
                    decided = self._origin(boundary)
                if at <= decided:
                    continue
                sample = _signals(snapshot, entry.key, at)
                decision = decide(entry.vertical, (sample,), entry.bounds, config, now=at)
                entry.vertical = decision.state
                self.telemetry.decisions.labels(decision.action, decision.code).inc()
                level = logging.DEBUG if decision.action == "hold" else logging.INFO
                if log.isEnabledFor(level):  # a hold's reason is built only when read
                    log.log(
                        level, "%s/%s at %d: %s", entry.namespace, entry.name, at, decision.reason
                    )
            at += interval
        self.telemetry.tick_seconds.labels("vertical").observe(time.perf_counter() - started)
        await self.save_state_async()

    async def stop_vertical(self) -> None:
        """Cancel a vertical round still running (on shutdown, before the client closes under
        it): each entry records the boundary it decided, so the next start replays the rest."""
        task = self._vertical_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def save_state(self) -> None:
        """Write the state file now (on shutdown)."""
        if self.state_path is not None:
            self._write(self.state_path, [e.saved() for e in self.registry])

    async def save_state_async(self) -> None:
        """Snapshot in the loop, serialize and write in a thread: 10,000 objects take a while
        to encode, and the pure-Python encoder lets the gRPC calls run meanwhile."""
        if self.state_path is not None:
            snapshot = [e.saved() for e in self.registry]
            await asyncio.to_thread(self._write, self.state_path, snapshot)

    def _write(self, path: Path, snapshot: list[Saved]) -> None:
        try:
            save(path, snapshot)
            self.telemetry.state_writes.labels("ok").inc()
        except OSError as error:
            self.telemetry.state_writes.labels("error").inc()
            log.error("cannot write state %s: %s", path, error)


def _span(entry: Entry) -> float:
    """Seconds of instants an entry's window needs to answer as a long-fed one: its window and
    what the jump guard and the arrival estimate look back before it."""
    return entry.metadata.window_seconds + entry.window.lookback_s


def _signals(snapshot: dict[str, dict[Key, float]], key: Key, at: float) -> Signals:
    concurrency = snapshot["concurrency"].get(key)
    replicas = snapshot["replicas"].get(key)
    per_replica = None
    if concurrency is not None and replicas:
        per_replica = concurrency / replicas
    return Signals(
        t=at,
        replicas=replicas,
        concurrency_per_replica=per_replica,
        cpu_utilization=snapshot["cpu"].get(key),
        gpu_utilization=snapshot["gpu"].get(key),
        memory_utilization=snapshot["memory"].get(key),
        latency_ms=snapshot["latency"].get(key),
        queue_per_replica=snapshot["queue"].get(key),
    )


__all__: Sequence[str] = ("Sampler", "ScheduleCache")
