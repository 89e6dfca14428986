"""Which runtime serves a model when the spec leaves `runtime` out, and the sentence saying why.

The reason is what a user reads in the Deployment's `knobless.dev/runtime-reason` annotation and
in `knobless explain`, so it names the fields that decided.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler.context import RuntimeChoice
from compiler.models.endpoint import CLASSIC_FLAVORS, ExplicitCompute, WorkloadCompute

if TYPE_CHECKING:
    from compiler.models.endpoint import ServedModel
    from compiler.models.environment import Environment

BUILTIN_RUNTIMES = ("mlflow", "vllm", "triton", "custom")
LLM_TASK_PREFIX = "llm/v1/"
TRITON_FLAVORS = ("onnx", "tensorrt")
"""Flavors Triton serves natively once the init container lays out the model repository."""


def gpu_count(served: ServedModel, environment: Environment) -> int | None:
    """GPUs per pod from explicit compute or the named workload; None if the workload is unknown
    (the core validation reports that)."""
    compute = served.compute
    if isinstance(compute, ExplicitCompute):
        return compute.gpu.count if compute.gpu else 0
    if isinstance(compute, WorkloadCompute):
        workload = environment.workloads.get(compute.workload)
        if workload is None:
            return None
        return workload.gpu.count if workload.gpu else 0
    return None


def _compute_phrase(served: ServedModel, gpus: int) -> str:
    where = (
        f"workload {served.compute.workload}"
        if isinstance(served.compute, WorkloadCompute)
        else "its compute"
    )
    if gpus == 0:
        return f"{where} has no GPU"
    return f"{where} has {gpus} GPU{'s' if gpus != 1 else ''}"


def select_runtime(served: ServedModel, environment: Environment) -> RuntimeChoice | None:
    """The built-in choice for one served version; None for an explicit runtime no built-in knows
    (a plugin must claim it, or the pipeline reports that nothing serves it)."""
    if served.runtime is not None:
        if served.runtime not in BUILTIN_RUNTIMES:
            return None
        return RuntimeChoice(served.runtime, f"`runtime: {served.runtime}` is set in the spec")
    if served.image is not None:
        return RuntimeChoice(
            "custom", f"`image` is set: the team's own container, serving on port {served.port}"
        )
    gpus = gpu_count(served, environment) or 0
    flavor, task = served.flavor, served.task
    if task is not None and task.startswith(LLM_TASK_PREFIX):
        if gpus:
            return RuntimeChoice(
                "vllm",
                f"task {task} is an LLM task and {_compute_phrase(served, gpus)}: vLLM, "
                f"tensor parallel over {gpus} GPU{'s' if gpus != 1 else ''}",
            )
        return RuntimeChoice(
            "mlflow",
            f"task {task} is an LLM task but {_compute_phrase(served, gpus)}; vLLM needs a GPU, "
            "so the MLflow pyfunc server serves it on CPU",
        )
    if flavor == "transformers" and gpus:
        return RuntimeChoice(
            "vllm",
            f"flavor transformers and {_compute_phrase(served, gpus)}: vLLM, "
            f"tensor parallel over {gpus} GPU{'s' if gpus != 1 else ''}",
        )
    if flavor in ("onnx", "tensorrt"):
        return RuntimeChoice(
            "triton", f"flavor {flavor}: Triton Inference Server with dynamic batching"
        )
    if flavor == "pytorch":
        return RuntimeChoice(
            "mlflow",
            f"flavor pytorch on {'GPU' if gpus else 'CPU'}: MLflow pyfunc server (MLflow "
            "pickles the module, which Triton's PyTorch backend cannot load)",
        )
    if flavor in CLASSIC_FLAVORS:
        return RuntimeChoice(
            "mlflow",
            f"flavor {flavor} is a classic ML flavor: MLflow pyfunc server, "
            "workers sized from the CPU request",
        )
    if flavor is not None:
        return RuntimeChoice(
            "mlflow",
            f"flavor {flavor} on {'CPU' if not gpus else 'GPU'} has no specialised runtime: "
            "MLflow pyfunc server",
        )
    return RuntimeChoice(
        "mlflow", "no flavor or task given: the MLflow pyfunc server serves any MLflow model"
    )
