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

from plugins.apa.simulator.cluster import Pods
from plugins.apa.simulator.observed import RATE_WINDOW_S, Observed
from plugins.apa.simulator.policies import View
from plugins.apa.simulator.profile import Profile
from plugins.apa.simulator.queueing import (
    LOG_BIN,
    capacity_key,
    queue_table,
    slowdown_histogram,
    utilization_key,
)

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
    log_factor: np.ndarray  # ln(mean latency / service time) of requests arriving in the step
    served: np.ndarray  # requests accepted in the step (latency weight)
    rejected: np.ndarray
    slowdown: np.ndarray
    """Requests served after the warm-up by ln(slowdown) in bins of LOG_BIN (the queue's
    distribution of each step, not only its mean: what the latency percentiles are made of)."""
    deferred: list[tuple[int, float, float]] = field(default_factory=list)
    """Requests held while nothing was ready: (step released, count, ln factor)."""
    targets: list[tuple[float, float]] = field(default_factory=list)
    floors: list[tuple[float, float]] = field(default_factory=list)
    """apa: (step, forecast floor in flight) whenever the floor changed."""


def slowdown_bins(profile: Profile) -> int:
    """Bins of ln(slowdown) a run records: up to the slowdown at which even a request 6 sigma
    shorter than the mean would exceed the timeout (slower ones are all timed out)."""
    sigma = math.sqrt(math.log1p(profile.service_time_cv**2))
    top = math.log(profile.timeout_s * 1000.0 / profile.service_time_ms) + 6 * sigma
    return max(2, math.ceil(top / LOG_BIN) + 2)


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
    bins = slowdown_bins(profile)
    slowdown = np.zeros(bins)
    run = Run(
        policy.name,
        pods_rec,
        ready_rec,
        inflight_rec,
        factor_rec,
        served_rec,
        rejected_rec,
        slowdown,
    )
    weights: dict[tuple[int, int], float] = {}  # served requests per (capacity, rho) step
    last_slots, table, table_key = -1.0, queue_table(1.0), 0

    # The cluster as it stands at the start: enough ready pods for the first rate at capacity.
    pods = Pods(profile.startup_s)
    c0 = capacity / float(inputs.cost[0])
    start = max(policy.initial, math.ceil(float(inputs.rate[0]) * service_s / c0))
    pods.ready_at = [-math.inf] * min(start, max(inputs.max_replicas, policy.initial))
    in_flight = (
        queue_table(len(pods.ready_at) * c0).steady(float(inputs.rate[0]), service_s)
        if pods.ready_at
        else 0.0
    )

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
            if slots != last_slots:  # fleets and costs change rarely: look up on change only
                table, table_key, last_slots = queue_table(slots), capacity_key(slots), slots
            after = table.step(in_flight, total / STEP_S, service_s, STEP_S)
            limit = ready * min(profile.queue_limit, c_eff * timeout_wait)
            if after > limit:
                rejected += after - limit
                after = limit
            if after < IDLE_IN_FLIGHT:
                after = 0.0  # an expectation this small means no request is in flight
            n_avg = 0.5 * (in_flight + after)
            in_flight = after
            rho, factor = table.state(n_avg)
            factor_rec[i] = math.log(factor)
            served = max(0.0, arrivals - rejected)
            served_rec[i] = served
            if i >= inputs.warmup_steps and served > 0:
                key = (table_key, utilization_key(rho))
                weights[key] = weights.get(key, 0.0) + served
            queue_proxy = n_avg
            cpu = profile.cpu.at(rho)  # the share of the slots busy
            cpu_acc += cpu
            observed.record(
                n_avg,
                profile.service_time_ms * factor,
                served,
                ready,
                cpu,
                (
                    gpu.at(rho) if gpu else 0.0,
                    profile.memory.at(rho),
                    max(0.0, n_avg - slots * rho) / ready,
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
    for (capacity_step, utilization_step), weight in weights.items():
        index, probs = slowdown_histogram(capacity_step, utilization_step, bins)
        slowdown[index] += weight * probs
    run.targets = list(getattr(policy, "targets", []))
    run.floors = list(getattr(policy, "floors", []))
    return run
