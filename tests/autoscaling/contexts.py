"""EndpointContexts for the example endpoints in every example environment, built directly.

The lead's pipeline resolves these for real; until the autoscaling tests can rely on it, this
small resolver follows DESIGN.md: defaults < endpoint file < patch < overrides[name] (maps merge,
lists replace), `exclude` drops endpoints, named workloads become concrete resources, and the
runtime follows the documented rules (task llm/* -> vllm, image -> custom, onnx/tensorrt or GPU
torch -> triton, otherwise mlflow).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import _jsonnet
import yaml

from compiler.context import (
    EndpointContext,
    EnvironmentContext,
    Resources,
    RuntimeChoice,
    ServedContext,
)
from compiler.models.endpoint import EndpointSpec, ExplicitCompute, ServedModel
from compiler.models.environment import Environment

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT_NAMES = tuple(sorted(p.stem for p in (ROOT / "endpoints").glob("*.yaml")))
ENVIRONMENT_NAMES = tuple(sorted(p.stem for p in (ROOT / "environments").glob("*.jsonnet")))


def merge(base: Any, layer: Any) -> Any:
    if isinstance(base, dict) and isinstance(layer, dict):
        merged = dict(base)
        for key, value in layer.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return layer


def environment_data(name: str) -> dict[str, Any]:
    text = _jsonnet.evaluate_file(str(ROOT / "environments" / f"{name}.jsonnet"))
    data: dict[str, Any] = json.loads(text)
    return data


def load_environment(name: str, **changes: Any) -> Environment:
    """The example environment, with top-level blocks merged from `changes` (e.g. scaler=...)."""
    return Environment.model_validate(merge(environment_data(name), changes))


def endpoint_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "endpoints" / f"{name}.yaml").read_text())
    return data


def _runtime(served: ServedModel, resources: Resources) -> RuntimeChoice:
    if served.runtime is not None:
        return RuntimeChoice(served.runtime, "set in the endpoint file")
    if served.image is not None:
        return RuntimeChoice("custom", "the team's own image")
    if served.task is not None and served.task.startswith("llm/"):
        return RuntimeChoice("vllm", "an LLM task")
    if served.flavor in ("onnx", "tensorrt") or (
        served.flavor == "pytorch" and resources.gpu_count > 0
    ):
        return RuntimeChoice("triton", "batches on Triton")
    return RuntimeChoice("mlflow", "a classic ML flavor")


def _resources(served: ServedModel, environment: Environment) -> Resources:
    compute = served.compute
    if isinstance(compute, ExplicitCompute):
        gpu = compute.gpu
        return Resources(
            compute.cpu,
            compute.memory,
            gpu.count if gpu else 0,
            gpu.type if gpu else None,
        )
    workload = environment.workloads[compute.workload]
    gpu = workload.gpu
    return Resources(
        workload.cpu,
        workload.memory,
        gpu.count if gpu else 0,
        gpu.type if gpu else None,
        workload=compute.workload,
    )


def endpoint_context(
    name: str, environment: Environment, data: dict[str, Any] | None = None
) -> EndpointContext:
    """Resolve one endpoint (the example file, or `data`) in `environment`."""
    raw = endpoint_data(name) if data is None else data
    layered = merge(merge(environment.defaults, raw), environment.patch)
    layered = merge(layered, environment.overrides.get(name, {}))
    spec = EndpointSpec.model_validate(layered)
    served = []
    for model in spec.served:
        resources = _resources(model, environment)
        served.append(
            ServedContext(
                model,
                resources,
                _runtime(model, resources),
                spec.traffic_percent(model.name),
            )
        )
    return EndpointContext(spec, environment, tuple(served), f"endpoints/{name}.yaml")


def all_contexts(environment: Environment) -> list[EndpointContext]:
    return [
        endpoint_context(name, environment)
        for name in ENDPOINT_NAMES
        if name not in environment.exclude
    ]


def environment_context(environment: Environment) -> EnvironmentContext:
    return EnvironmentContext(environment, f"environments/{environment.name}.jsonnet")
