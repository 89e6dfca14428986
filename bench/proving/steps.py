"""Steps 2 and 4 of the proving ground: the scaler learning a real replica's target, and the
replica count following a load step through the HPA arithmetic (the simulator's `Hpa`)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.proving.analysis import levels
from bench.proving.ground import Ground
from bench.proving.keda import Answer, KedaPoller
from plugins.apa.simulator.endpoint import ServedSystem
from plugins.apa.simulator.hpa import SYNC_PERIOD_S, Behavior, Hpa
from plugins.apa.simulator.profile import Profile
from plugins.apa.simulator.simulation import Settings, simulate
from plugins.apa.simulator.trace import Trace

LEARN_TOLERANCE = 0.20
FOLLOW_TOLERANCE = 0.30
LEARN_CYCLE = (0.6, 1.0, 1.3)
"""Step 2's load, as fractions of the knee's rate, repeated: a replica below, at and above its
knee (one replica, no horizontal scaling), as traffic over a day would show it."""


def learn(
    ground: Ground,
    knee_in_flight: float,
    knee_rate: float,
    out: Path,
    *,
    seconds: float,
    starts: dict[str, float | None],
    phase_s: float = 60.0,
) -> dict[str, Any]:
    """Poll one ScaledObject per start (None: the rendered perReplicaInitial) while the load
    cycles; the first time each target is within +-20% of the knee and stays there."""
    pollers = []
    for label, start in starts.items():
        metadata = dict(ground.trigger.metadata)
        name = ground.trigger.name if start is None else f"{ground.trigger.name}-{label}"
        if start is not None:
            # The compiler starts every target at the runtime's default clamped into perReplica;
            # a start 4x too high is set on the trigger as KEDA would forward it.
            metadata["perReplicaInitial"] = f"{start:g}"
            metadata["perReplicaMax"] = str(max(int(metadata["perReplicaMax"]), math.ceil(start)))
        # A fast replica's knee can be under the rendered perReplicaMin (1): the min would then
        # floor the learned target above the band whatever the rule says. As far below the
        # knee as the start above it (a quarter), so either side of the band is reachable.
        floor = float(metadata["perReplicaMin"])
        if knee_in_flight / 4 < floor:
            metadata["perReplicaMin"] = f"{round(knee_in_flight / 4, 3):g}"
        poller = KedaPoller(
            ground.scaler,
            name,
            ground.trigger.namespace,
            metadata,
            ground.trigger.polling_interval_s,
        )
        pollers.append((label, poller.start()))
    phases: list[tuple[float, float]] = []
    elapsed = 0.0
    while elapsed < seconds:
        fraction = LEARN_CYCLE[len(phases) % len(LEARN_CYCLE)]
        span = min(phase_s, seconds - elapsed)
        phases.append((round(knee_rate * fraction, 1), span))
        elapsed += span
    began = time.time()
    loaded = ground.load(phases, out / "learn.json", seed=4)
    result: dict[str, Any] = {
        "load": phases,
        "knee_in_flight": knee_in_flight,
        "latency_seen": latency_seen(ground, loaded, began),
    }
    for label, poller in pollers:
        poller.poll()
        poller.stop()
        result[label] = _learned(poller, knee_in_flight, ground)
    return result


HAPROXY_1024_MS = (
    "(haproxy_backend_queue_time_average_seconds{{proxy={proxy!r}}}"
    " + haproxy_backend_response_time_average_seconds{{proxy={proxy!r}}}) * 1000"
)
"""HAProxy's own means over its last 1,024 requests (queue + response), for comparison."""
HAPROXY_LITTLE_MS = (
    "avg_over_time(haproxy_backend_current_sessions{{proxy={proxy!r}}}[5s])"
    " / rate(haproxy_backend_http_requests_total{{proxy={proxy!r}}}[5s]) * 1000"
)
"""Little's law over the other signals' 5 s window: mean in flight / request rate."""


def latency_seen(ground: Ground, loaded: dict[str, Any], began: float) -> list[dict[str, Any]]:
    """Per phase of step 2: the load generator's mean latency against what the scaler's
    `latency` template read over the phase (mean and spread of its 1 s evaluations, from 6 s in
    so the 5 s ranges hold the phase alone) and HAProxy's 1,024-request means."""
    metadata = ground.trigger.metadata
    proxy = f"{metadata['selector.namespace']}.{metadata['selector.service']}"
    templates = {
        "template": ground.scaler.queries["latency"],
        "haproxy_1024": HAPROXY_1024_MS.format(proxy=proxy),
        "littles_law": HAPROXY_LITTLE_MS.format(proxy=proxy),
    }
    rows = []
    begin = 0.0
    for phase, level in zip(loaded["phases"], levels(loaded), strict=True):
        seconds = float(phase["seconds"])
        row: dict[str, Any] = {
            "rate": phase["rate"],
            "from_s": begin,
            "measured_mean_ms": round(level.mean_ms, 2),
            "measured_p50_ms": round(level.p50_ms, 2),
        }
        for label, expr in templates.items():
            values = ground.prometheus.series(expr, began + begin + 6.0, began + begin + seconds)
            row[label] = {
                "mean_ms": round(float(np.mean(values)), 2) if values else None,
                "cv": round(float(np.std(values) / np.mean(values)), 3) if values else None,
                "n": len(values),
            }
        rows.append(row)
        begin += seconds
    return rows


def _learned(poller: KedaPoller, knee: float, ground: Ground) -> dict[str, Any]:
    targets = [(a.at, a.target) for a in poller.answers if a.target is not None]
    low, high = knee * (1 - LEARN_TOLERANCE), knee * (1 + LEARN_TOLERANCE)
    within_at = None
    for at, target in targets:
        inside = low <= target <= high
        if inside and within_at is None:
            within_at = at
        elif not inside:
            within_at = None
    return {
        "name": poller.name,
        "start": targets[0][1] if targets else None,
        "final": targets[-1][1] if targets else None,
        "within_20pct_from_s": None if within_at is None else round(within_at, 1),
        "targets": [(round(at, 1), round(t, 3)) for at, t in targets],
        "answers": [
            (round(a.at, 1), round(a.replicas_needed, 3), a.active, a.target)
            for a in poller.answers
        ],
        "reasons": [
            r
            for _, r in ground.scaler.reasons(poller.namespace, poller.name)
            if not r.startswith("hold")
        ][-20:],
        "errors": poller.errors,
    }


@dataclass
class Actuator:
    """KEDA's loop + the HPA on the scaler's answers, as the simulator computes them: every
    HPA sync the External AverageValue proposal (target 1) and `Hpa.reconcile` with the
    rendered behavior, bounded by the replicas this machine can run; the result applied to the
    proving ground's replicas (start, ready, in rotation)."""

    ground: Ground
    poller: KedaPoller
    max_replicas: int
    events: list[tuple[float, int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hpa = Hpa(
            Behavior.from_spec(self.ground.trigger.behavior),
            max(1, self.ground.trigger.min_replicas),
            self.max_replicas,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hpa", daemon=True)
        self.ready: list[tuple[float, int]] = []

    def start(self) -> Actuator:
        self._thread.start()
        return self

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            answer: Answer = self.poller.poll()
            now = answer.at
            current = len(self.ground.running)
            proposal = self.hpa.external_average_value(answer.replicas_needed, 1.0, current)
            desired = self.hpa.reconcile(now, current, proposal)
            self.events.append((round(now, 1), desired, round(answer.replicas_needed, 3)))
            if desired != current:
                self.ground.scale_to(desired)
                self.ready.append((round(self.poller.elapsed(), 1), desired))
            next_at += SYNC_PERIOD_S
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(240)


def follow(
    ground: Ground,
    profile: Profile,
    system: ServedSystem,
    knee_rate: float,
    out: Path,
    *,
    before_s: float,
    after_s: float,
    settle_s: float = 45.0,
) -> dict[str, Any]:
    """A load step from half the knee's rate (one replica) to 1.6x (two) with the actuator on;
    seconds from the step to the second replica in rotation, against the simulator's.

    A ScaledObject of its own (a fresh target, as a new version would start) and a quiet
    `settle_s` first: the scaler's concurrency window still holds the previous step's load,
    which would otherwise ask for two replicas before the step."""
    low, high = round(0.5 * knee_rate, 1), round(1.6 * knee_rate, 1)
    time.sleep(settle_s)
    poller = KedaPoller(
        ground.scaler,
        f"{ground.trigger.name}-follow",
        ground.trigger.namespace,
        ground.trigger.metadata,
        ground.trigger.polling_interval_s,
    )
    poller.start()
    actuator = Actuator(ground, poller, max_replicas=len(ground.replicas)).start()
    step_at = before_s
    ground.load([(low, before_s), (high, after_s)], out / "follow.json", seed=5)
    actuator.stop()
    poller.stop()
    two = next((at for at, n in actuator.ready if n >= 2 and at >= step_at), None)
    measured = None if two is None else round(two - step_at, 1)
    predicted = predicted_follow_s(profile, system, low, high)
    return {
        "rates": [low, high],
        "step_at_s": step_at,
        "measured_s": measured,
        "predicted_s": predicted,
        "ratio": None if measured is None or not predicted else round(measured / predicted, 3),
        "hpa": actuator.events,
        "scaled": actuator.ready,
    }


def predicted_follow_s(
    profile: Profile, system: ServedSystem, low: float, high: float
) -> float | None:
    """The simulator (apa policy) on the same step: seconds until two replicas are ready."""
    t = np.array([0.0, 299.0, 300.0, 600.0])
    trace = Trace("step", t, np.array([low, low, high, high]), np.ones(4))
    sim = simulate(system, profile, trace, ("apa",), Settings(seed=1, scrape_s=1, rate_window_s=5))
    run = sim.runs["apa"]
    start = sim.inputs.warmup_steps + 300
    later = np.nonzero(run.ready[start:] >= 2)[0]
    return None if len(later) == 0 else float(later[0])
