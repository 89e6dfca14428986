"""The proving ground's one plot: the real replica's latency by load (with the knee and the
simulator's prediction) beside the real scaler's learned targets over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    sweep = report["sweep"]
    points = sorted([sweep["low"], *sweep["levels"][:-1]], key=lambda p: p["in_flight"])
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
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
