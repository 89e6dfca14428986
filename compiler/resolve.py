"""Resolving one endpoint in one environment: merge the layers, validate, make compute concrete.

Precedence, lowest first: environment `defaults` < the endpoint file < `patch` < `overrides[name]`.
Mappings merge key by key; lists and scalars replace. Every leaf remembers the layer that set it,
so errors in the merged spec point at the file (and line) that introduced the bad value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy
from pydantic import ValidationError

from compiler.context import EndpointContext, ModelImage, Origin, Resources, ServedContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.environments import EnvironmentSource
from compiler.errors import InputError
from compiler.images.lock import LOCK_FILE
from compiler.loader import FieldPath, LoadedYaml
from compiler.models.endpoint import EndpointSpec, ExplicitCompute, ServedModel
from compiler.models.environment import Environment
from compiler.origins import LazyOrigins
from compiler.validation import dotted, pydantic_diagnostics

OriginOf = Callable[[FieldPath], Origin]


@dataclass(frozen=True)
class Layer:
    name: str
    data: Any
    origin_of: OriginOf


def merge_data(layers: list[Layer]) -> Any:
    """Deep-merge the layers' data in order: mappings key by key, lists and scalars replace."""
    merged: Any = {}
    for layer in layers:
        if layer.data:
            merged = _overlay(merged, layer.data)
    return merged


def _overlay(base: Any, top: Any) -> Any:
    if isinstance(base, dict) and isinstance(top, dict):
        result = dict(base)
        for key, value in top.items():
            result[key] = _overlay(base.get(key, _ABSENT), value)
        return result
    return top


def layer_origins(layers: list[Layer], merged: Any) -> dict[FieldPath, Origin]:
    """The origin of every value of `merged`: the last layer that holds the value's path.

    That layer either set the value (a scalar or list replaces whatever lay below) or, for a
    mapping, was the last to write keys into it: a problem of the mapping as a whole (min > max)
    is most likely that layer's doing.
    """
    origins: dict[FieldPath, Origin] = {}

    def walk(value: Any, path: FieldPath, holders: list[tuple[Layer, Any]]) -> None:
        origins[path] = holders[-1][0].origin_of(path)
        if isinstance(value, dict):
            for key, child in value.items():
                below = [(lr, d[key]) for lr, d in holders if isinstance(d, dict) and key in d]
                walk(child, (*path, key), below)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                below = [
                    (lr, d[index]) for lr, d in holders if isinstance(d, list) and index < len(d)
                ]
                walk(child, (*path, index), below)

    holders = [(layer, layer.data) for layer in layers if layer.data]
    if holders:
        walk(merged, (), holders)
    return origins


def merge_layers(layers: list[Layer]) -> tuple[Any, dict[FieldPath, Origin]]:
    """Deep-merge layers in order; returns the merged data and the origin of every value."""
    merged = merge_data(layers)
    return merged, layer_origins(layers, merged)


class _Absent:
    pass


_ABSENT = _Absent()


def endpoint_layers(
    loaded: LoadedYaml, environment: Environment, env_source: EnvironmentSource, name: str
) -> list[Layer]:
    def from_file(path: FieldPath) -> Origin:
        line, col = loaded.position(path)
        return Origin(loaded.path, line, col, "endpoint")

    def from_environment(prefix: FieldPath, layer: str) -> OriginOf:
        def origin(path: FieldPath) -> Origin:
            file, line, col = env_source.position((*prefix, *path))
            return Origin(file, line, col, layer)

        return origin

    return [
        Layer("defaults", environment.defaults, from_environment(("defaults",), "defaults")),
        Layer("endpoint", loaded.data, from_file),
        Layer("patch", environment.patch, from_environment(("patch",), "patch")),
        Layer(
            "override",
            environment.overrides.get(name),
            from_environment(("overrides", name), "override"),
        ),
    ]


def _positioned(origin: Origin, message: str, severity: Severity = Severity.ERROR) -> Diagnostic:
    return Diagnostic(origin.path, origin.line, origin.col, message, severity)


def _resources(
    served: ServedModel,
    index: int,
    environment: Environment,
    env_source: EnvironmentSource,
    origins: LazyOrigins,
    locate: Callable[[FieldPath], Origin],
) -> Resources:
    compute = served.compute
    if isinstance(compute, ExplicitCompute):
        gpu = compute.gpu
        return Resources(
            cpu=compute.cpu,
            memory=compute.memory,
            gpu_count=gpu.count if gpu else 0,
            gpu_type=gpu.type if gpu else None,
        )
    workload = environment.workloads.get(compute.workload)
    if workload is None:
        defined = ", ".join(sorted(environment.workloads)) or "none"
        raise InputError(
            [
                _positioned(
                    locate(("served", index, "compute", "workload")),
                    f"served[{index}].compute.workload: `{compute.workload}` is not defined in "
                    f"environment `{environment.name}` (defined: {defined})",
                )
            ]
        )
    origins.defer(lambda: _workload_origins(env_source, index, compute.workload))
    gpu = workload.gpu
    return Resources(
        cpu=workload.cpu,
        memory=workload.memory,
        gpu_count=gpu.count if gpu else 0,
        gpu_type=gpu.type if gpu else None,
        node_selector=tuple(sorted(workload.nodeSelector.items())),
        tolerations=workload.tolerations,
        workload=compute.workload,
    )


def _workload_origins(
    env_source: EnvironmentSource, index: int, workload: str
) -> dict[FieldPath, Origin]:
    """cpu, memory and gpu of a named workload come from the environment's `workloads`."""
    origins: dict[FieldPath, Origin] = {}
    for field in ("cpu", "memory", "gpu"):
        file, line, col = env_source.position(("workloads", workload, field))
        origins[("served", index, "compute", field)] = Origin(file, line, col, "workload")
    return origins


def _validated(
    loaded: LoadedYaml, layers: list[Layer], merged: Any, locate: Callable[[FieldPath], Origin]
) -> EndpointSpec:
    """The merged spec as a model, validated once per distinct merge of this endpoint file.

    Environments that add nothing to an endpoint (no defaults, patch or override touching it)
    merge to the same data; the model is frozen, so they share it. The key is what the
    environment layers hold, since the endpoint layer is this file's own data.
    """
    key = tuple(repr(layer.data) for layer in layers if layer.name != "endpoint")
    known = loaded.specs.get(key)
    if known is not None:
        return known
    try:
        spec = EndpointSpec.model_validate(merged)
    except ValidationError as error:

        def position(path: FieldPath, key: bool) -> tuple[str, int, int]:
            origin = locate(path)
            if key and origin.path == loaded.path:
                return (loaded.path, *loaded.position(path, key=True))
            return origin.path, origin.line, origin.col

        raise InputError(pydantic_diagnostics(error, EndpointSpec, position, data=merged)) from None
    loaded.specs[key] = spec
    return spec


def resolve_endpoint(
    loaded: LoadedYaml,
    environment: Environment,
    env_source: EnvironmentSource,
    manager: pluggy.PluginManager,
) -> EndpointContext:
    """The endpoint as it will run in `environment`. Raises InputError with every problem."""
    name = loaded.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    layers = endpoint_layers(loaded, environment, env_source, name)
    merged = merge_data(layers)
    origins = LazyOrigins(lambda: layer_origins(layers, merged))

    def locate(path: FieldPath) -> Origin:
        probe = path
        while probe:
            if probe in origins:
                return origins[probe]
            # an inner node: the first leaf below it tells which layer wrote it
            below = [o for p, o in origins.items() if p[: len(probe)] == probe]
            if below:
                return min(below, key=lambda o: (o.layer != "endpoint", o.line))
            probe = probe[:-1]
        line, col = loaded.position(())
        return Origin(loaded.path, line, col, "endpoint")

    spec = _validated(loaded, layers, merged, locate)
    served_contexts = []
    problems: list[Diagnostic] = []
    for index, served in enumerate(spec.served):
        try:
            resources = _resources(served, index, environment, env_source, origins, locate)
        except InputError as error:
            problems.extend(error.diagnostics)
            continue
        runtime = manager.hook.knobless_select_runtime(
            served=served, spec=spec, environment=environment
        )
        if runtime is None:
            problems.append(
                _positioned(
                    locate(("served", index)),
                    f"served[{index}]: no runtime can serve this model; set `runtime:` "
                    "(mlflow, vllm, triton or custom)",
                )
            )
            continue
        if served.runtime is None:
            origins.defer(_runtime_origin(index))
        served_contexts.append(
            ServedContext(
                served,
                resources,
                runtime,
                spec.traffic_percent(served.name),
                _model_image(served, environment, env_source),
            )
        )
    if problems:
        raise InputError(problems)
    endpoint = EndpointContext(
        spec=spec,
        environment=environment,
        served=tuple(served_contexts),
        source=loaded.path,
        origins=origins,
    )
    found = manager.hook.knobless_validate_endpoint(
        spec=spec, environment=environment, source=loaded.path, endpoint=endpoint
    )
    plugin_problems = [_place(d, endpoint) for batch in found if batch for d in batch]
    if any(d.severity is Severity.ERROR for d in plugin_problems):
        raise InputError(plugin_problems)
    return endpoint


def _model_image(
    served: ServedModel, environment: Environment, env_source: EnvironmentSource
) -> ModelImage | None:
    """The served model's entry in images.lock, if it was locked against this environment's
    registry (a lock made against another registry says nothing about this one's models)."""
    locked = env_source.locked
    if served.model is None or locked is None or locked.registry != environment.mlflow.trackingUri:
        return None
    model = locked.models.get(served.model)
    if model is None:
        return None
    line, col = model.position
    return ModelImage(
        locked.reference(model), model.dependencies, Origin(LOCK_FILE, line, col, "lock")
    )


def _runtime_origin(index: int) -> Callable[[], dict[FieldPath, Origin]]:
    return lambda: {("served", index, "runtime"): Origin("(runtime selection)", 0, 0, "runtime")}


def _place(diagnostic: Diagnostic, endpoint: EndpointContext) -> Diagnostic:
    """A plugin diagnostic without a position, whose message starts with a field path
    (`served[0].runtime: ...`), gets the position of that field."""
    if diagnostic.line or ":" not in diagnostic.message:
        return diagnostic
    field_text = diagnostic.message.split(":", 1)[0]
    path = _parse_dotted(field_text)
    if path is None or dotted(path) != field_text:
        return diagnostic
    origin = endpoint.locate(path)
    return Diagnostic(
        origin.path,
        origin.line,
        origin.col,
        diagnostic.message,
        diagnostic.severity,
        diagnostic.rule,
    )


def _parse_dotted(text: str) -> FieldPath | None:
    path: list[str | int] = []
    for part in text.replace("]", "").replace("[", ".").split("."):
        if not part:
            continue
        if part.isdigit():
            path.append(int(part))
        elif part.replace("-", "").replace("_", "").isalnum():
            path.append(part)
        else:
            return None
    return tuple(path) or None
