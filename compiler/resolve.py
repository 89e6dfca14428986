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

from compiler.context import EndpointContext, Origin, Resources, ServedContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.environments import EnvironmentSource
from compiler.errors import InputError
from compiler.loader import FieldPath, LoadedYaml
from compiler.models.endpoint import EndpointSpec, ExplicitCompute, ServedModel
from compiler.models.environment import Environment
from compiler.validation import dotted, pydantic_diagnostics

OriginOf = Callable[[FieldPath], Origin]


@dataclass(frozen=True)
class Layer:
    name: str
    data: Any
    origin_of: OriginOf


def _nodes(value: Any, path: FieldPath) -> list[FieldPath]:
    """`path` and the path of every value below it."""
    if isinstance(value, dict):
        return [path, *(n for k, v in value.items() for n in _nodes(v, (*path, k)))]
    if isinstance(value, list):
        return [path, *(n for i, v in enumerate(value) for n in _nodes(v, (*path, i)))]
    return [path]


def merge_layers(layers: list[Layer]) -> tuple[Any, dict[FieldPath, Origin]]:
    """Deep-merge layers in order; returns the merged data and the origin of every value."""
    merged: Any = {}
    origins: dict[FieldPath, Origin] = {}

    def overlay(base: Any, top: Any, path: FieldPath, layer: Layer) -> Any:
        if isinstance(base, dict) and isinstance(top, dict):
            # A mapping takes the origin of the latest layer that wrote into it: a problem of the
            # mapping as a whole (min > max) is most likely that layer's doing.
            origins[path] = layer.origin_of(path)
            result = dict(base)
            for key, value in top.items():
                result[key] = overlay(base.get(key, _ABSENT), value, (*path, key), layer)
            return result
        # Replaced wholesale: forget what lower layers said below this path.
        for stale in [p for p in origins if p[: len(path)] == path]:
            del origins[stale]
        for node in _nodes(top, path):
            origins[node] = layer.origin_of(node)
        return top

    for layer in layers:
        if layer.data:
            merged = overlay(merged, layer.data, (), layer)
    return merged, origins


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
    origins: dict[FieldPath, Origin],
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
    for field in ("cpu", "memory", "gpu"):
        file, line, col = env_source.position(("workloads", compute.workload, field))
        origins[("served", index, "compute", field)] = Origin(file, line, col, "workload")
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


def resolve_endpoint(
    loaded: LoadedYaml,
    environment: Environment,
    env_source: EnvironmentSource,
    manager: pluggy.PluginManager,
) -> EndpointContext:
    """The endpoint as it will run in `environment`. Raises InputError with every problem."""
    name = loaded.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    merged, origins = merge_layers(endpoint_layers(loaded, environment, env_source, name))

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

    try:
        spec = EndpointSpec.model_validate(merged)
    except ValidationError as error:

        def position(path: FieldPath, key: bool) -> tuple[str, int, int]:
            origin = locate(path)
            if key and origin.path == loaded.path:
                return (loaded.path, *loaded.position(path, key=True))
            return origin.path, origin.line, origin.col

        raise InputError(pydantic_diagnostics(error, EndpointSpec, position, data=merged)) from None

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
            origins[("served", index, "runtime")] = Origin("(runtime selection)", 0, 0, "runtime")
        served_contexts.append(
            ServedContext(served, resources, runtime, spec.traffic_percent(served.name))
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
