"""`--warmup-s`, `--initial-target` and `per_replica_target.converged_s`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compiler.cli import main
from plugins.apa.simulator.engine import Inputs
from plugins.apa.simulator.profile import runtime_profile
from plugins.apa.simulator.results import converged_s

CONSTANT = "t_seconds,rps\n0,400\n1800,400\n"


def inputs(cost: list[float], warmup: int) -> Inputs:
    profile = runtime_profile("mlflow", cpu_cores=4.0)  # true capacity 12
    return Inputs(
        arrivals=np.zeros(len(cost)),
        rate=np.zeros(len(cost)),
        cost=np.array(cost),
        profile=profile,
        scrape_s=5,
        warmup_steps=warmup,
        max_replicas=10,
    )


def test_converged_is_when_the_target_stays_within_15_percent_of_the_true_capacity() -> None:
    run = inputs([1.0] * 10, warmup=2)
    # Set at the end of second 4 (from second 5 on, 3 s into the trace), then within +-15%.
    assert converged_s([(0.0, 8.0), (5.0, 11.0)], run) == 3.0
    assert converged_s([(0.0, 12.0)], run) == 0.0  # always was
    assert converged_s([(0.0, 12.0), (9.0, 20.0)], run) is None  # left the band at the end
    assert converged_s([(0.0, 13.8)], run) == 0.0  # +15% is in
    # A cost drift halves the capacity (6): a target that stays at 12 leaves the band.
    drift = inputs([1.0] * 5 + [2.0] * 5, warmup=0)
    assert converged_s([(0.0, 12.0)], drift) is None
    assert converged_s([(0.0, 12.0), (6.0, 6.0)], drift) == 6.0


def simulate_json(repo: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    trace = repo / "constant.csv"
    trace.write_text(CONSTANT)
    args = ["simulate", "fraud-scorer", "--env", "prod", "--trace", str(trace)]
    args += ["--root", str(repo), "--format", "json", "--policy", "apa", *extra]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_warmup_and_initial_target_options(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # fraud-scorer in prod: mlflow on 4 cores, true capacity 12, per replica 1..32 (starts at 8).
    default = simulate_json(repo, capsys)
    assert default["profile"]["simulation"]["warmup_s"] == 620  # 600 + 2 x 10 s start-up
    started = simulate_json(repo, capsys, "--warmup-s", "0", "--initial-target", "30")
    assert started["profile"]["simulation"]["warmup_s"] == 0
    target = started["policies"]["apa"]["per_replica_target"]
    assert list(target) == ["initial", "final", "converged_s"]
    assert target["initial"] == 30.0
    assert abs(target["final"] / 12 - 1) <= 0.15
    assert target["converged_s"] is not None and 0 < target["converged_s"] <= 600
    clamped = simulate_json(repo, capsys, "--warmup-s", "0", "--initial-target", "500")
    assert clamped["policies"]["apa"]["per_replica_target"]["initial"] == 32.0


def test_option_errors(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = repo / "constant.csv"
    trace.write_text(CONSTANT)
    base = ["simulate", "fraud-scorer", "--env", "prod", "--trace", str(trace), "--root", str(repo)]
    assert main([*base, "--warmup-s", "-1"]) == 2
    assert "--warmup-s: -1 must be >= 0" in capsys.readouterr().err
    assert main([*base, "--initial-target", "0"]) == 2
    assert "--initial-target: 0 must be > 0" in capsys.readouterr().err
