"""Runtime combinations no schema can rule out, reported at the served version's field.

Messages start with the field path (`served[0].runtime: ...`); the pipeline maps that path to a
line and column in the endpoint file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from compiler.diagnostics import Diagnostic
from plugins.runtimes.selection import BUILTIN_RUNTIMES, TRITON_FLAVORS, gpu_count, select_runtime

if TYPE_CHECKING:
    from compiler.models.endpoint import EndpointSpec, ServedModel
    from compiler.models.environment import Environment

VLLM_TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
"""vLLM shards attention heads evenly: tensor parallel size must divide them, and a node has at
most 8 GPUs, so a pod's GPU count must be one of these."""

MODEL_RUNTIMES = ("mlflow", "vllm", "triton")


def validate_endpoint(
    spec: EndpointSpec, environment: Environment, source: str
) -> Iterator[Diagnostic]:
    for index, served in enumerate(spec.served):
        for field, message in _problems(served, environment):
            yield Diagnostic(source, 0, 0, f"served[{index}].{field}: {message}")


def _problems(served: ServedModel, environment: Environment) -> Iterator[tuple[str, str]]:
    explicit = served.runtime
    gpus = gpu_count(served, environment)
    if explicit in MODEL_RUNTIMES and served.image is not None:
        yield (
            "runtime",
            f"{explicit} serves an MLflow `model`, but this version sets `image`; leave "
            "`runtime` out (or use `runtime: custom`) to run the image, or replace `image` "
            "and `port` with `model`",
        )
    if explicit == "custom" and served.image is None:
        yield (
            "runtime",
            "custom runs the team's own container and needs `image` and `port`; set them, or "
            "leave `runtime` out to serve the `model` with a built-in runtime",
        )
    if served.flavor == "tensorrt" and gpus == 0:
        yield (
            "flavor",
            "tensorrt engines run only on NVIDIA GPUs, and this version's compute has none; "
            "give `compute` a GPU (e.g. a GPU workload)",
        )
    if explicit == "triton" and served.image is None and served.flavor not in TRITON_FLAVORS:
        got = f"flavor {served.flavor}" if served.flavor else "no `flavor`"
        yield (
            "runtime",
            f"triton needs a model it can load (flavor onnx, tensorrt or pytorch) to build its "
            f"model repository, got {got}; set `flavor`, or leave `runtime` out",
        )
    choice = select_runtime(served, environment)
    if choice is None or choice.name != "vllm" or gpus is None:
        return
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
