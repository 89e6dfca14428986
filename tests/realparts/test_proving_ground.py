"""The proving ground's short version (bench/proving_ground.py --short), for real: an MLflow
registry and model server in a CPU-limited cgroup, HAProxy, process-exporter, Prometheus and the
real scaler polled like KEDA; fails in CI when a part is missing, skips elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.proving.ground import missing_reason

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.proving_ground


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    reason = missing_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("proving")
    done = subprocess.run(
        [
            "flock",
            "/tmp/bench.lock",
            sys.executable,
            "bench/proving_ground.py",
            "--short",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    loaded: dict[str, object] = json.loads((out / "proving_ground.json").read_text())
    return loaded


def test_the_sweep_finds_a_knee_on_the_real_replica(report: dict) -> None:
    sweep = report["sweep"]
    low, knee = sweep["low"], sweep["knee"]
    assert 1.0 < low["p50_ms"] < 200.0, low
    assert low["errors"] == 0 and low["dropped"] == 0
    assert all(level["errors"] == 0 for level in sweep["levels"][:-1]), sweep["levels"]
    # The knee lies between the low load and the overload, and the replica cannot take more
    # than its overload throughput x the low-load latency would allow with a long queue.
    assert low["in_flight"] < knee["in_flight"] < sweep["levels"][-1]["in_flight"] + 1, knee
    assert knee["p50_ms"] == pytest.approx(1.5 * low["p50_ms"], rel=1e-3)
    assert sweep["saturated_throughput"] > low["throughput"]


def test_the_simulator_is_compared_at_the_knee(report: dict) -> None:
    (row,) = report["simulator"]["levels"]
    assert row["fraction_of_knee"] == 0.8
    assert row["measured"]["p50_ms"] > 0 and row["simulated"]["p50_ms"] > 0
    assert row["p50_ratio"] == pytest.approx(
        row["simulated"]["p50_ms"] / row["measured"]["p50_ms"], rel=0.01
    )


def test_the_scaler_brings_a_target_4x_too_high_down_and_says_why(report: dict) -> None:
    # Step 2 from above, now that the sweep's knee is measured against the replica's capacity
    # and perReplicaMin is under it: a start at 4x the knee comes down and a reason says why.
    learning = report["learning"]
    above = learning["above"]
    knee = learning["knee_in_flight"]
    assert above["start"] == pytest.approx(4 * knee, rel=0.01), above
    assert not above["errors"], above["errors"]
    assert above["final"] < above["start"], above["targets"]
    assert any(r.startswith("decrease target") for r in above["reasons"]), above["reasons"]
