"""Runtime combinations no schema can rule out, reported at the served version's field.

Messages start with the field path (`served[0].runtime: ...`); the pipeline maps that path to a
line and column in the endpoint file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from compiler.diagnostics import Diagnostic
from plugins.runtimes.selection import BUILTIN_RUNTIMES, TRITON_FLAVORS
from plugins.workload.gpus import unknown_type_problem

if TYPE_CHECKING:
    from compiler.context import EndpointContext, ServedContext
    from compiler.models.environment import Environment

VLLM_TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
"""vLLM shards attention heads evenly: tensor parallel size must divide them, and a node has at
most 8 GPUs, so a pod's GPU count must be one of these."""

MODEL_RUNTIMES = ("mlflow", "vllm", "triton")
VLLM_FLAVORS = ("transformers",)
"""vLLM loads Hugging Face checkpoints, which MLflow stores with the transformers flavor."""
DIRECT_STORE_SCHEMES = ("s3", "gs", "wasbs", "abfss", "hdfs", "file")
"""Artifact-store URIs a pod would read without the tracking server: knobless renders no store
credentials and no egress to the store, so every fetch goes through MLflow's artifact proxy."""


def validate_endpoint(endpoint: EndpointContext, source: str) -> Iterator[Diagnostic]:
    """Problems of every served version, judged on the runtime actually chosen (a plugin's
    choice included) and the resources the environment resolved."""
    for index, served in enumerate(endpoint.served):
        for field, message in _problems(served, endpoint.environment):
            yield Diagnostic(source, 0, 0, f"served[{index}].{field}: {message}")
    logging = endpoint.spec.logging
    if logging is not None and logging.payloads is not None:
        silent = sorted(
            {s.runtime.name for s in endpoint.served if s.runtime.name in MODEL_RUNTIMES}
        )
        if silent:
            yield Diagnostic(
                source,
                0,
                0,
                "logging.payloads.sampleRate: nothing would capture payloads: no request/response "
                f"records come from {' or '.join(silent)} (the sidecar samples "
                "OTLP log records with the attribute knobless.payload=true, which only the "
                "team's own image, `runtime: custom`, can send); remove `logging.payloads`, "
                "or serve an image that emits them",
            )


def _problems(served: ServedContext, environment: Environment) -> Iterator[tuple[str, str]]:
    runtime = served.runtime.name
    spec = served.spec
    gpus = served.resources.gpu_count
    gpu_problem = unknown_type_problem(served.resources, environment)
    if gpu_problem:
        yield ("compute", gpu_problem)
    scheme = spec.model.split(":", 1)[0] if spec.model else None
    if runtime in MODEL_RUNTIMES and scheme in DIRECT_STORE_SCHEMES:
        yield (
            "model",
            f"{scheme}:// is read straight from the artifact store, which needs store "
            "credentials and egress knobless does not render; register the model and use "
            "models:/<name>/<version> (or runs:/<run-id>/<path>), which pods fetch through "
            "the MLflow server's artifact proxy",
        )
    if runtime == "triton" and spec.flavor == "pytorch":
        yield (
            "flavor",
            "triton cannot serve MLflow pytorch models: MLflow pickles the module "
            "(torch.save), which Triton's PyTorch backend (libtorch) cannot load, and that "
            "backend needs inputs and outputs in config.pbtxt; leave `runtime` out to serve it "
            "with mlflow, or export it to ONNX and log it with flavor onnx",
        )
    if runtime in MODEL_RUNTIMES and spec.image is not None:
        yield (
            "runtime",
            f"{runtime} serves an MLflow `model`, but this version sets `image`; leave "
            "`runtime` out (or use `runtime: custom`) to run the image, or replace `image` "
            "and `port` with `model`",
        )
    if runtime == "custom" and spec.image is None:
        yield (
            "runtime",
            "custom runs the team's own container and needs `image` and `port`; set them, or "
            "leave `runtime` out to serve the `model` with a built-in runtime",
        )
    if spec.flavor == "tensorrt" and gpus == 0:
        yield (
            "flavor",
            "tensorrt engines run only on NVIDIA GPUs, and this version's compute has none; "
            "give `compute` a GPU (e.g. a GPU workload)",
        )
    if (
        runtime == "triton"
        and spec.image is None
        and spec.flavor not in TRITON_FLAVORS
        and spec.flavor != "pytorch"
    ):
        got = f"flavor {spec.flavor}" if spec.flavor else "no `flavor`"
        yield (
            "runtime",
            f"triton needs a model it can load (flavor onnx or tensorrt) to build its "
            f"model repository, got {got}; set `flavor`, or leave `runtime` out",
        )
    if runtime != "vllm":
        return
    if spec.flavor is not None and spec.flavor not in VLLM_FLAVORS:
        yield (
            "runtime",
            f"vllm serves transformers language models, not flavor {spec.flavor}; leave "
            "`runtime` out to get the runtime that serves it",
        )
    if gpus == 0:
        yield (
            "runtime",
            "vllm needs a GPU, and this version's compute has none; give `compute` a GPU "
            "(e.g. a GPU workload) or leave `runtime` out to serve on CPU with mlflow",
        )
    elif gpus not in VLLM_TENSOR_PARALLEL_SIZES:
        yield (
            "compute",
            f"vllm runs tensor parallel over all {gpus} GPUs of a pod, which must be 1, 2, 4 or 8 "
            "(a node has at most 8 and the model's attention heads must split evenly); "
            "pick a workload with one of those GPU counts",
        )


def known_runtime(name: str) -> bool:
    return name in BUILTIN_RUNTIMES
