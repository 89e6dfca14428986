"""Train a tiny real model and register it in an MLflow registry (run with the MLflow venv's python).

    python log_model.py --kind sklearn --name churn [--params JSON]

Prints one JSON line: {"name", "version", "uri", "run_id"}. MLFLOW_TRACKING_URI names the
server. Every kind trains on a dataset scikit-learn ships (no download), seeded, in well under a
second, so a test can log as many versions as it needs.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from typing import Any

import mlflow
import numpy as np
from sklearn.datasets import load_digits, load_iris


def _sklearn(params: dict[str, Any]) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    x, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=int(params.get("trees", 5)), random_state=0)
    model.fit(x, y)
    return mlflow.sklearn.log_model(model, name="model", input_example=x[:2])


def _digits(params: dict[str, Any]) -> Any:
    """A digits classifier whose prediction costs a few ms of CPU (trees x depth sets the cost)."""
    from sklearn.ensemble import RandomForestClassifier

    x, y = load_digits(return_X_y=True)
    model = RandomForestClassifier(
        n_estimators=int(params.get("trees", 200)),
        max_depth=params.get("depth"),
        random_state=0,
        n_jobs=1,
    )
    model.fit(x, y)
    return mlflow.sklearn.log_model(model, name="model", input_example=x[:1])


def _xgboost(params: dict[str, Any]) -> Any:
    import xgboost

    x, y = load_iris(return_X_y=True)
    model = xgboost.XGBClassifier(n_estimators=int(params.get("trees", 5)), max_depth=2)
    model.fit(x, y)
    return mlflow.xgboost.log_model(model, name="model", input_example=x[:2])


def _onnx(params: dict[str, Any]) -> Any:
    """A linear model as an ONNX graph, logged with MLflow's defaults (external data on).

    The weights (256 x 16 floats, 16 KB) are over ONNX's 1 KB external-data threshold, so MLflow
    writes them to a data file beside model.onnx, as it does for every real-sized model.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    features, outputs = int(params.get("features", 256)), int(params.get("outputs", 16))
    weights = rng.standard_normal((features, outputs)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "weights"], ["output"])],
        "linear",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, features])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, outputs])],
        initializer=[numpy_helper.from_array(weights, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    kwargs: dict[str, Any] = {}
    if "save_as_external_data" in params:
        kwargs["save_as_external_data"] = bool(params["save_as_external_data"])
    return mlflow.onnx.log_model(model, name="model", **kwargs)


KINDS = {"sklearn": _sklearn, "digits": _digits, "xgboost": _xgboost, "onnx": _onnx}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=sorted(KINDS), required=True)
    parser.add_argument("--name", required=True, help="registered model name")
    parser.add_argument("--params", default="{}", help="JSON parameters for the kind")
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp())  # MLflow writes scratch files into the working directory
    with mlflow.start_run() as run:
        info = KINDS[args.kind](json.loads(args.params))
    version = mlflow.register_model(info.model_uri, args.name)
    print(
        json.dumps(
            {
                "name": args.name,
                "version": int(version.version),
                "uri": f"models:/{args.name}/{version.version}",
                "run_id": run.info.run_id,
            }
        )
    )


if __name__ == "__main__":
    main()
