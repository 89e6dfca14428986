"""Runtime combinations no schema can rule out, reported at the served version's field.

Messages start with the field path (`served[0].runtime: ...`); the pipeline maps that path to a
line and column in the endpoint file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from compiler.diagnostics import Diagnostic
from plugins.runtimes.selection import BUILTIN_RUNTIMES, TRITON_FLAVORS

if TYPE_CHECKING:
    from compiler.context import EndpointContext, ServedContext

VLLM_TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
"""vLLM shards attention heads evenly: tensor parallel size must divide them, and a node has at
most 8 GPUs, so a pod's GPU count must be one of these."""

MODEL_RUNTIMES = ("mlflow", "vllm", "triton")
VLLM_FLAVORS = ("transformers",)
"""vLLM loads Hugging Face checkpoints, which MLflow stores with the transformers flavor."""


def validate_endpoint(endpoint: EndpointContext, source: str) -> Iterator[Diagnostic]:
    """Problems of every served version, judged on the runtime actually chosen (a plugin's
    choice included) and the resources the environment resolved."""
    for index, served in enumerate(endpoint.served):
        for field, message in _problems(served):
            yield Diagnostic(source, 0, 0, f"served[{index}].{field}: {message}")


def _problems(served: ServedContext) -> Iterator[tuple[str, str]]:
    runtime = served.runtime.name
    spec = served.spec
    gpus = served.resources.gpu_count
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
    if runtime == "triton" and spec.image is None and spec.flavor not in TRITON_FLAVORS:
        got = f"flavor {spec.flavor}" if spec.flavor else "no `flavor`"
        yield (
            "runtime",
            f"triton needs a model it can load (flavor onnx, tensorrt or pytorch) to build its "
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
