"""Fixtures shared by the real-parts tests of model images."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mlflow_support import MlflowRegistry, mlflow_registry, require_mlflow


@pytest.fixture(scope="module")
def images_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowRegistry]:
    """A real `mlflow server` holding churn 1 and 2 (scikit-learn, other weights, the same
    requirements) and fraud 1 (xgboost): the models the image tests' repository serves."""
    require_mlflow()
    with mlflow_registry(tmp_path_factory.mktemp("mlflow")) as running:
        running.log_model("sklearn", "churn", {"trees": 3})
        running.log_model("sklearn", "churn", {"trees": 7})
        running.log_model("xgboost", "fraud")
        yield running
