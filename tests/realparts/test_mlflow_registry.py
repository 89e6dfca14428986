"""The MLflow registry the other tests build on is real: `mlflow server` answers the REST API,
`models:/` URIs resolve, and MLflow saves ONNX weights as external data by default (the fact the
Triton runtime has to honour)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.mlflow_support import MlflowRegistry, mlflow_registry, require_mlflow


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowRegistry]:
    require_mlflow()
    with mlflow_registry(tmp_path_factory.mktemp("mlflow")) as running:
        yield running


def _artifact_files(registry: MlflowRegistry, name: str, version: int) -> set[str]:
    found = httpx.get(
        f"{registry.url}/api/2.0/mlflow/model-versions/get",
        params={"name": name, "version": str(version)},
    ).raise_for_status()
    source = found.json()["model_version"]["source"]
    assert source.startswith("models:/m-"), source  # MLflow 3 logged models
    folder = next((registry.root / "artifacts").glob(f"*/models/{source.split('/')[1]}/artifacts"))
    return {path.name for path in folder.iterdir()}


def test_a_logged_sklearn_model_resolves_with_its_requirements(registry: MlflowRegistry) -> None:
    logged = registry.log_model("sklearn", "iris")
    assert (logged.name, logged.version, logged.uri) == ("iris", 1, "models:/iris/1")
    files = _artifact_files(registry, "iris", 1)
    assert {"MLmodel", "model.pkl", "python_env.yaml", "requirements.txt"} <= files
    again = registry.log_model("sklearn", "iris")
    assert again.version == 2


def test_mlflow_saves_onnx_weights_beside_the_graph(registry: MlflowRegistry) -> None:
    registry.log_model("onnx", "linear")
    files = _artifact_files(registry, "linear", 1)
    data = sorted(
        name
        for name in files
        if name
        not in {"MLmodel", "model.onnx", "python_env.yaml", "requirements.txt", "conda.yaml"}
    )
    assert "model.onnx" in files
    assert len(data) == 1, files  # one external-data file, named by MLflow (a uuid)
