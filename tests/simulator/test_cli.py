"""`knobless simulate` end to end on the example repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.cli import main

TRACE = "t_seconds,rps\n0,300\n120,300\n123,3000\n300,3000\n"


def write_trace(repo: Path, text: str = TRACE) -> Path:
    path = repo / "trace.csv"
    path.write_text(text)
    return path


def test_json_for_an_example_endpoint(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write_trace(repo)
    code = main(
        [
            "simulate",
            "fraud-scorer",
            "--env",
            "prod",
            "--trace",
            str(trace),
            "--root",
            str(repo),
            "--format",
            "json",
            "--policy",
            "apa",
            "--policy",
            "fixed",
            "--seed",
            "3",
        ]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["policies", "trace", "profile"]
    assert list(document["policies"]) == ["apa", "fixed"]
    endpoint = document["profile"]["endpoint"]
    # prod overrides fraud-scorer's range to 64..10000; mlflow on 4 cores: 1..32, starts at 8.
    assert endpoint["concurrency"] == {"min": 64.0, "max": 10000.0}
    assert endpoint["per_replica"] == {"min": 1.0, "initial": 8.0, "max": 32.0}
    assert endpoint["runtime"] == "mlflow"
    # KEDA's settings as the rendered ScaledObject has them: minReplicaCount = ceil(64 / 32),
    # maxReplicaCount ceil(10000 / 1) capped at prod's capacity.maxReplicas.
    assert endpoint["replicas"] == {"min": 2, "max": 1000}
    assert (endpoint["polling_interval_s"], endpoint["cooldown_s"]) == (15.0, 300.0)
    assert document["profile"]["simulation"]["seed"] == 3


def test_text_table_and_plot(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write_trace(repo)
    plot = repo / "out" / "sim.png"
    code = main(
        [
            "simulate",
            "fraud-scorer",
            "--env",
            "prod",
            "--trace",
            str(trace),
            "--root",
            str(repo),
            "--plot",
            str(plot),
            "--replica-capacity",
            "20",
            "--startup-s",
            "30",
        ]
    )
    assert code == 0
    out = capsys.readouterr()
    assert "true capacity 20/replica, start-up 30s" in out.out
    for policy in ("apa", "fixed", "cpu", "kpa"):
        assert f"│ {policy} " in out.out
    data = plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(plot)
    assert image.shape[0] > 500 and image.shape[1] > 1000


def test_bad_trace_is_reported_with_its_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write_trace(repo, "t_seconds,rps\n0,10\n10,ten\n")
    code = main(
        ["simulate", "fraud-scorer", "--env", "prod", "--trace", str(trace), "--root", str(repo)]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"{trace}:3:4: error: rps `ten` is not a finite number" in err
    assert "Traceback" not in err


def test_usage_errors(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write_trace(repo)
    base = ["simulate", "fraud-scorer", "--env", "prod", "--trace", str(trace), "--root", str(repo)]
    assert main([*base, "--policy", "hpa"]) == 2
    assert main([*base, "--served", "v9"]) == 2
    assert "--served v9: endpoint `fraud-scorer` serves v7" in capsys.readouterr().err
    assert main([*base, "--slo-ms", "0"]) == 2
    assert (
        main(["simulate", "nope", "--env", "prod", "--trace", str(trace), "--root", str(repo)]) == 2
    )
    assert "unknown endpoint `nope`" in capsys.readouterr().err


def test_served_version_takes_its_traffic_share(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write_trace(repo)
    base = ["simulate", "feed-ranker", "--env", "prod", "--trace", str(trace), "--root", str(repo)]
    assert main([*base, "--format", "json", "--policy", "fixed"]) == 0
    main_version = json.loads(capsys.readouterr().out)
    assert main_version["profile"]["endpoint"]["served"] == "v12"  # 90% of the traffic
    assert main([*base, "--format", "json", "--policy", "fixed", "--served", "v13"]) == 0
    canary = json.loads(capsys.readouterr().out)
    endpoint = canary["profile"]["endpoint"]
    assert (endpoint["served"], endpoint["traffic_percent"]) == ("v13", 10)
    assert endpoint["concurrency"] == {"min": 4.0, "max": 400.0}  # ceil(10% of 32..4000)
    ratio = canary["policies"]["fixed"]["requests"] / main_version["policies"]["fixed"]["requests"]
    assert 0.1 / 0.9 * 0.97 < ratio < 0.1 / 0.9 * 1.03
