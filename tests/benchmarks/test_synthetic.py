"""bench/synthetic.py writes a repository a user could commit: it compiles with no error and no
warning, and every MLflow version runs the image images.lock gives it (the benchmarks time a
clean repository; a generator that falls behind the checks stops them, as it once did)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.synthetic import ENVIRONMENTS, IMAGE_REPOSITORY, make_repository
from compiler.cli import main
from compiler.writer import read_tree


def test_the_synthetic_repository_compiles_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repository(tmp_path / "repo", 10)
    assert main(["compile", "--root", str(root), "--strict"]) == 0
    assert capsys.readouterr().err == (
        "compiled 10 endpoints into 3 environments (dev, prod, staging): "
        "390 files, 0 changed, 390 added, 0 removed\n"
    )
    files = read_tree(root / "rendered")
    assert sorted({path.split("/")[0] for path in files}) == sorted(ENVIRONMENTS)


def test_every_mlflow_version_runs_its_locked_image(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo", 5)
    assert main(["compile", "--root", str(root)]) == 0
    images: dict[str, set[str]] = {}
    for path, content in read_tree(root / "rendered").items():
        body = yaml.safe_load(content)
        if body["kind"] != "Deployment":
            continue
        for container in body["spec"]["template"]["spec"]["containers"]:
            if container["name"] == "model":
                images.setdefault(path.split("/")[1], set()).add(container["image"])
    locked = {
        name
        for name, found in images.items()
        if all(image.startswith(f"{IMAGE_REPOSITORY}:deps-") for image in found)
    }
    # classifier, scorer and ranker serve MLflow models; the embedder runs Triton, the agent
    # its own image
    assert locked == {"model-00000", "model-00001", "model-00004"}
    assert images["model-00003"] == {"registry.example.com/ops/model-00003:1.8.2"}
