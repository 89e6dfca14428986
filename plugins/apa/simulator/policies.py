"""The autoscalers compared: `apa` (ours), `fixed`, `cpu`, `kpa` and `ray`.

Each is ticked once per simulated second with what it could observe (`View`) and answers the
Deployment's new spec.replicas (or None for no change). The loops keep their real cadences:
KEDA every pollingInterval, the HPA every 15 s sync, the scaler's 1 s samples and 30 s vertical
decisions, Knative's 2 s decision tick, Ray Serve's 10 s metric pushes — each with its own phase
drawn from the seed, since in a cluster nothing is aligned with the start of a traffic step.
The peers' own arithmetic lives in hpa.py, keda.py, knative.py and rayserve.py, checked against
their upstream unit tests (tests/simulator/upstream/).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from plugins.apa.config import ScalerConfig
from plugins.apa.decision import (
    Answer,
    HorizontalWindow,
    VerticalConfig,
    VerticalState,
    aligned_instant,
    answer,
    decide,
    demand,
    rate_range,
    schedule_floor,
    vertical_boundary,
)
from plugins.apa.forecast import DemandProfile
from plugins.apa.simulator import knative, rayserve
from plugins.apa.simulator.endpoint import ServedSystem
from plugins.apa.simulator.hpa import SYNC_PERIOD_S, Hpa
from plugins.apa.simulator.keda import KedaLoop
from plugins.apa.simulator.observed import Observed

CPU_TARGET_UTILIZATION = 0.80
"""KServe's raw-deployment default (constants.DefaultCPUUtilization), which is also what
kubectl autoscale and the HPA API default to."""


@dataclass(frozen=True)
class View:
    """What the autoscalers can observe at `now` (the end of the second just simulated)."""

    now: float
    pods: int
    """The Deployment's spec.replicas (pods existing, ready or starting)."""
    ready: int
    observed: Observed
    """Prometheus: what the scaler's queries and KEDA's Prometheus triggers read."""
    cpu_ready_usage: float
    """metrics-server: summed CPU utilization of the pods it counts as ready."""
    cpu_ready: int
    cpu_unready: int
    queue_proxy_concurrency: float
    """Knative: total in-flight this second as queue-proxies (and the activator) report it."""


def _phase(seed_phase: float, period: float) -> float:
    return math.floor(seed_phase * period)


def _due(now: float, period: float, phase: float) -> bool:
    return period > 0 and (now - phase) % period == 0


class KedaHpaPolicy:
    """KEDA + HPA on an External AverageValue metric; subclasses say what the metric is."""

    name = ""

    def __init__(
        self, system: ServedSystem, min_replicas: int, target: float, phases: tuple[float, float]
    ):
        self.system = system
        self.target = target
        self.keda = KedaLoop(min_replicas, system.polling_interval_s, system.cooldown_s)
        self.hpa = Hpa(system.behavior, max(1, min_replicas), max(system.max_replicas, 1))
        self.keda_phase = _phase(phases[0], system.polling_interval_s)
        self.hpa_phase = _phase(phases[1], SYNC_PERIOD_S)
        self.initial = max(1, min_replicas)

    def observe(self, view: View) -> None:
        """Called every second before any decision."""

    def value(self, view: View) -> float:
        raise NotImplementedError

    def active(self, view: View, value: float) -> bool:
        return value > 0

    def tick(self, view: View) -> int | None:
        self.observe(view)
        replicas = view.pods
        if _due(view.now, self.system.polling_interval_s, self.keda_phase):
            value = self.value(view)  # GetMetrics, then IsActive
            replicas = self.keda.poll(view.now, self.active(view, value), replicas)
        if replicas > 0 and _due(view.now, SYNC_PERIOD_S, self.hpa_phase):
            value = self.value(view)
            proposal = self.hpa.external_average_value(value, self.target, replicas)
            replicas = self.hpa.reconcile(view.now, replicas, proposal)
        return replicas if replicas != view.pods else None


class ApaPolicy(KedaHpaPolicy):
    """The APA scaler as plugins/apa/sampler.py runs it, through the same pure functions:
    every second both horizontal signals at the aligned instant (`aligned_instant`) go into the
    window; GetMetrics and IsActive are `answer(...)`; at every vertical boundary
    (`vertical_boundary`) one `decide` with the signals at that instant."""

    name = "apa"

    def __init__(
        self,
        system: ServedSystem,
        phases: tuple[float, float, float],
        start: datetime,
        config: ScalerConfig | None = None,
        *,
        rate_range_s: float | None = None,
        forecast: DemandProfile | None = None,
        lead_s: float = 0.0,
        origin_s: float | None = None,
        initial_target: float | None = None,
    ):
        super().__init__(system, system.min_replicas, 1.0, phases[:2])
        # Forecast floors (plugins/apa/forecast.py): the profile learns from every sample, the
        # floor rises `lead_s` (the pods' start-up) ahead of the demand it expects.
        self.forecast = forecast
        self.lead_s = lead_s
        # Unix time of simulated second 0 (the warm-up's start): schedules and forecast slots
        # are wall-clock.
        self.origin_s = start.timestamp() if origin_s is None else origin_s
        self.floors: list[tuple[float, float]] = []  # (now, forecast floor) when it changes
        self.scaler = config or ScalerConfig()
        self.config: VerticalConfig = self.scaler.vertical
        self.bounds = system.bounds
        # The range of the `requests` query the simulated Prometheus is read with (default: the
        # scaler's own query), as the server gives it to its windows.
        if rate_range_s is None:
            rate_range_s = rate_range(self.scaler.queries["requests"])
        self.window = HorizontalWindow(system.window_s, rate_range_s)
        self.state = VerticalState.initial(self.bounds)
        if initial_target is not None:
            self.state = VerticalState(target=self.bounds.clamp_target(initial_target))
        self.vertical_phase = _phase(phases[2], self.config.interval_s)
        self.start = start
        self.instant = -math.inf
        self.targets: list[tuple[float, float]] = [(0.0, self.state.target)]
        self.decisions: list[tuple[float, str, str]] = []

    def sample(self, view: View, instant: float) -> None:
        """The horizontal signals at `instant`, as the default queries read them."""
        observed = view.observed
        self.window.add(instant, observed.concurrency_rate(instant), observed.request_rate(instant))
        if self.forecast is not None:
            needed = demand(self.window, instant, self.state.latency_baseline_ms)
            if needed is not None:
                wall = self.origin_s + instant
                self.forecast.observe(wall, needed, self.bounds.concurrency_min)

    def vertical(self, view: View, instant: float) -> None:
        sample = view.observed.signals(instant)
        decision = decide(self.state, (sample,), self.bounds, self.config, now=instant)
        if decision.target != self.state.target:
            self.targets.append((view.now, decision.target))
        if decision.action != "hold":
            self.decisions.append((view.now, decision.action, decision.reason))
        self.state = decision.state

    def observe(self, view: View) -> None:
        instant = aligned_instant(view.now, self.scaler.lag_s, self.scaler.horizontal_interval_s)
        if instant <= self.instant:
            return
        self.instant = instant
        self.sample(view, instant)
        if vertical_boundary(instant, self.config.interval_s, self.vertical_phase):
            self.vertical(view, instant)

    def floor(self, now: float) -> float:
        scheduled = 0.0
        if self.system.schedule:
            at = datetime.fromtimestamp(self.origin_s + now, UTC)
            scheduled = schedule_floor(self.system.schedule, at)
        if self.forecast is None:
            return scheduled
        forecast = self.forecast.floor(self.origin_s + now, self.lead_s)
        if not self.floors or self.floors[-1][1] != forecast:
            self.floors.append((now, forecast))
        return max(scheduled, forecast)

    def answer(self, view: View) -> Answer:
        return answer(
            self.window,
            self.instant,
            self.bounds,
            self.state.target,
            self.state.latency_baseline_ms,
            floor=self.floor(view.now),
        )

    def value(self, view: View) -> float:
        return self.answer(view).value

    def active(self, view: View, value: float) -> bool:
        return self.answer(view).active


class FixedPolicy(KedaHpaPolicy):
    """KEDA's Prometheus trigger on the endpoint's in-flight requests with a fixed AverageValue
    target per replica, the way KServe/Ray users configure request-based autoscaling."""

    name = "fixed"

    def __init__(self, system: ServedSystem, target: float, phases: tuple[float, float]):
        floor = math.ceil(system.bounds.concurrency_min / target)
        min_replicas = 0 if system.min_replicas == 0 else max(1, floor)
        super().__init__(system, min_replicas, target, phases)

    def value(self, view: View) -> float:
        # An in-flight gauge as last scraped (KServe's KEDA examples use vLLM's running gauge).
        return view.observed.in_flight_gauge(view.now)


class CpuPolicy:
    """A plain HPA on CPU utilization (70% of the request); it never scales to zero."""

    name = "cpu"

    def __init__(self, system: ServedSystem, fixed_target: float, phase: float):
        floor = max(1, math.ceil(system.bounds.concurrency_min / fixed_target))
        self.hpa = Hpa(system.behavior, floor, max(system.max_replicas, floor))
        self.phase = _phase(phase, SYNC_PERIOD_S)
        self.initial = floor

    def tick(self, view: View) -> int | None:
        if not _due(view.now, SYNC_PERIOD_S, self.phase):
            return None
        proposal = self.hpa.resource_utilization(
            view.pods,
            view.cpu_ready_usage,
            view.cpu_ready,
            view.cpu_unready,
            CPU_TARGET_UTILIZATION,
        )
        replicas = self.hpa.reconcile(view.now, view.pods, proposal)
        return replicas if replicas != view.pods else None


def _floor_replicas(system: ServedSystem, fixed_target: float) -> int:
    """The endpoint's provisioned floor in replicas at the `fixed` target (0: scale to zero)."""
    if system.min_replicas == 0:
        return 0
    return max(1, math.ceil(system.bounds.concurrency_min / fixed_target))


class KpaPolicy:
    """Knative's KPA with default settings: the decider (knative.py) every 2 s tick on the
    collector's stable (60 s) and panic (6 s) averages of per-second concurrency, then the KPA
    reconciler: min/max scale, scale to zero after the grace period. At zero the activator holds
    requests and pokes the autoscaler at once."""

    name = "kpa"

    def __init__(
        self,
        system: ServedSystem,
        container_concurrency: int | None,
        fixed_target: float,
        phase: float,
        *,
        target: float | None = None,
    ):
        """`target`: a tuned soft target at 100% utilization (still capped by a hard
        containerConcurrency); None: the defaults."""
        self.target, total = knative.resolve_target(container_concurrency)
        if target is not None:
            total = min(target, float(container_concurrency or target))
            self.target = total
        self.spec = knative.DeciderSpec(target_value=self.target, total_value=total)
        self.decider: knative.Decider | None = None
        self.history: deque[float] = deque(maxlen=knative.STABLE_WINDOW_S)
        self.zero_since: float | None = None
        self.min_scale = _floor_replicas(system, fixed_target)
        self.max_scale = max(system.max_replicas, self.min_scale)
        self.phase = _phase(phase, knative.TICK_S)
        self.initial = max(1, self.min_scale)

    def tick(self, view: View) -> int | None:
        self.history.append(view.queue_proxy_concurrency)  # the collector's 1 s buckets
        if self.decider is None:  # created over the pods that exist when it starts
            self.decider = knative.Decider(self.spec, view.ready, view.now)
        if not _due(view.now, knative.TICK_S, self.phase):
            return None
        stable = sum(self.history) / len(self.history)
        recent = list(self.history)[-knative.PANIC_WINDOW_S :]
        panic = sum(recent) / len(recent)
        desired = self.decider.scale(view.now, view.ready, stable, panic).desired
        if view.ready == 0 and view.queue_proxy_concurrency > 0:
            desired = max(desired, 1)  # the activator pokes the autoscaler: scale from zero now
        desired = min(max(desired, self.min_scale), self.max_scale)
        if desired == 0 and view.pods > 0:
            # Scale to zero only after the grace period with no demand.
            if self.zero_since is None:
                self.zero_since = view.now
            if view.now - self.zero_since < knative.SCALE_TO_ZERO_GRACE_S:
                desired = view.pods
        else:
            self.zero_since = None
        return desired if desired != view.pods else None


class RayPolicy:
    """Ray Serve's default autoscaling policy (rayserve.py) with its documented defaults.

    Each second the replicas' ongoing requests (running and queued, as the fluid model holds
    them) are recorded; every 10 s push the controller gets their average over the 30 s
    look-back; it decides every second (its 0.1 s loop, whose delays are wall-clock, decides the
    same). At zero the handle queues the requests and reports them at once (the cold-start path).
    Simplification: one push phase for the whole fleet, and a replica younger than the look-back
    is averaged over the fleet's window, not its own shorter one.
    """

    name = "ray"

    def __init__(
        self,
        system: ServedSystem,
        fixed_target: float,
        phase: float,
        *,
        target: float | None = None,
    ):
        """`target`: a tuned target_ongoing_requests; None: the default (2)."""
        floor = _floor_replicas(system, fixed_target)
        self.target = rayserve.TARGET_ONGOING_REQUESTS if target is None else target
        self.controller = rayserve.Controller(
            rayserve.AutoscalingConfig(
                min_replicas=floor,
                max_replicas=max(system.max_replicas, floor, 1),
                target_ongoing_requests=self.target,
            )
        )
        look_back = int(rayserve.LOOK_BACK_PERIOD_S)
        self.history: deque[float] = deque(maxlen=look_back)
        self.push_phase = _phase(phase, rayserve.METRICS_PUSH_INTERVAL_S)
        self.total: float = 0.0
        self.replicas: int | None = None  # the deployment's target_num_replicas
        self.initial = max(1, floor)

    def tick(self, view: View) -> int | None:
        self.history.append(view.queue_proxy_concurrency)
        if self.replicas is None:
            self.replicas = view.pods
        if _due(view.now, rayserve.METRICS_PUSH_INTERVAL_S, self.push_phase):
            self.total = sum(self.history) / len(self.history)
        if view.ready == 0 and view.queue_proxy_concurrency > 0:
            self.total = max(self.total, view.queue_proxy_concurrency)
        self.replicas = self.controller.decide(view.now, view.ready, self.replicas, self.total)
        return self.replicas if self.replicas != view.pods else None
