"""One run, every problem: a new endpoint file with one mistake of every kind (a field, a
cross-field rule, a runtime combination, an environment's workloads, a lint rule id) and an
environment override naming no endpoint are all reported by the first `validate`, exactly, and
`compile` says the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.cli import main
from compiler.writer import read_tree

EVERY_MISTAKE = """\
name: new-model
owner: ml-team@example.com
descripton: scores new things
served:
  - name: blue
    model: models:/new-model/1
    flavor: sklearnn
    compute: {workload: cpu-mediun}
  - name: green
    model: models:/new-model/2
    flavor: transformers
    runtime: vllm
    compute: {workload: cpu-medium}
  - name: green
    model: models:/new-model/3
    image: registry.example.com/new-model:3
    compute: {cpu: "1", memory: 1Gi}
traffic: {blue: 80, gren: 30}
scaling:
  concurrency: {min: 10, max: 5}
lint:
  ignore: {traffic-zero-servd: "staged for the launch"}
"""

WORKLOADS = "(defined: cpu-large, cpu-medium, cpu-small, gpu-8x-large, gpu-small)"

EXPECTED = [
    # field-level
    "endpoints/new-model.yaml:3:1: error: descripton: unknown key `descripton`; did you mean "
    "`description`?",
    "endpoints/new-model.yaml:7:13: error: served[0].flavor: `sklearnn` is not one of: sklearn, "
    "xgboost, lightgbm, catboost, statsmodels, prophet, pyfunc, h2o, spark, onnx, tensorrt, "
    "pytorch, tensorflow, keras, transformers, sentence_transformers; did you mean `sklearn`?",
    # the environments' workloads, each environment named
    "endpoints/new-model.yaml:8:25: error: served[0].compute.workload: `cpu-mediun` is not "
    f"defined in environment `dev`; did you mean `cpu-medium`? {WORKLOADS}",
    "endpoints/new-model.yaml:8:25: error: served[0].compute.workload: `cpu-mediun` is not "
    f"defined in environment `prod`; did you mean `cpu-medium`? {WORKLOADS}",
    # a runtime combination, judged although other versions have field errors
    "endpoints/new-model.yaml:12:14: error: served[1].runtime: vllm needs a GPU, and this "
    "version's compute has none; give `compute` a GPU (e.g. a GPU workload) or leave `runtime` "
    "out to serve on CPU with mlflow",
    # cross-field: model and image, unique names, the traffic split (every problem of it)
    "endpoints/new-model.yaml:14:5: error: served[2]: set `model` or `image`, not both",
    "endpoints/new-model.yaml:14:11: error: served[2].name: `green` is already the name of "
    "served[1]; served names must be unique",
    "endpoints/new-model.yaml:18:10: error: traffic: no percentage for served `green` (give it 0 "
    "to send it no traffic)",
    "endpoints/new-model.yaml:18:10: error: traffic: percentages add up to 110, not 100",
    "endpoints/new-model.yaml:18:21: error: traffic.gren: `gren` is not a served version; did you "
    "mean `green`? (served: blue, green)",
    "endpoints/new-model.yaml:20:16: error: scaling.concurrency: min (10) is greater than max (5)",
    # a lint rule id
    "endpoints/new-model.yaml:22:32: warning: lint.ignore: there is no lint rule "
    "`traffic-zero-servd` (did you mean `traffic-zero-served`?) [lint-unknown-rule]",
    # an environment-wide check, in the same run
    "environments/prod.jsonnet:8:5: error: overrides.new-modle: there is no endpoint `new-modle` "
    "(did you mean `new-model`?) in endpoints/; this override of `prod` does nothing "
    "[override-unknown-endpoint]",
    "12 errors, 1 warning",
]


@pytest.fixture
def broken(repo: Path) -> Path:
    (repo / "endpoints" / "new-model.yaml").write_text(EVERY_MISTAKE)
    prod = repo / "environments" / "prod.jsonnet"
    prod.write_text(
        prod.read_text().replace(
            "overrides: {\n", "overrides: {\n    'new-modle': { owner: 'x@example.com' },\n"
        )
    )
    return repo


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_validate_reports_every_mistake_at_once(
    broken: Path, jobs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--root", str(broken), "--jobs", jobs]) == 1
    assert capsys.readouterr().err.splitlines() == EXPECTED


def test_compile_says_the_same_and_writes_nothing(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (broken / "rendered" / "dev").mkdir(parents=True)
    (broken / "rendered" / "dev" / "keep.yaml").write_bytes(b"precious\n")
    before = read_tree(broken / "rendered")
    assert main(["compile", "--root", str(broken)]) == 1
    assert capsys.readouterr().err.splitlines() == EXPECTED
    assert read_tree(broken / "rendered") == before


def test_unknown_environment_suggests_the_closest(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", "--root", str(repo), "--env", "prdo"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "knobless: error: unknown environment `prdo`; did you mean `prod`? (available: dev, prod)"
    ]


def test_unknown_endpoint_suggests_the_closest(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", "fraud-scorr", "--env", "prod", "--root", str(repo)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "knobless: error: unknown endpoint `fraud-scorr`; did you mean `fraud-scorer`? "
        "(endpoints: churn-classifier, doc-embedder, feed-ranker, fraud-scorer, support-llm, "
        "triage-agent)"
    ]


def test_an_unknown_workload_does_not_hide_another_versions_runtime(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "endpoints" / "new-model.yaml").write_text(
        "name: new-model\n"
        "owner: ml-team@example.com\n"
        "served:\n"
        "  - {name: blue, model: 'models:/new-model/1', compute: {workload: cpu-mediun}}\n"
        "  - {name: green, model: 'models:/new-model/2', runtime: vllm, "
        "compute: {workload: cpu-medium}}\n"
        "traffic: {blue: 50, green: 50}\n"
        "scaling:\n"
        "  concurrency: {min: 1, max: 5}\n"
    )
    assert main(["validate", "--root", str(repo)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "endpoints/new-model.yaml:4:68: error: served[0].compute.workload: `cpu-mediun` is not "
        f"defined in environment `dev`; did you mean `cpu-medium`? {WORKLOADS}",
        "endpoints/new-model.yaml:4:68: error: served[0].compute.workload: `cpu-mediun` is not "
        f"defined in environment `prod`; did you mean `cpu-medium`? {WORKLOADS}",
        "endpoints/new-model.yaml:5:58: error: served[1].runtime: vllm needs a GPU, and this "
        "version's compute has none; give `compute` a GPU (e.g. a GPU workload) or leave "
        "`runtime` out to serve on CPU with mlflow",
        "3 errors",
    ]
