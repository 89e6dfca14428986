"""The rendered init steps of Triton and vLLM, run for real against a real MLflow server: the
script from rendered/ as committed, downloading real logged models over MLflow's artifact proxy.

Triton: MLflow saves ONNX weights as external data beside model.onnx; the layout keeps them
there, ONNX Runtime (the library Triton's onnxruntime backend calls, from the same path) loads
the result, and a model whose data file is gone fails the step naming it.
vLLM: a PEFT fine-tune (adapter only) or a weightless reference fails the step saying what to
log instead; a model with weights passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mlflow_support import MlflowRegistry, mlflow_registry, require_mlflow

from .containers import artifact_folder, container, mlflow_python, rendered_deployment, run_init


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowRegistry]:
    require_mlflow()
    with mlflow_registry(tmp_path_factory.mktemp("mlflow")) as running:
        yield running


def _triton_init() -> dict:
    return container(rendered_deployment("prod", "doc-embedder", "v2"), "fetch-model")


def _vllm_init() -> dict:
    return container(rendered_deployment("prod", "support-llm", "ft-2026-11"), "fetch-model")


ONNX_RUNS_THE_LAYOUT = """
import sys, numpy as np, onnx, onnxruntime
from onnx import numpy_helper
path = sys.argv[1]
weights = numpy_helper.to_array(onnx.load(path).graph.initializer[0])
session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
x = np.arange(2 * 256, dtype=np.float32).reshape(2, 256) / 512
(y,) = session.run(None, {"input": x})
print(y.shape, bool(np.allclose(y, x @ weights, atol=1e-4)))
"""


def test_triton_init_keeps_the_onnx_external_data_beside_the_graph(
    registry: MlflowRegistry, tmp_path: Path
) -> None:
    logged = registry.log_model("onnx", "doc-embedder")
    stored = artifact_folder(registry, "doc-embedder", logged.version)
    (data_file,) = [p.name for p in stored.iterdir() if p.suffix == ".data"]
    models = tmp_path / "models"
    done = run_init(_triton_init(), registry, models, logged.uri)
    assert done.returncode == 0, done.stderr
    assert "model.onnx: 1 tensors in 1 external data files, all there" in done.stderr
    assert sorted(p.name for p in models.iterdir()) == ["repository"]  # fetched/ is gone
    version = models / "repository" / "doc-embedder" / "1"
    assert sorted(p.name for p in version.iterdir()) == ["model.onnx"]
    folder = version / "model.onnx"  # a directory: onnxruntime_backend opens <dir>/model.onnx
    assert {"model.onnx", data_file} <= {p.name for p in folder.iterdir()}
    assert (models / "repository" / "doc-embedder" / "config.pbtxt").read_text() == (
        'name: "doc-embedder"\n'
        'backend: "onnxruntime"\n'
        "max_batch_size: 64\n"
        "dynamic_batching { max_queue_delay_microseconds: 2000 }\n"
        "instance_group [ { kind: KIND_GPU count: 1 } ]\n"
    )
    assert mlflow_python(ONNX_RUNS_THE_LAYOUT, str(folder / "model.onnx")).strip() == (
        "(2, 16) True"
    )


def test_triton_init_fails_naming_a_missing_external_data_file(
    registry: MlflowRegistry, tmp_path: Path
) -> None:
    logged = registry.log_model("onnx", "half-logged")
    stored = artifact_folder(registry, "half-logged", logged.version)
    (data_file,) = [p for p in stored.iterdir() if p.suffix == ".data"]
    data_file.unlink()  # as if the model had been uploaded without it
    models = tmp_path / "models"
    done = run_init(_triton_init(), registry, models, logged.uri)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-3:] == [
        "model.onnx keeps its weights in external data files that did not come with the model:",
        f"  {data_file.name} is missing (tensors weights)",
        "Log the model again with its data files beside model.onnx (mlflow.onnx.log_model "
        "uploads them), or with save_as_external_data=False for a model under 2 GB.",
    ]
    assert not (models / "repository").exists()


def test_triton_init_takes_an_onnx_model_with_inline_weights(
    registry: MlflowRegistry, tmp_path: Path
) -> None:
    logged = registry.log_model("onnx", "inline", {"save_as_external_data": False})
    models = tmp_path / "models"
    done = run_init(_triton_init(), registry, models, logged.uri)
    assert done.returncode == 0, done.stderr
    assert "model.onnx: 0 tensors in 0 external data files, all there" in done.stderr
    folder = models / "repository" / "doc-embedder" / "1" / "model.onnx"
    assert mlflow_python(ONNX_RUNS_THE_LAYOUT, str(folder / "model.onnx")).strip() == (
        "(2, 16) True"
    )


def test_vllm_init_passes_a_model_with_weights_and_tokenizer(
    registry: MlflowRegistry, tmp_path: Path
) -> None:
    logged = registry.log_model("transformers-layout", "llm-weights", {"layout": "weights"})
    models = tmp_path / "models"
    done = run_init(_vllm_init(), registry, models, logged.uri)
    assert done.returncode == 0, done.stderr
    # what the rendered vllm args point at: /models/fetched/model and .../components/tokenizer
    assert (models / "fetched" / "model" / "config.json").is_file()
    assert (models / "fetched" / "components" / "tokenizer" / "tokenizer.json").is_file()


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (
            "peft",
            "{uri} is a PEFT adapter (peft/) without the weights of its base model "
            "meta-llama/Llama-3.1-70B-Instruct: MLflow saves PEFT fine-tunes as adapters only, "
            "and vLLM here has no Hub to fetch the base from. Merge the adapter "
            "(model.merge_and_unload()) and log the merged model with "
            "mlflow.transformers.log_model, then serve that version.",
        ),
        (
            "reference",
            "{uri} has no weights (no model/ folder): it was logged with save_pretrained=False "
            "and names only meta-llama/Llama-3.1-70B-Instruct. Log it again with "
            "save_pretrained=True (the default), then serve that version.",
        ),
    ],
)
def test_vllm_init_refuses_a_model_without_weights(
    registry: MlflowRegistry, tmp_path: Path, layout: str, message: str
) -> None:
    logged = registry.log_model("transformers-layout", f"llm-{layout}", {"layout": layout})
    done = run_init(_vllm_init(), registry, tmp_path / "models", logged.uri)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == message.format(uri=logged.uri)
