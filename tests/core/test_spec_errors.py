"""Spec mistakes a reviewer would catch: each one at its file, line and column, all in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.cli import main


def run_validate(repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["validate", "--root", str(repo)])
    return code, capsys.readouterr().err.splitlines()


def write(repo: Path, name: str, text: str) -> None:
    (repo / "endpoints" / name).write_text(text)


BROKEN = """\
name: fraud-scorer
owner: risk-platform@example.com
servd: []
served:
  - name: v7
    model: models:/fraud-scorer/7
    flavor: xgboots
    compute: {workload: cpu-mediun}
    env:
      - {name: DB_PASSWORD, value: "hunter2hunter2XyZ9"}
      - {name: REGION, value: eu, secretRef: {name: s, key: k}}
  - name: v8
    image: registry.example.com/x:1
    port: 8080
    model: models:/x/1
    compute: {cpu: "1", memory: 1Gi}
  - name: v9
    model: models:/x/1
    compute: {cpu: abc, memory: 1Gi}
scaling:
  concurrency: {min: 1, max: 20}
  schedule:
    - {start: "0 7 * *", end: "0 19 * * 1-5", timezone: Europe/Berlinn, minConcurrency: 4}
"""


def test_every_problem_at_its_place(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, "fraud-scorer.yaml", BROKEN)
    code, lines = run_validate(repo, capsys)
    assert code == 1
    mine = [line for line in lines if line.startswith("endpoints/fraud-scorer.yaml")]
    assert mine == [
        "endpoints/fraud-scorer.yaml:3:1: error: servd: unknown key `servd`; did you mean `served`?",
        "endpoints/fraud-scorer.yaml:4:1: error: served: `traffic` is required when more than one "
        "version is served (e.g. traffic: {v7: 90, v8: 10})",
        "endpoints/fraud-scorer.yaml:7:13: error: served[0].flavor: `xgboots` is not one of: "
        "sklearn, xgboost, lightgbm, catboost, statsmodels, prophet, pyfunc, h2o, spark, onnx, "
        "tensorrt, pytorch, tensorflow, keras, transformers, sentence_transformers; "
        "did you mean `xgboost`?",
        "endpoints/fraud-scorer.yaml:8:25: error: served[0].compute.workload: `cpu-mediun` is not "
        "defined in environment `dev`; did you mean `cpu-medium`? (defined: cpu-large, "
        "cpu-medium, cpu-small, gpu-8x-large, gpu-small)",
        "endpoints/fraud-scorer.yaml:8:25: error: served[0].compute.workload: `cpu-mediun` is not "
        "defined in environment `prod`; did you mean `cpu-medium`? (defined: cpu-large, "
        "cpu-medium, cpu-small, gpu-8x-large, gpu-small)",
        "endpoints/fraud-scorer.yaml:10:9: error: served[0].env[0]: `DB_PASSWORD` looks like a "
        "credential in plain text; store it in a Secret and use `secretRef: {name: ..., key: ...}`",
        "endpoints/fraud-scorer.yaml:11:9: error: served[0].env[1]: set exactly one of `value`, "
        "`secretRef` or `endpoint`",
        "endpoints/fraud-scorer.yaml:12:5: error: served[1]: set `model` or `image`, not both",
        "endpoints/fraud-scorer.yaml:19:20: error: served[2].compute.cpu: `abc` is not a "
        "Kubernetes quantity (examples: 500m, 2, 1Gi, 512Mi)",
        "endpoints/fraud-scorer.yaml:23:15: error: scaling.schedule[0].start: `0 7 * *` is not a "
        'five-field cron expression (minute hour day month weekday, e.g. "0 7 * * 1-5")',
        "endpoints/fraud-scorer.yaml:23:57: error: scaling.schedule[0].timezone: `Europe/Berlinn` "
        "is not an IANA time zone (examples: Europe/Berlin, America/New_York, UTC)",
    ]
    assert lines[-1].endswith("errors")


def test_unknown_workload_names_the_environment(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (repo / "endpoints" / "fraud-scorer.yaml").read_text()
    write(repo, "fraud-scorer.yaml", text.replace("cpu-medium", "cpu-mediun"))
    code, lines = run_validate(repo, capsys)
    assert code == 1
    assert lines[:2] == [
        "endpoints/fraud-scorer.yaml:9:25: error: served[0].compute.workload: `cpu-mediun` is not "
        "defined in environment `dev`; did you mean `cpu-medium`? (defined: cpu-large, "
        "cpu-medium, cpu-small, gpu-8x-large, gpu-small)",
        "endpoints/fraud-scorer.yaml:9:25: error: served[0].compute.workload: `cpu-mediun` is not "
        "defined in environment `prod`; did you mean `cpu-medium`? (defined: cpu-large, "
        "cpu-medium, cpu-small, gpu-8x-large, gpu-small)",
    ]


def test_error_introduced_by_an_override_points_at_the_environment(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = repo / "environments" / "prod.jsonnet"
    prod.write_text(prod.read_text().replace("min: 64, max: 10000", "min: 64, max: 10"))
    code, lines = run_validate(repo, capsys)
    assert code == 1
    assert lines == [
        "environments/prod.jsonnet:8:34: error: scaling.concurrency: min (64) is greater than "
        "max (10)",
        "1 error",
    ]


def test_traffic_must_add_up(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ranker = repo / "endpoints" / "feed-ranker.yaml"
    ranker.write_text(ranker.read_text().replace("{v12: 90, v13: 10}", "{v12: 90, v14: 20}"))
    code, lines = run_validate(repo, capsys)
    assert code == 1
    assert lines == [
        "endpoints/feed-ranker.yaml:14:10: error: traffic: no percentage for served `v13` (give "
        "it 0 to send it no traffic)",
        "endpoints/feed-ranker.yaml:14:10: error: traffic: percentages add up to 110, not 100",
        "endpoints/feed-ranker.yaml:14:20: error: traffic.v14: `v14` is not a served version; "
        "did you mean `v13`? (served: v12, v13)",
        "3 errors",
    ]


def test_file_name_must_match(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (repo / "endpoints" / "fraud-scorer.yaml").read_text()
    write(repo, "fraud-scorer.yaml", text.replace("name: fraud-scorer", "name: fraud-scorer-2"))
    code, lines = run_validate(repo, capsys)
    assert (code, lines) == (
        1,
        [
            "endpoints/fraud-scorer.yaml:3:7: error: name: `fraud-scorer-2` differs from the file "
            "name `fraud-scorer.yaml`; rename the file to fraud-scorer-2.yaml or change `name`",
            "1 error",
        ],
    )


def test_two_files_one_endpoint(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (repo / "endpoints" / "fraud-scorer.yaml").read_text()
    write(repo, "fraud-scorer.yml", text)
    code, lines = run_validate(repo, capsys)
    assert (code, lines) == (
        1,
        [
            "endpoints/fraud-scorer.yml:1:1: error: endpoint `fraud-scorer` is defined twice: "
            "endpoints/fraud-scorer.yaml and endpoints/fraud-scorer.yml; remove one",
            "1 error",
        ],
    )


def test_jsonnet_error_has_its_own_position(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dev = repo / "environments" / "dev.jsonnet"
    dev.write_text(
        dev.read_text().replace(
            "argocd+: { targetRevision: 'HEAD' },", "argocd+: { targetRevision: HEAD },"
        )
    )
    code, lines = run_validate(repo, capsys)
    assert (code, lines) == (
        1,
        ["environments/dev.jsonnet:6:30: error: jsonnet: Unknown variable: HEAD", "1 error"],
    )


def test_environment_typo_in_jsonnet(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dev = repo / "environments" / "dev.jsonnet"
    dev.write_text(dev.read_text().replace("exclude:", "exclud:"))
    code, lines = run_validate(repo, capsys)
    assert (code, lines) == (
        1,
        [
            "environments/dev.jsonnet:8:3: error: exclud: unknown key `exclud`; did you mean "
            "`exclude`?",
            "1 error",
        ],
    )
