"""`knobless explain` on a scratch copy of the examples: every value with its origin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.cli import main


def explain(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_shows_every_layer(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = explain(capsys, "fraud-scorer", "--env", "dev", "--root", str(repo))
    assert code == 0
    lines = out.splitlines()
    # The workload line is checked in test_workload_origin (prod).
    assert lines[:-3] + lines[-1:] == [
        "fraud-scorer in dev (from endpoints/fraud-scorer.yaml; values by layer: defaults < "
        "endpoint < patch < override)",
        "",
        "name: fraud-scorer                   # endpoints/fraud-scorer.yaml:3:7 (endpoint)",
        "owner: risk-platform@example.com     # endpoints/fraud-scorer.yaml:4:8 (endpoint)",
        "served:",
        "  - name: v7                         # endpoints/fraud-scorer.yaml:6:11 (endpoint)",
        "    model: models:/fraud-scorer/7    # endpoints/fraud-scorer.yaml:7:12 (endpoint)",
        "    flavor: xgboost                  # endpoints/fraud-scorer.yaml:8:13 (endpoint)",
        "    compute:",
        "      workload: cpu-medium           # endpoints/fraud-scorer.yaml:9:25 (endpoint)",
        "    env: []                          # compiler-default",
        "scaling:",
        "  concurrency:",
        "    min: 0                           # environments/dev.jsonnet:14:38 (patch)",
        "    max: 50                          # environments/dev.jsonnet:16:49 (override)",
        "  schedule: []                       # compiler-default",
        "",
        "served v7:",
        "  runtime: mlflow: flavor xgboost is a classic ML flavor: MLflow pyfunc server, workers "
        "sized from the CPU request",
        "  image: ghcr.io/mlflow/mlflow:v3.6.0 (generic: images.unlocked: example repository: no "
        "registry to resolve against)",
        "  traffic: 100%",
    ]
    assert lines[-3] == "  resources: cpu 4, memory 8Gi, no GPU"
    assert lines[-2].startswith("    from workload `cpu-medium`: environments/")


def test_workload_origin(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = explain(capsys, "fraud-scorer", "--env", "prod", "--root", str(repo))
    assert code == 0
    assert out.endswith(
        "  resources: cpu 4, memory 8Gi, no GPU\n"
        "    from workload `cpu-medium`: environments/base.libsonnet:14:21 (workload)\n"
        "  traffic: 100%\n"
    )


def test_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = explain(
        capsys, "support-llm", "--env", "prod", "--format", "json", "--root", str(repo)
    )
    assert code == 0
    data = json.loads(out)
    assert (data["format_version"], data["endpoint"], data["environment"]) == (
        1,
        "support-llm",
        "prod",
    )
    values = {v["path"]: v for v in data["values"]}
    assert values["scaling.perReplica.max"] == {
        "path": "scaling.perReplica.max",
        "value": 128,
        "origin": {
            "path": "endpoints/support-llm.yaml",
            "line": 13,
            "col": 29,
            "layer": "endpoint",
        },
    }
    assert values["served[0].env"]["origin"]["layer"] == "compiler-default"
    [served] = data["served"]
    assert served["runtime"]["name"] == "vllm" and served["runtime"]["chosen"] is True
    assert served["resources"] == {
        "cpu": "96",
        "memory": "1000Gi",
        "gpu_count": 8,
        "gpu_type": "nvidia-h100",
        "workload": "gpu-8x-large",
        "origin": {
            "path": "environments/base.libsonnet",
            "line": 17,
            "col": 23,
            "layer": "workload",
        },
    }


def test_explicit_runtime_and_compute(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = repo / "endpoints/triage-agent.yaml"
    path.write_text(
        path.read_text().replace("port: 8080\n", "port: 8080\n    runtime: custom\n"), "utf-8"
    )
    code, out, _ = explain(capsys, "triage-agent", "--env", "prod", "--root", str(repo))
    assert code == 0
    assert "  runtime: custom: " in out
    assert "(set at endpoints/triage-agent.yaml:9:14 (endpoint))" in out
    assert (
        "  resources: cpu 2, memory 2Gi, no GPU\n    given explicitly: "
        "endpoints/triage-agent.yaml:10:14 (endpoint)\n" in out
    )


def test_unknown_endpoint_or_excluded(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = explain(capsys, "support-llm", "--env", "dev", "--root", str(repo))
    assert (code, err) == (
        2,
        "knobless: error: endpoint `support-llm` is excluded from environment `dev`\n",
    )
    code, _, err = explain(capsys, "nope", "--env", "dev", "--root", str(repo))
    assert code == 2 and err.startswith("knobless: error: unknown endpoint `nope`")
