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


class _Sleepy(mlflow.pyfunc.PythonModel):
    """Answers input x 2 after `seconds`: a request that stays in flight long enough to watch."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        import time

        time.sleep(self.seconds)
        return model_input * 2


def _sleepy(params: dict[str, Any]) -> Any:
    import pandas as pd

    example = pd.DataFrame({"x": [1.0, 2.0]})
    return mlflow.pyfunc.log_model(
        name="model", python_model=_Sleepy(float(params.get("seconds", 2.0))), input_example=example
    )


class _Logged:
    def __init__(self, model_uri: str) -> None:
        self.model_uri = model_uri


def _transformers_layout(params: dict[str, Any]) -> Any:
    """The folder mlflow.transformers saves (MLflow 3.6, mlflow/transformers/__init__.py), with
    stand-in weight files: `weights` has model/ and components/tokenizer/; `peft` only the
    adapter (peft/) and the base model's Hub name, as MLflow saves every PEFT fine-tune;
    `reference` only the Hub name (save_pretrained=False). Logged as run artifacts: no torch."""
    layout = params.get("layout", "weights")
    base = "meta-llama/Llama-3.1-70B-Instruct"
    flavor = {"task": "text-generation", "transformers_version": "4.57.1", "framework": "pt"}
    folder = tempfile.mkdtemp()

    def write(path: str, text: str) -> None:
        full = os.path.join(folder, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(text)

    if layout == "weights":
        flavor["model_binary"] = "model"
        write("model/config.json", '{"model_type": "llama"}')
        write("model/model.safetensors", "stand-in")
        write("components/tokenizer/tokenizer.json", "{}")
        flavor["components"] = ["tokenizer"]  # type: ignore[assignment]
    else:
        flavor["source_model_name"] = base
        flavor["source_model_revision"] = "0e9e39f249a16976918f6564b8830bc894c89659"
        if layout == "peft":
            flavor["peft_adaptor"] = "peft"
            write("peft/adapter_config.json", f'{{"base_model_name_or_path": "{base}"}}')
            write("peft/adapter_model.safetensors", "stand-in")
    lines = ["flavors:", "  transformers:"]
    lines += [f"    {key}: {value}" for key, value in flavor.items()]
    write("MLmodel", "\n".join(lines) + "\n")
    mlflow.log_artifacts(folder, artifact_path="model")
    run = mlflow.active_run()
    assert run is not None
    return _Logged(f"runs:/{run.info.run_id}/model")


KINDS = {
    "sklearn": _sklearn,
    "digits": _digits,
    "xgboost": _xgboost,
    "onnx": _onnx,
    "sleepy": _sleepy,
    "transformers-layout": _transformers_layout,
}


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
