"""One simulation: a trace, a model profile and a served version, replayed through each policy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from plugins.apa.forecast import SLOT_S, DemandProfile
from plugins.apa.simulator.constants import DEFAULT_SCRAPE_S, POLICIES
from plugins.apa.simulator.endpoint import ServedSystem
from plugins.apa.simulator.engine import Inputs, Policy, Run, simulate_policy
from plugins.apa.simulator.hpa import SCALE_UP_DEFAULT
from plugins.apa.simulator.observed import RATE_WINDOW_S
from plugins.apa.simulator.oracle import OracleHpaPolicy, OraclePolicy, true_replicas
from plugins.apa.simulator.policies import ApaPolicy, CpuPolicy, FixedPolicy, KpaPolicy, RayPolicy
from plugins.apa.simulator.profile import Profile
from plugins.apa.simulator.results import converged_s, summarize
from plugins.apa.simulator.trace import Trace, upward_steps

FIXED_TARGET_FRACTION = 0.7
"""`fixed` without tuning: 70% of the true capacity, as a user tunes a target to an SLO."""
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)
"""Wall-clock time of t=0 for schedule windows when the trace has none (a Monday, 00:00 UTC)."""


@dataclass(frozen=True)
class Settings:
    seed: int = 1
    scrape_s: int = DEFAULT_SCRAPE_S
    """Prometheus scrape interval of the gateway and exporters (what the scaler and the
    `fixed` trigger read)."""
    fixed_target: float | None = None
    """Per-replica target of `fixed` (default FIXED_TARGET_FRACTION x the true capacity)."""
    start: datetime | None = None
    rate_window_s: int | None = None
    """Range of the `rate()` in the concurrency/latency/CPU queries (default: the scaler's own
    default concurrency query, `[30s]`)."""
    headroom: float = 1.0
    """Demand multiplier of the reference policies `oracle` and `oracle-hpa` (bench only)."""
    history_s: float = 0.0
    """The trace's first seconds are history: the apa policy's forecast learns from them (the
    scaler's range query at start) and only the rest is simulated and evaluated."""
    forecast: bool = True
    """Forecast floors in the apa policy (False: reactive only, for comparison)."""
    warmup_s: int | None = None
    """Seconds at the trace's first rate before it starts, not counted (default
    `warmup_steps(profile)`; 0: the trace starts at once, to measure learning from the start)."""
    initial_target: float | None = None
    """The APA's starting per-replica target (default the rendered initial one; clamped into
    the per-replica bounds as the scaler does)."""
    peer_target: float | None = None
    """Tune the peers as a team would: `kpa`'s soft target (autoscaling.knative.dev/target,
    at target-utilization 100%) and `ray`'s target_ongoing_requests set to this many in-flight
    requests per replica (default: their documented defaults, 100 x 70% and 2)."""


@dataclass(frozen=True)
class Simulation:
    system: ServedSystem
    profile: Profile
    trace: Trace
    settings: Settings
    inputs: Inputs
    runs: dict[str, Run]
    summaries: dict[str, dict[str, Any]]
    fixed_target: float

    @property
    def warmup_s(self) -> int:
        return self.inputs.warmup_steps

    def to_json(self) -> dict[str, Any]:
        profile = self.profile.to_json()
        profile["endpoint"] = self.system.to_json()
        profile["simulation"] = {
            "seed": self.settings.seed,
            "step_s": 1.0,
            "scrape_s": self.settings.scrape_s,
            "rate_window_s": self.inputs.rate_window_s,
            "warmup_s": self.warmup_s,
            "fixed_target": round(self.fixed_target, 3),
        }
        return {
            "policies": {name: self.summaries[name] for name in self.runs},
            "trace": self.trace.summary(),
            "profile": profile,
        }


def with_default_scale_up(system: ServedSystem) -> ServedSystem:
    """The served version behind Kubernetes' default HPA scale-up, max(+100%, +4 pods) per 15 s
    (the rendered scale-down kept): what the `fixed` and `cpu` baselines run with. The rendered
    scale-up follows the metric in one sync because the APA scaler caps its own answer by the
    load it measures; a plain metric has no such cap (`fixed`'s in-flight gauge counts a flooded
    queue), so giving it that scale-up would model no one's configuration."""
    return replace(system, behavior=replace(system.behavior, up=SCALE_UP_DEFAULT))


def history_demand(
    history: Trace, system: ServedSystem, profile: Profile, evaluated_start: datetime
) -> list[tuple[float, float]]:
    """The history as the scaler's range query at start reads it: this version's in flight at
    healthy latency (its traffic share x service time x cost), the peak of each forecast slot,
    at unix times ending where the evaluated part starts."""
    times = np.arange(0.0, math.floor(history.duration_s))
    rate, cost = history.sample(times)
    in_flight = rate * system.traffic_percent / 100.0 * profile.service_time_ms / 1000.0 * cost
    origin = evaluated_start.timestamp() - history.duration_s
    wall = origin + times
    slots = np.floor(wall / SLOT_S)
    edges = np.flatnonzero(np.diff(slots)) + 1
    peaks = np.maximum.reduceat(in_flight, np.concatenate([[0], edges]))
    firsts = wall[np.concatenate([[0], edges])]
    return list(zip(firsts.tolist(), peaks.tolist(), strict=True))


def warmup_steps(profile: Profile) -> int:
    """Long enough for a pod to start twice and the scale-down window to pass."""
    return 600 + 2 * math.ceil(profile.startup_s)


def simulate(
    system: ServedSystem,
    profile: Profile,
    trace: Trace,
    policies: Sequence[str] = POLICIES,
    settings: Settings | None = None,
    *,
    apa_policy: type[ApaPolicy] = ApaPolicy,
) -> Simulation:
    settings = settings or Settings()
    rng = np.random.default_rng(settings.seed)
    warmup = warmup_steps(profile) if settings.warmup_s is None else int(settings.warmup_s)
    start = settings.start or trace.start or DEFAULT_START
    history: Trace | None = None
    if settings.history_s > 0:
        history, trace = trace.split(settings.history_s)
        start += timedelta(seconds=settings.history_s)
    times = np.arange(0.0, math.floor(trace.duration_s) + 1.0)
    rate, cost = trace.sample(times)
    rate = np.concatenate([np.full(warmup, rate[0]), rate])
    cost = np.concatenate([np.full(warmup, cost[0]), cost])
    # The served version takes its traffic share of the endpoint's trace.
    rate = rate * system.traffic_percent / 100.0
    arrivals = rng.poisson(rate).astype(float)
    phases = tuple(float(x) for x in rng.random(4))
    inputs = Inputs(
        arrivals=arrivals,
        rate=rate,
        cost=cost,
        profile=profile,
        scrape_s=max(1, int(settings.scrape_s)),
        warmup_steps=warmup,
        max_replicas=system.max_replicas,
        rate_window_s=settings.rate_window_s or RATE_WINDOW_S,
    )
    fixed_target = settings.fixed_target or FIXED_TARGET_FRACTION * profile.replica_capacity
    steps = upward_steps(trace)
    runs: dict[str, Run] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for name in policies:
        policy: Policy
        target: tuple[float, float] | None = None
        run_inputs = inputs
        if name == "apa":
            forecast = None
            if settings.forecast:
                forecast = DemandProfile()
                if history is not None:
                    forecast.learn(history_demand(history, system, profile, start))
            apa = apa_policy(
                system,
                (phases[0], phases[1], phases[2]),
                start,
                rate_range_s=float(inputs.rate_window_s),
                forecast=forecast,
                lead_s=profile.startup_s,
                origin_s=start.timestamp() - warmup,
                initial_target=settings.initial_target,
            )
            policy = apa
        elif name == "fixed":
            policy = FixedPolicy(
                with_default_scale_up(system), fixed_target, (phases[0], phases[1])
            )
            target = (fixed_target, fixed_target)
        elif name == "cpu":
            policy = CpuPolicy(with_default_scale_up(system), fixed_target, phases[1])
        elif name == "oracle":
            policy = OraclePolicy(system, true_replicas(rate, cost, profile), settings.headroom)
        elif name == "oracle-hpa":
            needed = true_replicas(rate, cost, profile)
            policy = OracleHpaPolicy(system, needed, (phases[0], phases[1]), settings.headroom)
        elif name == "kpa":
            kpa = KpaPolicy(
                system, profile.container_concurrency, fixed_target, phases[3],
                target=settings.peer_target,
            )  # fmt: skip
            policy = kpa
            target = (kpa.target, kpa.target)
            run_inputs = Inputs(**{**inputs.__dict__, "buffers_at_zero": True})
        elif name == "ray":
            ray = RayPolicy(system, fixed_target, phases[3], target=settings.peer_target)
            policy = ray
            target = (ray.target, ray.target)
            # Serve's handles queue requests while a deployment has no replica.
            run_inputs = Inputs(**{**inputs.__dict__, "buffers_at_zero": True})
        else:
            raise ValueError(f"unknown policy {name!r}")
        run = simulate_policy(policy, run_inputs)
        if name == "apa":
            at_start = run.targets[0][1]
            for t, value in run.targets:
                if t <= warmup:
                    at_start = value
            target = (at_start, run.targets[-1][1])
        runs[name] = run
        summaries[name] = summarize(run, run_inputs, steps, target)
        if name == "apa":
            summaries[name]["per_replica_target"]["converged_s"] = converged_s(
                run.targets, run_inputs
            )
    return Simulation(system, profile, trace, settings, inputs, runs, summaries, fixed_target)
