"""A corpus of nasty endpoint files: each gives exit 1 with a positioned error, never a traceback,
and leaves rendered/ byte-for-byte as it was; and every command that reads the file (compile,
validate, explain, simulate) gives the same first line for it. A folder of the corpus is laid over
the repository (endpoint and environment files together) and checked by compile and validate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.cli import main
from compiler.writer import read_tree

CORPUS = Path(__file__).parent / "nasty"

EXPECTED = {
    "alias-bomb.yaml": "endpoints/alias-bomb.yaml:1:5: error: the document expands to more",
    "binary.yaml": "endpoints/binary.yaml:0:0: error: binary file",
    "control-chars.yaml": "endpoints/control-chars.yaml:1:8: error: invalid YAML: the control character U+0007",
    "deep-nesting.yaml": "endpoints/deep-nesting.yaml:1:67: error: nested more than 64 levels",
    "duplicate-key.yaml": "endpoints/duplicate-key.yaml:2:1: error: duplicate key `name`",
    "empty.yaml": "endpoints/empty.yaml:1:1: error: file is empty",
    # one mistake of every kind (tests/core/test_every_problem.py pins the whole output)
    "every-mistake.yaml": "endpoints/every-mistake.yaml:3:1: error: descripton: unknown key",
    # prod's guards as errors, tripped by prod's override: the finding is at the override
    "capacity-guard": "environments/prod.jsonnet:11:51: error: in `prod`, served `v1` takes 100% "
    "of concurrency.max 3,000 (override, environments/prod.jsonnet:11:51)",
    # beside the example repository's fraud-scorer.yaml
    "fraud-scorer.yml": "endpoints/fraud-scorer.yml:1:1: error: endpoint `fraud-scorer` is "
    "defined twice: endpoints/fraud-scorer.yaml and endpoints/fraud-scorer.yml; remove one",
    "huge-number.yaml": "endpoints/huge-number.yaml:2:30: error: cannot read `10000000000000000000...`",
    "key-is-mapping.yaml": "endpoints/key-is-mapping.yaml:1:3: error: a mapping key must be a plain string",
    "list-at-top.yaml": "endpoints/list-at-top.yaml:1:1: error: an endpoint file holds a mapping",
    "null-document.yaml": "endpoints/null-document.yaml:1:1: error: an endpoint file holds a mapping",
    "python-tag.yaml": "endpoints/python-tag.yaml:1:7: error: the tag",
    "scalar.yaml": "endpoints/scalar.yaml:1:1: error: an endpoint file holds a mapping",
    "tab-indented.yaml": "endpoints/tab-indented.yaml:2:1: error: invalid YAML: a tab character",
    "two-documents.yaml": "endpoints/two-documents.yaml:3:1: error: one endpoint per file",
    "unclosed.yaml": "endpoints/unclosed.yaml:3:1: error: invalid YAML",
    "utf16.yaml": "endpoints/utf16.yaml:0:0: error: binary file",
}


def test_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nasty_file_is_reported_and_nothing_is_lost(
    repo: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "rendered" / "dev" / "x").mkdir(parents=True)
    (repo / "rendered" / "dev" / "x" / "keep.yaml").write_bytes(b"precious\n")
    before = read_tree(repo / "rendered")
    _lay(name, repo)
    code = main(["compile", "--root", str(repo)])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err + captured.out
    assert _first_line_about(name, captured.err).startswith(EXPECTED[name]), captured.err
    assert read_tree(repo / "rendered") == before


def _lay(name: str, repo: Path) -> None:
    if (CORPUS / name).is_dir():
        shutil.copytree(CORPUS / name, repo, dirs_exist_ok=True)
    else:
        shutil.copy(CORPUS / name, repo / "endpoints" / name)


def _first_line_about(name: str, err: str) -> str:
    where = EXPECTED[name].split(":", 1)[0]
    return next((line for line in err.splitlines() if line.startswith(f"{where}:")), "")


def test_folders_fail_validate_the_same_way(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in sorted(n for n in EXPECTED if (CORPUS / n).is_dir()):
        _lay(name, repo)
        assert main(["validate", "--root", str(repo)]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert _first_line_about(name, err).startswith(EXPECTED[name]), err


@pytest.mark.parametrize("command", ["validate", "explain", "simulate"])
@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if not (CORPUS / n).is_dir()))
def test_every_command_gives_the_same_answer(
    repo: Path, name: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(CORPUS / name, repo / "endpoints" / name)
    trace = repo / "trace.csv"
    trace.write_text("t_seconds,rps\n0,10\n60,10\n")
    endpoint = name.rsplit(".", 1)[0]
    args = {
        "validate": ["validate"],
        "explain": ["explain", endpoint, "--env", "dev"],
        "simulate": ["simulate", endpoint, "--env", "dev", "--trace", str(trace)],
    }[command]
    code = main([*args, "--root", str(repo)])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err + captured.out
    mine = [line for line in captured.err.splitlines() if line.startswith(f"endpoints/{name}")]
    assert mine and mine[0].startswith(EXPECTED[name]), captured.err


def test_fifty_megabyte_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (repo / "endpoints" / "big.yaml").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    assert main(["validate", "--root", str(repo)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        "endpoints/big.yaml:0:0: error: file is 50.0 MiB; specs are limited to 1024 KiB — is "
        "this the right file?"
    )
