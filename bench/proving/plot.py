"""The proving ground's one plot: the real replica's latency by load (with the knee and the
simulator's prediction) beside the real scaler's learned targets over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    horizontal = report.get("horizontal")
    panels = 3 if horizontal else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4))
    left, right = axes[0], axes[1]
    sweep = report["sweep"]
    # The levels the replica still answered without errors (an overload's backlog of hundreds
    # would flatten the curve where it matters).
    served = [p for p in sweep["levels"][:-1] if p["errors"] == 0]
    points = sorted([sweep["low"], *served], key=lambda p: p["in_flight"])
    x = [p["in_flight"] for p in points]
    left.plot(x, [p["p50_ms"] for p in points], "o-", color="#2166ac", label="p50 (measured)")
    left.plot(x, [p["p99_ms"] for p in points], "s--", color="#b2182b", label="p99 (measured)")
    knee = sweep["knee"]
    if knee:
        left.axvline(
            knee["in_flight"], color="#1b7837", ls=":", label=f"knee {knee['in_flight']:.2f}"
        )
    for row in report.get("simulator", {}).get("levels", []):
        flight = row["measured"]["in_flight"]
        left.plot([flight], [row["simulated"]["p50_ms"]], "x", color="#2166ac", ms=9)
        left.plot([flight], [row["simulated"]["p99_ms"]], "x", color="#b2182b", ms=9)
    left.set_xlabel("requests in flight (one replica, 1 core)")
    left.set_ylabel("latency ms (x: simulator)")
    left.set_yscale("log")
    left.set_title("MLflow digits replica behind HAProxy")
    left.legend(fontsize=8)
    learning = report.get("learning", {})
    for label, color in (("default", "#2166ac"), ("above", "#b2182b")):
        if label in learning:
            targets = learning[label]["targets"]
            right.step(
                [t for t, _ in targets],
                [v for _, v in targets],
                where="post",
                color=color,
                label=f"target from {label}",
            )
    if knee:
        right.axhspan(
            0.8 * knee["in_flight"],
            1.2 * knee["in_flight"],
            color="#1b7837",
            alpha=0.15,
            label="knee +-20%",
        )
    right.set_xlabel("seconds of load")
    right.set_ylabel("learned per-replica target")
    right.set_title("real knobless scaler, polled like KEDA")
    right.legend(fontsize=8)
    if horizontal:
        _follow_panel(axes[2], horizontal)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _follow_panel(axis: Any, horizontal: dict[str, Any]) -> None:
    """Step 4: the replicas the HPA arithmetic asked for on the scaler's answers, the step."""
    events = horizontal["hpa"]
    axis.step(
        [t for t, _, _ in events],
        [n for _, n, _ in events],
        where="post",
        color="#2166ac",
        label="replicas (HPA on the scaler's answers)",
    )
    axis.plot(
        [t for t, _, _ in events],
        [v for _, _, v in events],
        ".",
        color="#762a83",
        label="replicas needed (answer)",
    )
    step_at = horizontal.get("step_at_s")
    if step_at is not None:
        low, high = horizontal["rates"]
        axis.axvline(step_at, color="#1b7837", ls=":", label=f"load {low:g} -> {high:g} rps")
    axis.set_xlabel("seconds")
    axis.set_ylabel("replicas")
    measured, predicted = horizontal.get("measured_s"), horizontal.get("predicted_s")
    axis.set_title(f"step 4: 2nd replica after {measured} s (simulator {predicted} s)")
    axis.legend(fontsize=8)
