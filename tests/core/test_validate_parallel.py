"""`knobless validate --jobs N`: the endpoints are split over N forked processes, and whatever N,
the output (every diagnostic, sorted and without duplicates, and the summary) is the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.cli import main
from compiler.parallel import default_jobs, shares

# Broken copies of the example endpoints, spread over the alphabet so that every share of a split
# gets some: (file text edit, the mistake it makes).
MISTAKES = [
    ("max: 2000}", "max: 2000}\n  bogus: 1"),  # unknown key, in every environment
    ("cpu-medium}", "cpu-mediun}"),  # unknown workload, one error per environment
    ("flavor: xgboost", "flavor: xgboots"),  # literal with a suggestion
    ("owner: risk-platform@example.com", "owner: a\nowner: b"),  # duplicate key (loader)
    ("max: 2000}", "max: 2000"),  # YAML syntax error
    ("min: 8, max: 2000", "min: 9000, max: 2000"),  # min > max, file position
    ("served:", "served: &s\n  - *s\nx:"),  # recursive alias (refused by the loader)
    ("served:", "x: *nope\nserved:"),  # undefined alias
]


def make_repository(repo: Path) -> None:
    """The example repository plus 40 copies of fraud-scorer, one in four of them broken, and
    overrides that break some of the copies in one environment only."""
    template = (repo / "endpoints" / "fraud-scorer.yaml").read_text()
    for index in range(40):
        name = f"fraud-{index:02d}"
        text = template.replace("name: fraud-scorer", f"name: {name}")
        if index % 4 == 1:
            old, new = MISTAKES[(index // 4) % len(MISTAKES)]
            assert old in text
            text = text.replace(old, new, 1)
        (repo / "endpoints" / f"{name}.yaml").write_text(text)
    dev = repo / "environments" / "dev.jsonnet"
    dev.write_text(
        dev.read_text().replace(
            "overrides: {",
            "overrides: {\n    'fraud-06': { scaling: { concurrency: { max: 0 } } },"
            "\n    'fraud-30': { served: [] },",
        )
    )


def validate(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["validate", "--root", str(repo), *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


@pytest.mark.parametrize("extra", [(), ("--strict",)])
def test_serial_and_parallel_print_the_same_diagnostics(
    repo: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]
) -> None:
    make_repository(repo)
    serial = validate(repo, capsys, "--jobs", "1", *extra)
    assert serial[0] == 1
    lines = serial[1].splitlines()
    assert lines == [*sorted(set(lines[:-1])), lines[-1]]  # sorted, no duplicates, then a count
    # every kind of mistake is there, each at its place (the examples' own lines are known)
    assert "endpoints/fraud-01.yaml:12:3: error: scaling.bogus: unknown key `bogus`" in serial[1]
    assert (
        "endpoints/fraud-05.yaml:9:25: error: served[0].compute.workload: `cpu-mediun` is not "
        "defined in environment `dev`" in serial[1]
    )
    assert (
        "endpoints/fraud-13.yaml:5:1: error: duplicate key `owner` (first set at line 4)"
        in (serial[1])
    )
    assert "endpoints/fraud-17.yaml:12:1: error: invalid YAML: did not find expected" in serial[1]
    assert "endpoints/fraud-21.yaml:11:16: error: scaling.concurrency: min (9000)" in serial[1]
    assert (
        "endpoints/fraud-25.yaml:6:5: error: the alias `*s` is inside its own anchor" in (serial[1])
    )
    assert (
        "endpoints/fraud-29.yaml:5:4: error: invalid YAML: the alias `*nope` names no"
        in (serial[1])
    )
    # the overrides' mistakes are the environment's, at their line
    assert (
        "environments/dev.jsonnet:16:45: error: scaling.concurrency.max: input should be"
        in (serial[1])
    )
    assert "environments/dev.jsonnet:17:19: error: served: needs at least 1 item" in serial[1]
    for jobs in ("2", "3", "7", "100"):
        assert validate(repo, capsys, "--jobs", jobs, *extra) == serial, jobs


def test_a_valid_repository_says_the_same_whatever_the_split(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = (repo / "endpoints" / "fraud-scorer.yaml").read_text()
    for index in range(12):
        name = f"fraud-{index:02d}"
        (repo / "endpoints" / f"{name}.yaml").write_text(
            template.replace("name: fraud-scorer", f"name: {name}")
        )
    serial = validate(repo, capsys, "--jobs", "1")
    assert serial[0] == 0
    assert serial[1].splitlines()[-1] == (
        "18 endpoints valid in 2 environments (35 endpoint-environment pairs)"
    )
    for jobs in ("2", "5"):
        assert validate(repo, capsys, "--jobs", jobs) == serial
        assert validate(repo, capsys, "--jobs", jobs, "--strict") == validate(
            repo, capsys, "--jobs", "1", "--strict"
        )


def test_selected_files_are_split_the_same(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_repository(repo)
    paths = [str(repo / "endpoints" / f"fraud-{i:02d}.yaml") for i in (0, 1, 2, 9, 33)]
    serial = validate(repo, capsys, "--jobs", "1", *paths)
    assert serial[0] == 1
    assert validate(repo, capsys, "--jobs", "2", *paths) == serial


def test_shares_are_contiguous_and_balanced() -> None:
    names = [f"e{i}" for i in range(7)]
    assert shares(names, 3) == [["e0", "e1", "e2"], ["e3", "e4"], ["e5", "e6"]]
    assert shares(names, 1) == [names]
    assert shares(names, 20) == [[n] for n in names]
    assert shares([], 2) == [[]]


def test_small_repositories_stay_in_one_process() -> None:
    assert default_jobs(6, 3) == 1
    assert default_jobs(10_000, 3) >= 1


BROKEN_PLUGIN = """\
from compiler import hookimpl


@hookimpl
def knobless_validate_endpoint(spec, environment, source, endpoint):
    if spec.name == "fraud-35":
        raise RuntimeError("a bug in a plugin")
    return ()
"""


def test_a_bug_in_a_worker_is_an_internal_error_not_a_hang(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = (repo / "endpoints" / "fraud-scorer.yaml").read_text()
    for index in range(40):
        name = f"fraud-{index:02d}"
        (repo / "endpoints" / f"{name}.yaml").write_text(
            template.replace("name: fraud-scorer", f"name: {name}")
        )
    (repo / "knobless_broken_check.py").write_text(BROKEN_PLUGIN)
    (repo / "knobless.toml").write_text('plugins = ["knobless_broken_check"]\n')
    for jobs in ("1", "2"):  # fraud-35 is in the second share: a forked child meets the bug
        code, err = validate(repo, capsys, "--jobs", jobs)
        assert code == 70, err
        assert "knobless: internal error:" in err and "a bug in a plugin" in err, err
