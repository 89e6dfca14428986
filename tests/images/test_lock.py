"""images.lock: deterministic writing, positioned errors, and what compile does with it (digests,
pull secrets), on the example repository (no registry needed)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from compiler.cli import main
from compiler.images.dependencies import ModelProblem, dependencies_of
from compiler.images.lock import (
    Dependencies,
    ImageLock,
    LockedEnvironment,
    LockedModel,
    dump_lock,
    load_lock,
    write_lock,
)

PROJECT = Path(__file__).resolve().parents[2]
SKLEARN = Dependencies(
    "3.6.0", "3.11.7", ("sklearn",), ("pip==23.2.1",), ("mlflow==3.6.0", "scikit-learn==1.9.1")
)
REPOSITORY = "registry.example.com/ml-platform/model-images"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("endpoints", "environments"):
        shutil.copytree(PROJECT / folder, root / folder)
    base = root / "environments" / "base.libsonnet"  # without the examples' waivers
    base.write_text(re.sub(r"\n    unlocked: \{[^}]*\},", "", base.read_text()))
    return root


def _lock(pushed: dict[str, str] | None = None) -> ImageLock:
    image = f"{REPOSITORY}:deps-{SKLEARN.digest[:16]}"
    model = LockedModel(SKLEARN.digest, image)
    return ImageLock(
        {
            "dev": LockedEnvironment(
                "dev", "http://mlflow.mlflow.svc:5000", {"models:/churn-classifier/3": model}
            )
        },
        {SKLEARN.digest: SKLEARN},
        pushed or {},
    )


def test_the_lock_round_trips_byte_for_byte(repo: Path) -> None:
    lock = _lock({f"{REPOSITORY}:deps-{SKLEARN.digest[:16]}": "sha256:" + "0" * 64})
    assert write_lock(repo, lock) is True
    assert write_lock(repo, lock) is False  # unchanged: not rewritten
    text = (repo / "images.lock").read_text()
    assert dump_lock(load_lock(repo)) == text
    assert text.splitlines()[2:5] == ["version: 1", "environments:", "  dev:"]


def test_a_bad_lock_is_reported_at_its_lines(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock(repo, _lock())
    text = (repo / "images.lock").read_text()
    text = text.replace("scikit-learn==1.9.1", "scikit-learn==1.8.0")  # edited by hand
    text = text.replace("    models:\n", "    extra: 1\n    models:\n")
    (repo / "images.lock").write_text(text)
    assert main(["compile", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "images.lock:7:12: error: environments.dev.extra: unknown key\n" in err
    assert f"images.lock:14:5: error: dependencies.{SKLEARN.digest}: the entry's digest is " in err
    assert "edited by hand? run `knobless images resolve` to write it again" in err
    assert not (repo / "rendered").exists()


def test_compile_renders_the_locked_image_digest_and_pull_secrets(repo: Path) -> None:
    image = f"{REPOSITORY}:deps-{SKLEARN.digest[:16]}"
    write_lock(repo, _lock({image: "sha256:" + "1" * 64}))
    env = repo / "environments" / "dev.jsonnet"
    env.write_text(
        env.read_text().replace(
            "  exclude: ['support-llm'],",
            "  exclude: ['support-llm'],\n  images+: { pullSecrets: ['pull-a'], digests: {"
            "'otel/opentelemetry-collector-contrib:0.139.0': 'sha256:" + "2" * 64 + "'} },",
        )
    )
    assert main(["compile", "--root", str(repo)]) == 0
    path = repo / "rendered/dev/churn-classifier/deployment-churn-classifier-v3.yaml"
    pod = yaml.safe_load(path.read_text())["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == f"{image}@sha256:" + "1" * 64
    assert (
        pod["initContainers"][0]["image"]
        == "otel/opentelemetry-collector-contrib:0.139.0@sha256:" + "2" * 64
    )
    assert pod["imagePullSecrets"] == [{"name": "pull-a"}]
    prod = repo / "rendered/prod/churn-classifier/deployment-churn-classifier-v3.yaml"
    prod_pod = yaml.safe_load(prod.read_text())["spec"]["template"]["spec"]
    assert prod_pod["containers"][0]["image"] == "ghcr.io/mlflow/mlflow:v3.6.0"  # not locked there
    assert "imagePullSecrets" not in prod_pod


def test_a_lock_against_another_registry_counts_as_no_lock(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = _lock()
    moved = LockedEnvironment("dev", "http://elsewhere:5000", lock.environments["dev"].models)
    write_lock(repo, ImageLock({"dev": moved}, lock.dependencies))
    assert main(["compile", "--env", "dev", "--root", str(repo)]) == 0
    assert (
        "models:/churn-classifier/3 has no image in images.lock for environment `dev`"
        in capsys.readouterr().err
    )


def test_explain_shows_the_image_and_its_lock_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock(repo, _lock())
    assert main(["explain", "churn-classifier", "--env", "dev", "--root", str(repo)]) == 0
    out = capsys.readouterr().out
    assert f"  image: {REPOSITORY}:deps-{SKLEARN.digest[:16]}\n" in out
    assert f"    dependencies {SKLEARN.digest[:16]}: images.lock:8:7 (lock)\n" in out
    assert main(["explain", "fraud-scorer", "--env", "dev", "--root", str(repo)]) == 0
    assert (
        "  image: ghcr.io/mlflow/mlflow:v3.6.0 (generic: images.lock has no entry"
        in capsys.readouterr().out
    )


def test_dependencies_come_from_python_env_and_requirements() -> None:
    files = {
        "MLmodel": "flavors:\n  python_function: {python_version: 3.11.7}\n  lightgbm: {}\nmlflow_version: 3.6.0\n",
        "python_env.yaml": "python: 3.11.7\nbuild_dependencies: [pip==23.2.1, wheel]\ndependencies: ['-r requirements.txt']\n",
        "requirements.txt": "# pinned\nmlflow==3.6.0\nlightgbm==4.6.0  # the flavor\n-c constraints.txt\n",
        "constraints.txt": "numpy<3\n",
    }
    deps = dependencies_of(files)
    assert deps == Dependencies(
        "3.6.0",
        "3.11.7",
        ("lightgbm",),
        ("pip==23.2.1", "wheel"),
        ("mlflow==3.6.0", "lightgbm==4.6.0"),
        ("numpy<3",),
        ("fastapi==0.163.2", "starlette==0.52.1", "uvicorn==0.55.0"),  # the runtime's pins
    )
    with pytest.raises(
        ModelProblem, match=re.escape("refer to files of the model (`wheels/x.whl`)")
    ):
        dependencies_of({**files, "requirements.txt": "wheels/x.whl\n"})
    with pytest.raises(ModelProblem, match="no python_function flavor"):
        dependencies_of({**files, "MLmodel": "flavors: {onnx: {}}\n"})


def test_the_runtimes_pins_are_known_per_mlflow_version_and_never_overridden() -> None:
    files = {
        "MLmodel": "flavors:\n  python_function: {python_version: 3.11.7}\nmlflow_version: 3.6.0\n",
        "requirements.txt": "mlflow==3.6.0\nStarlette == 1.10.0\n",
    }
    with pytest.raises(ModelProblem) as conflict:
        dependencies_of(files)
    assert str(conflict.value) == (
        "its requirements pin `Starlette == 1.10.0`, but MLflow 3.6's scoring server runs with "
        "`starlette==0.52.1`: drop the pin from the model's requirements, or serve it from your "
        "own image (`image:`, runtime custom)"
    )
    same = dependencies_of({**files, "requirements.txt": "mlflow==3.6.0\nstarlette==0.52.1\n"})
    assert "starlette==0.52.1" in same.server
    unpinned = dependencies_of({**files, "requirements.txt": "mlflow==3.6.0\nfastapi\n"})
    assert unpinned.requirements == ("mlflow==3.6.0", "fastapi")  # pip joins it with the pin
    older = files["MLmodel"].replace("3.6.0", "2.22.0")
    with pytest.raises(ModelProblem) as unknown:
        dependencies_of({**files, "MLmodel": older})
    assert str(unknown.value) == (
        "it was logged with MLflow 2.22.0, and knobless' MLflow runtime knows the scoring "
        "server's pins only for MLflow 3.6: log it with MLflow 3.6, or serve it from your own "
        "image (`image:`, runtime custom)"
    )


def test_diff_shows_a_new_image_as_a_restart_of_that_version_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.review.gitrepo import commit, new_repository

    repo = new_repository(tmp_path / "git")
    feed = LockedModel(SKLEARN.digest, f"{REPOSITORY}:deps-{SKLEARN.digest[:16]}")
    lock = ImageLock(
        {
            "prod": LockedEnvironment(
                "prod", "http://mlflow.mlflow.svc:5000", {"models:/feed-ranker/13": feed}
            )
        },
        {SKLEARN.digest: SKLEARN},
    )
    write_lock(repo, lock)
    commit(repo, "lock feed-ranker v13")
    digest = "sha256:" + "3" * 64
    write_lock(repo, ImageLock(lock.environments, lock.dependencies, {feed.image: digest}))
    capsys.readouterr()
    assert main(["diff", "--base", "HEAD", "--env", "prod", "--root", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "  ~ feed-ranker: pods restart (v13) · concurrency 32..4000\n" in out
    assert (
        f"      spec.template.spec.containers[0].image: {feed.image} -> {feed.image}@sha256:3333"
        in out
    )
    assert "  ~ Deployment feed-ranker-v13 (pods restart)\n" in out
    assert out.count("pods restart") == 2  # v12, other endpoints and dev: nothing restarts
