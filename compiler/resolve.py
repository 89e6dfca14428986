"""Resolving one endpoint in one environment: merge the layers, validate, make compute concrete.

Precedence, lowest first: environment `defaults` < the endpoint file < `patch` < `overrides[name]`.
Mappings merge key by key; lists and scalars replace. Every leaf remembers the layer that set it,
so errors in the merged spec point at the file (and line) that introduced the bad value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pluggy
from pydantic import ValidationError

from compiler.context import EndpointContext, ModelImage, Origin, Resources, ServedContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.environments import EnvironmentSource
from compiler.errors import InputError
from compiler.images.lock import LOCK_FILE
from compiler.loader import FieldPath, LoadedYaml
from compiler.models.crossfield import did_you_mean
from compiler.models.endpoint import (
    ConcurrencyRange,
    EndpointSpec,
    ExplicitCompute,
    Scaling,
    ServedModel,
)
from compiler.models.environment import Environment
from compiler.origins import LazyOrigins
from compiler.review.lint import known_rules, unknown_ignores
from compiler.summary import EndpointSummary, ServedSummary
from compiler.validation import dotted, spec_diagnostics

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
        raise InputError([_unknown_workload(index, compute.workload, environment, locate)])
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


def _unknown_workload(
    index: int, name: str, environment: Environment, locate: Callable[[FieldPath], Origin]
) -> Diagnostic:
    defined = ", ".join(sorted(environment.workloads)) or "none"
    return _positioned(
        locate(("served", index, "compute", "workload")),
        f"served[{index}].compute.workload: `{name}` is not defined in environment "
        f"`{environment.name}`{did_you_mean(name, environment.workloads)} (defined: {defined})",
    )


def _raw_environment_checks(
    merged: Any,
    environment: Environment,
    locate: Callable[[FieldPath], Origin],
    manager: pluggy.PluginManager,
) -> list[Diagnostic]:
    """What can still be judged of a spec that failed validation: its workload names in this
    environment and its `lint.ignore` rule ids (they do not depend on the fields at fault)."""
    if not isinstance(merged, dict):
        return []
    problems = []
    served = merged.get("served")
    for index, item in enumerate(served if isinstance(served, list) else []):
        compute = item.get("compute") if isinstance(item, dict) else None
        name = compute.get("workload") if isinstance(compute, dict) else None
        if isinstance(name, str) and name not in environment.workloads:
            problems.append(_unknown_workload(index, name, environment, locate))
    settings = merged.get("lint")
    ignore = settings.get("ignore") if isinstance(settings, dict) else None
    if isinstance(ignore, dict):
        problems.extend(unknown_ignores(ignore, locate, known_rules(manager)))
    return problems


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

        raise InputError(spec_diagnostics(error, EndpointSpec, position, data=merged)) from None
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
    locate = _locator(loaded, origins)
    try:
        spec = _validated(loaded, layers, merged, locate)
    except InputError as error:
        found = [*error.diagnostics, *_raw_environment_checks(merged, environment, locate, manager)]
        found.extend(_runtime_checks(merged, loaded, environment, env_source, locate, manager))
        raise InputError(found) from None
    served_contexts, problems = _served_contexts(
        spec, environment, env_source, origins, locate, manager
    )
    if problems:  # the versions that did resolve are still judged
        found = _runtime_checks(merged, loaded, environment, env_source, locate, manager)
        raise InputError({*problems, *found})
    endpoint = EndpointContext(
        spec=spec,
        environment=environment,
        served=served_contexts,
        source=loaded.path,
        origins=origins,
    )
    plugin_problems = _plugin_validation(endpoint, manager)
    if any(d.severity is Severity.ERROR for d in plugin_problems):
        raise InputError(plugin_problems)
    return endpoint


def _locator(loaded: LoadedYaml, origins: LazyOrigins) -> Callable[[FieldPath], Origin]:
    """Where a field of the merged endpoint was written (a layer's file, line and column)."""

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

    return locate


def _served_contexts(
    spec: EndpointSpec,
    environment: Environment,
    env_source: EnvironmentSource,
    origins: LazyOrigins,
    locate: Callable[[FieldPath], Origin],
    manager: pluggy.PluginManager,
) -> tuple[tuple[ServedContext, ...], list[Diagnostic]]:
    """Every served version with its resources and runtime, and what stood in the way."""
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
            problems.append(_no_runtime(locate, index))
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
    return tuple(served_contexts), problems


def _no_runtime(locate: Callable[[FieldPath], Origin], index: int) -> Diagnostic:
    return _positioned(
        locate(("served", index)),
        f"served[{index}]: no runtime can serve this model; set `runtime:` "
        "(mlflow, vllm, triton or custom)",
    )


def _plugin_validation(
    endpoint: EndpointContext, manager: pluggy.PluginManager
) -> list[Diagnostic]:
    found = manager.hook.knobless_validate_endpoint(
        spec=endpoint.spec,
        environment=endpoint.environment,
        source=endpoint.source,
        endpoint=endpoint,
    )
    return [_place(d, endpoint.locate) for batch in found if batch for d in batch]


def _stand_in(
    merged: Any, name: str, environment: Environment
) -> tuple[EndpointSpec, list[int]] | None:
    """For a spec that failed validation: a spec of only its served versions that are valid on
    their own and name a known workload (everything else at inert values), and the index each
    had in the file; so that runtime combinations are still judged. Never validated as a whole:
    it only ever reaches the runtime hooks."""
    served = merged.get("served") if isinstance(merged, dict) else None
    items: list[ServedModel] = []
    indices: list[int] = []
    for index, item in enumerate(served if isinstance(served, list) else []):
        try:
            model = ServedModel.model_validate(item)
        except ValidationError:
            continue
        compute = model.compute
        if isinstance(compute, ExplicitCompute) or compute.workload in environment.workloads:
            items.append(model)
            indices.append(index)
    if not items:
        return None
    scaling = Scaling.model_construct(
        concurrency=ConcurrencyRange.model_construct(min=0, max=1), perReplica=None, schedule=()
    )
    spec = EndpointSpec.model_construct(
        name=name,
        owner="",
        description=None,
        served=tuple(items),
        traffic=None,
        scaling=scaling,
        logging=None,
        lint=None,
    )
    return spec, indices


def _runtime_checks(
    merged: Any,
    loaded: LoadedYaml,
    environment: Environment,
    env_source: EnvironmentSource,
    locate: Callable[[FieldPath], Origin],
    manager: pluggy.PluginManager,
) -> list[Diagnostic]:
    """The runtime findings about served versions of a spec that failed validation (see
    _stand_in), each at its place in the file."""
    found = _stand_in(merged, loaded.path.rsplit("/", 1)[-1].rsplit(".", 1)[0], environment)
    if found is None:
        return []
    stand_in, indices = found

    def renumbered(diagnostic: Diagnostic) -> Diagnostic | None:
        head, bracket, rest = diagnostic.message.partition("]")
        if not head.startswith("served[") or not bracket or not head[7:].isdigit():
            return None  # about a part of the stand-in that is not the user's
        message = f"served[{indices[int(head[7:])]}]{rest}"
        return _place(replace(diagnostic, path=loaded.path, line=0, message=message), locate)

    scratch = LazyOrigins(dict)  # the stand-in's own origins are not the file's: not used
    contexts, problems = _served_contexts(
        stand_in, environment, env_source, scratch, locate, manager
    )
    if not problems:
        endpoint = EndpointContext(stand_in, environment, contexts, loaded.path, scratch)
        problems = _plugin_validation(endpoint, manager)
    return [d for d in map(renumbered, problems) if d is not None]


def rough_summary(
    loaded: LoadedYaml, environment: Environment, env_source: EnvironmentSource
) -> EndpointSummary:
    """What environment-wide rules need of an endpoint that failed to resolve, read from its
    merged data as written: its served versions and their workloads (runtime `unknown`). They
    then judge the environment as it would be (no workload wrongly unused, every ScaledObject
    counted) in the same run that reports the endpoint's own problems."""
    name = loaded.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    merged = merge_data(endpoint_layers(loaded, environment, env_source, name))
    served = merged.get("served") if isinstance(merged, dict) else None
    rows = []
    for item in served if isinstance(served, list) else []:
        item = item if isinstance(item, dict) else {}
        compute = item.get("compute")
        workload = compute.get("workload") if isinstance(compute, dict) else None
        rows.append(
            ServedSummary(
                str(item.get("name", "")),
                "unknown",
                workload if isinstance(workload, str) else None,
                0,
                0,
            )
        )
    owner = merged.get("owner") if isinstance(merged, dict) else None
    return EndpointSummary(name, str(owner or ""), environment.namespace_for(name), tuple(rows))


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


def _place(diagnostic: Diagnostic, locate: Callable[[FieldPath], Origin]) -> Diagnostic:
    """A plugin diagnostic without a position, whose message starts with a field path
    (`served[0].runtime: ...`), gets the position of that field."""
    if diagnostic.line or ":" not in diagnostic.message:
        return diagnostic
    field_text = diagnostic.message.split(":", 1)[0]
    path = _parse_dotted(field_text)
    if path is None or dotted(path) != field_text:
        return diagnostic
    origin = locate(path)
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
