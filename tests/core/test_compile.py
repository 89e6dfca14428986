"""`knobless compile` end to end on the example repository: output, determinism, --check, --env."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compiler.cli import main
from compiler.writer import HEADER, read_tree


def compile_in_subprocess(repo: Path, seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run(
        [sys.executable, "-m", "compiler", "compile", "--root", str(repo)],
        check=True,
        env=env,
        capture_output=True,
    )
    return read_tree(repo / "rendered")


def test_output_layout_and_format(repo: Path) -> None:
    assert main(["compile", "--root", str(repo)]) == 0
    files = read_tree(repo / "rendered")
    assert sorted({p.split("/")[0] for p in files}) == ["dev", "prod"]
    assert not [p for p in files if p.startswith("dev/support-llm/")]  # excluded in dev
    assert "prod/support-llm/deployment-support-llm-ft-2026-11.yaml" in files
    for path, content in files.items():
        assert content.startswith(HEADER), path
        assert content.endswith(b"\n") and b"\r\n" not in content, path
        body = yaml.safe_load(content)
        assert list(body)[:3] == ["apiVersion", "kind", "metadata"], path
        _folder, filename = path.split("/")[-2:]
        assert filename == f"{body['kind'].lower()}-{body['metadata']['name']}.yaml", path
        assert "Chart.yaml" not in path and "kustomization" not in path


def test_byte_identical_across_hash_seeds_and_file_orders(repo: Path, tmp_path: Path) -> None:
    first = compile_in_subprocess(repo, "1")
    # a second repository whose files were created in the opposite order
    other = tmp_path / "other"
    for folder in ("environments", "endpoints"):
        (other / folder).mkdir(parents=True)
        for file in sorted((repo / folder).iterdir(), reverse=True):
            shutil.copy(file, other / folder / file.name)
    second = compile_in_subprocess(other, "4242")
    assert first == second
    assert compile_in_subprocess(repo, "99") == first


def test_check_reports_stale_output_with_a_diff(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", "--root", str(repo)]) == 0
    assert main(["compile", "--check", "--root", str(repo)]) == 0
    capsys.readouterr()
    fraud = repo / "endpoints" / "fraud-scorer.yaml"
    fraud.write_text(fraud.read_text().replace("models:/fraud-scorer/7", "models:/fraud-scorer/8"))
    stray = repo / "rendered" / "dev" / "fraud-scorer" / "stray.yaml"
    stray.write_text("x: 1\n")
    before = read_tree(repo / "rendered")
    assert main(["compile", "--check", "--root", str(repo)]) == 1
    out, err = capsys.readouterr()
    assert "-    model: models:/fraud-scorer/7" in out or "models:/fraud-scorer/7" in out
    assert "+++ b/rendered/prod/fraud-scorer/deployment-fraud-scorer-v7.yaml" in out
    assert "  extra:   rendered/dev/fraud-scorer/stray.yaml" in err
    assert "run `knobless compile` and commit rendered/" in err
    assert read_tree(repo / "rendered") == before  # --check never writes


def test_stale_files_vanish_and_env_selection_keeps_others(repo: Path) -> None:
    assert main(["compile", "--root", str(repo)]) == 0
    (repo / "endpoints" / "churn-classifier.yaml").unlink()
    assert main(["compile", "--env", "dev", "--root", str(repo)]) == 0
    files = read_tree(repo / "rendered")
    assert not [p for p in files if p.startswith("dev/churn-classifier/")]
    assert [p for p in files if p.startswith("prod/churn-classifier/")]  # prod not compiled
    assert main(["compile", "--root", str(repo)]) == 0
    assert not [p for p in read_tree(repo / "rendered") if "churn-classifier/" in p]


def test_usage_errors_exit_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "--env", "staging", "--root", str(repo)]) == 2
    assert capsys.readouterr().err == (
        "knobless: error: unknown environment `staging` (available: dev, prod)\n"
    )
    assert main(["compile", "--bogus"]) == 2
    assert main(["compile", "--root", str(repo / "nope")]) == 2


def test_invalid_input_leaves_rendered_untouched(repo: Path) -> None:
    assert main(["compile", "--root", str(repo)]) == 0
    before = read_tree(repo / "rendered")
    triage = repo / "endpoints" / "triage-agent.yaml"
    triage.write_text(triage.read_text().replace("max: 1000", "max: -5"))
    assert main(["compile", "--root", str(repo)]) == 1
    assert read_tree(repo / "rendered") == before


def test_python_dash_m_works(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "validate", "--root", str(repo)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "6 endpoints valid in 2 environments (11 endpoint-environment pairs)\n"


def test_batched_compile_gives_the_same_tree(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from compiler import pipeline

    assert main(["compile", "--root", str(repo)]) == 0
    whole = read_tree(repo / "rendered")
    monkeypatch.setattr(pipeline, "BATCH", 2)  # six endpoints: three batches and the platform's
    assert main(["compile", "--check", "--root", str(repo)]) == 0
    shutil.rmtree(repo / "rendered")
    assert main(["compile", "--root", str(repo)]) == 0
    assert read_tree(repo / "rendered") == whole
    batches = list(pipeline.iter_compile(repo, environments=["prod"]))
    # two endpoint folders and platform/argocd (their Applications); then platform's own two
    assert [len({m.folder for m in b.manifests}) for b in batches] == [3, 3, 3, 2]


def test_parallel_compile_gives_the_same_tree_and_errors(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", "--jobs", "1", "--root", str(repo)]) == 0
    serial = read_tree(repo / "rendered")
    shutil.rmtree(repo / "rendered")
    assert main(["compile", "--jobs", "2", "--root", str(repo)]) == 0
    assert read_tree(repo / "rendered") == serial
    assert "with 2 processes" in capsys.readouterr().err
    triage = repo / "endpoints" / "triage-agent.yaml"
    triage.write_text(triage.read_text().replace("max: 1000", "max: -5"))
    assert main(["compile", "--jobs", "2", "--root", str(repo)]) == 1
    parallel_errors = capsys.readouterr().err
    assert main(["compile", "--jobs", "1", "--root", str(repo)]) == 1
    assert capsys.readouterr().err == parallel_errors
    assert read_tree(repo / "rendered") == serial
    assert sorted(p.name for p in repo.iterdir()) == [
        ".knobless",
        "endpoints",
        "environments",
        "rendered",
    ]
