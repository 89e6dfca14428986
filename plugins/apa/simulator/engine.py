"""The simulation loop: one simulated second at a time, the same Poisson arrivals for every policy.

Before the trace starts, a warm-up at the trace's first rate (not counted) lets every policy
settle and the APA learn, as a cluster that has been serving for a while would have.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from plugins.apa.simulator.cluster import Pods, advance
from plugins.apa.simulator.observed import RATE_WINDOW_S, Observed
from plugins.apa.simulator.policies import View
from plugins.apa.simulator.profile import Profile

STEP_S = 1.0
"""Every cadence modelled (1 s samples, 2 s KPA ticks, 15 s syncs, polling) is whole seconds."""
IDLE_IN_FLIGHT = 0.01
"""The fluid in-flight count decays exponentially and never reaches 0 by itself; below this
many requests it is 0, so idle really is idle (KEDA's IsActive, Knative's scale to zero)."""
METRICS_SERVER_WINDOW_S = 15
"""metrics-server resolution: CPU usage the HPA reads is averaged over this and refreshed as often."""


class Policy(Protocol):
    name: str
    initial: int

    def tick(self, view: View) -> int | None: ...


@dataclass(frozen=True)
class Inputs:
    """The arrival process and model behavior shared by all policies of one run."""

    arrivals: np.ndarray  # requests arriving in each step (Poisson counts)
    rate: np.ndarray  # the trace's rate at each step (demand, without noise)
    cost: np.ndarray  # cost multiplier at each step
    profile: Profile
    scrape_s: int
    warmup_steps: int
    max_replicas: int
    buffers_at_zero: bool = False
    rate_window_s: int = RATE_WINDOW_S


@dataclass
class Run:
    """Per-step records of one policy (warm-up included; `Inputs.warmup_steps` marks the start)."""

    policy: str
    pods: np.ndarray
    ready: np.ndarray
    inflight: np.ndarray
    log_factor: np.ndarray  # ln(latency / service time) of requests arriving in the step
    served: np.ndarray  # requests accepted in the step (latency weight)
    rejected: np.ndarray
    deferred: list[tuple[int, float, float]] = field(default_factory=list)
    """Requests held while nothing was ready: (step released, count, ln factor)."""
    targets: list[tuple[float, float]] = field(default_factory=list)
    floors: list[tuple[float, float]] = field(default_factory=list)
    """apa: (step, forecast floor in flight) whenever the floor changed."""


def simulate_policy(policy: Policy, inputs: Inputs) -> Run:
    profile = inputs.profile
    steps = len(inputs.arrivals)
    service_s = profile.service_time_ms / 1000.0
    capacity = profile.replica_capacity
    timeout_wait = profile.timeout_s / service_s  # the largest slowdown before a timeout
    pods_rec = np.zeros(steps, dtype=np.int32)
    ready_rec = np.zeros(steps, dtype=np.int32)
    inflight_rec = np.zeros(steps)
    factor_rec = np.zeros(steps)
    served_rec = np.zeros(steps)
    rejected_rec = np.zeros(steps)
    run = Run(policy.name, pods_rec, ready_rec, inflight_rec, factor_rec, served_rec, rejected_rec)

    # The cluster as it stands at the start: enough ready pods for the first rate at capacity.
    pods = Pods(profile.startup_s)
    c0 = capacity / float(inputs.cost[0])
    start = max(policy.initial, math.ceil(float(inputs.rate[0]) * service_s / c0))
    pods.ready_at = [-math.inf] * min(start, max(inputs.max_replicas, policy.initial))
    in_flight = min(float(inputs.rate[0]) * service_s, len(pods.ready_at) * c0)

    observed = Observed(
        inputs.scrape_s, profile.gpu is not None, profile.exports_queue, inputs.rate_window_s
    )
    cpu_acc = 0.0
    cpu_usage = 0.0
    cpu_ready = cpu_unready = 0
    held: deque[list[float]] = deque()  # [arrival second, count] waiting at the activator
    gpu = profile.gpu

    for i in range(steps):
        now = float(i)
        ready = pods.ready(now)
        arrivals = float(inputs.arrivals[i])
        c_eff = capacity / float(inputs.cost[i])
        rejected = 0.0
        if ready == 0:
            rejected += in_flight  # requests on pods that went away
            in_flight = 0.0
            if inputs.buffers_at_zero:
                held.append([now, arrivals])
                while held and now - held[0][0] > profile.timeout_s:
                    rejected += held.popleft()[1]
            else:
                rejected += arrivals  # no endpoint behind the route: 503 at the gateway
            factor_rec[i] = math.nan
            n_avg = 0.0
            queue_proxy = sum(h[1] for h in held)
            observed.record(0.0, 0.0, 0.0, 0, 0.0, None, arrivals)
        else:
            total = arrivals
            while held:  # the activator releases what it held to the new pod
                arrived, count = held.popleft()
                run.deferred.append((i, count, math.log1p((now - arrived) / service_s)))
                total += count
            slots = ready * c_eff
            after = advance(in_flight, total / STEP_S, slots, service_s, STEP_S)
            limit = ready * min(profile.queue_limit, c_eff * timeout_wait)
            if after > limit:
                rejected += after - limit
                after = limit
            if after < IDLE_IN_FLIGHT:
                after = 0.0  # an expectation this small means no request is in flight
            n_avg = 0.5 * (in_flight + after)
            in_flight = after
            factor_rec[i] = math.log(max(1.0, n_avg / slots))
            served = max(0.0, arrivals - rejected)
            served_rec[i] = served
            queue_proxy = n_avg
            per_replica = n_avg / ready
            u = min(per_replica, c_eff) / c_eff
            cpu = profile.cpu.at(u)
            cpu_acc += cpu
            observed.record(
                n_avg,
                profile.service_time_ms * math.exp(factor_rec[i]),
                served,
                ready,
                cpu,
                (
                    gpu.at(u) if gpu else 0.0,
                    profile.memory.at(u),
                    max(0.0, per_replica - c_eff),
                ),
                arrivals,
            )
        rejected_rec[i] = rejected
        pods_rec[i] = pods.count
        ready_rec[i] = ready
        inflight_rec[i] = n_avg
        end = now + STEP_S
        if (i + 1) % METRICS_SERVER_WINDOW_S == 0:
            # metrics-server: a pod counts once it was Ready for a whole window (the HPA's
            # CPU initialization rules, simplified); usage is the window's mean per pod.
            counted = pods.ready_since(end, METRICS_SERVER_WINDOW_S)
            cpu_ready = counted
            cpu_unready = pods.count - counted
            cpu_usage = cpu_acc / METRICS_SERVER_WINDOW_S * counted
            cpu_acc = 0.0
        view = View(
            now=end,
            pods=pods.count,
            ready=pods.ready(end),
            observed=observed,
            cpu_ready_usage=cpu_usage,
            cpu_ready=cpu_ready,
            cpu_unready=cpu_unready,
            queue_proxy_concurrency=queue_proxy,
        )
        replicas = policy.tick(view)
        if replicas is not None:
            pods.scale(end, replicas)
    run.targets = list(getattr(policy, "targets", []))
    run.floors = list(getattr(policy, "floors", []))
    return run
