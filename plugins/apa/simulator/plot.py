"""One PNG a person reads at a glance: traffic, replicas per policy, p99 latency per policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plugins.apa.simulator.results import p99_series
from plugins.apa.simulator.simulation import Simulation

COLORS = {
    "apa": "#1b7837",
    "fixed": "#2166ac",
    "cpu": "#b2182b",
    "kpa": "#e08214",
    "ray": "#762a83",
}
MAX_POINTS = 1500
"""Points per line: long traces are reduced to bins (max within a bin, so spikes stay visible)."""


def _binned(values: np.ndarray, size: int, reduce: str) -> np.ndarray:
    if size <= 1:
        return values
    usable = len(values) // size * size
    shaped = values[:usable].reshape(-1, size)
    with np.errstate(all="ignore"):
        if reduce == "max":
            return np.asarray(
                np.nanmax(shaped, axis=1) if np.isfinite(shaped).any() else shaped[:, 0]
            )
        return np.asarray(np.nanmean(shaped, axis=1))


def write_plot(simulation: Simulation, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = simulation.warmup_s
    rate = simulation.inputs.rate[start:]
    size = max(1, len(rate) // MAX_POINTS)
    minutes = simulation.trace.duration_s > 1800
    scale = 60.0 if minutes else 1.0
    x = _binned(np.arange(len(rate)) / scale, size, "mean")
    profile = simulation.profile
    figure, axes = plt.subplots(3, 1, figsize=(11, 8.5), sharex=True, constrained_layout=True)
    figure.suptitle(
        f"knobless simulate: {simulation.system.endpoint}/{simulation.system.served} "
        f"({simulation.system.env_name}) on trace `{simulation.trace.name}` — {profile.name}",
        fontsize=11,
    )
    traffic, replicas, latency = axes
    traffic.plot(x, _binned(rate, size, "mean"), color="black", lw=1.2)
    traffic.set_ylabel("requests/s")
    traffic.set_title("traffic", loc="left", fontsize=9)
    demand_axis = replicas
    needed = (
        rate
        * profile.service_time_ms
        / 1000.0
        / (profile.replica_capacity / simulation.inputs.cost[start:])
    )
    demand_axis.plot(
        x,
        _binned(needed, size, "mean"),
        color="grey",
        ls="--",
        lw=1,
        label="needed at true capacity",
    )
    for name, run in simulation.runs.items():
        color = COLORS.get(name)
        pods = run.pods[start:].astype(float)
        summary = simulation.summaries[name]
        missed = summary["over_slo_fraction"] + summary["rejected_fraction"]
        label = f"{name}: {summary['replica_seconds'] / 3600:,.0f} replica-h, {100 * missed:.1f}% missed SLO"
        replicas.plot(x, _binned(pods, size, "max"), color=color, lw=1.3, label=label)
        p99 = p99_series(run, profile)[start:]
        latency.plot(x, _binned(p99, size, "max"), color=color, lw=1, label=name)
    apa = simulation.runs.get("apa")
    if apa is not None and apa.floors:
        # The forecast floor in replicas at the learned target of each moment (step lines).
        floor = np.zeros(len(apa.pods))
        for at, value in apa.floors:
            floor[int(at) :] = value
        target = np.full(len(apa.pods), apa.targets[0][1] if apa.targets else 1.0)
        for at, value in apa.targets:
            target[int(at) :] = value
        raised = np.ceil(floor / target)[start:]
        if raised.any():
            replicas.plot(
                x,
                _binned(raised, size, "max"),
                color=COLORS["apa"],
                ls=":",
                lw=1.2,
                label="apa forecast floor",
            )
    replicas.set_ylabel("replicas")
    replicas.set_title("replicas (pods, incl. starting)", loc="left", fontsize=9)
    replicas.legend(loc="upper right", fontsize=8, ncol=2)
    latency.axhline(profile.slo_ms, color="black", ls=":", lw=1, label="SLO")
    latency.set_yscale("log")
    latency.set_ylabel("p99 latency (ms)")
    latency.set_title("p99 latency of requests arriving (log scale)", loc="left", fontsize=9)
    latency.legend(loc="upper right", fontsize=8, ncol=5)
    latency.set_xlabel("minutes" if minutes else "seconds")
    for axis in axes:
        axis.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
