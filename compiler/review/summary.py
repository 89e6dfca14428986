"""The ten-second summary of a diff: per environment and endpoint, what a reviewer must know.

Facts about each endpoint (traffic, concurrency, GPUs, capacity) come from the resolved endpoints
of each side, plus `maxReplicaCount` of the rendered ScaledObjects; whether pods restart comes from
the object diff (a Deployment's `spec.template` changed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from compiler.review.diff import ObjectChange, TreeDiff, diff_trees, parse_object, split_path

if TYPE_CHECKING:
    from compiler.context import EndpointContext
    from compiler.manifest import Manifest

POD_TEMPLATE = "spec.template"


@dataclass(frozen=True)
class ServedFacts:
    """One served version as a reviewer sees it."""

    name: str
    traffic: int
    runtime: str
    gpus: int
    """GPUs per replica."""
    gpu_type: str | None
    cpu: Decimal
    """CPU cores per replica."""
    max_replicas: int
    """Replicas at max concurrency: the ScaledObject's maxReplicaCount when rendered, else
    ceil(concurrency max / perReplica min) (perReplica min 1 when not set)."""
    replicas_from: Literal["scaledobject", "estimate"]


@dataclass(frozen=True)
class Capacity:
    """Worst-case resources held at max concurrency."""

    gpus: int = 0
    cpu: Decimal = Decimal(0)

    def __add__(self, other: Capacity) -> Capacity:
        return Capacity(self.gpus + other.gpus, self.cpu + other.cpu)


@dataclass(frozen=True)
class EndpointFacts:
    name: str
    concurrency: tuple[int, int]
    per_replica: tuple[int, int] | None
    served: tuple[ServedFacts, ...]

    @property
    def worst_case(self) -> Capacity:
        total = Capacity()
        for served in self.served:
            total += Capacity(served.max_replicas * served.gpus, served.max_replicas * served.cpu)
        return total

    @property
    def traffic(self) -> dict[str, int]:
        return {s.name: s.traffic for s in self.served}


@dataclass(frozen=True)
class Side:
    """One side of the diff: its rendered files and the facts of its endpoints per environment."""

    files: Mapping[str, bytes]
    endpoints: Mapping[str, Mapping[str, EndpointFacts]]
    """environment -> endpoint name -> facts."""
    objects: Mapping[str, Any] | None = None
    """The objects of `files` by the same paths, when known (spares parsing YAML)."""


@dataclass(frozen=True)
class EndpointSummary:
    env_name: str
    name: str
    status: Literal["added", "removed", "changed"]
    before: EndpointFacts | None
    after: EndpointFacts | None
    objects: tuple[ObjectChange, ...]
    restarts: tuple[str, ...] = ()
    """Served versions whose pod template changed: their pods are replaced (rolling)."""
    renamed_from: str | None = None
    renamed_to: str | None = None

    @property
    def traffic_changed(self) -> bool:
        old = self.before.traffic if self.before else {}
        new = self.after.traffic if self.after else {}
        return old != new


@dataclass(frozen=True)
class EnvironmentSummary:
    name: str
    status: Literal["added", "removed", "changed", "unchanged"]
    endpoints: tuple[EndpointSummary, ...]
    platform: tuple[ObjectChange, ...]
    """Changed environment-wide objects (scaler, Argo CD)."""
    worst_before: Capacity | None
    worst_after: Capacity | None


@dataclass(frozen=True)
class Review:
    """Everything `knobless diff` reports."""

    base: str
    base_commit: str | None
    environments: tuple[EnvironmentSummary, ...]
    diff: TreeDiff = field(repr=False)

    @property
    def changed_environments(self) -> list[EnvironmentSummary]:
        return [e for e in self.environments if e.status != "unchanged"]


MaxReplicas = Mapping[tuple[str, str], int]
"""(endpoint folder, ScaledObject name) -> maxReplicaCount, for one environment."""


def _max_replicas_of(body: Any) -> int | None:
    if not isinstance(body, dict) or body.get("kind") != "ScaledObject":
        return None
    value = body.get("spec", {}).get("maxReplicaCount")
    return value if isinstance(value, int) else None


def max_replicas_from_manifests(manifests: Sequence[Manifest]) -> dict[tuple[str, str], int]:
    found = {}
    for manifest in manifests:
        value = _max_replicas_of(manifest.body)
        if value is not None:
            found[(manifest.folder, manifest.name)] = value
    return found


def max_replicas_from_files(
    files: Mapping[str, bytes], environment: str
) -> dict[tuple[str, str], int]:
    """The same from rendered files (parsing only ScaledObjects)."""
    found = {}
    for path, data in files.items():
        env, folder, name = split_path(path)
        if env == environment and name.startswith("scaledobject-"):
            value = _max_replicas_of(parse_object(path, data))
            if value is not None:
                found[(folder, name.removeprefix("scaledobject-").removesuffix(".yaml"))] = value
    return found


def facts_from_context(endpoint: EndpointContext, max_replicas: MaxReplicas) -> EndpointFacts:
    spec = endpoint.spec
    concurrency = (spec.scaling.concurrency.min, spec.scaling.concurrency.max)
    per_replica = (
        (spec.scaling.perReplica.min, spec.scaling.perReplica.max)
        if spec.scaling.perReplica
        else None
    )
    served = []
    for item in endpoint.served:
        rendered = max_replicas.get((spec.name, f"{spec.name}-{item.spec.name}"))
        estimate = math.ceil(concurrency[1] / (per_replica[0] if per_replica else 1))
        served.append(
            ServedFacts(
                name=item.spec.name,
                traffic=item.traffic_percent,
                runtime=item.runtime.name,
                gpus=item.resources.gpu_count,
                gpu_type=item.resources.gpu_type,
                cpu=item.resources.cpu_cores,
                max_replicas=estimate if rendered is None else rendered,
                replicas_from="estimate" if rendered is None else "scaledobject",
            )
        )
    return EndpointFacts(spec.name, concurrency, per_replica, tuple(served))


def side_from_result(
    files: Mapping[str, bytes],
    endpoints: Mapping[str, Sequence[EndpointContext]],
    manifests: Mapping[str, Sequence[Manifest]] | None = None,
) -> Side:
    """A Side from a compile result's `files`, `endpoints` and (faster, when given) `manifests`."""
    facts = {}
    for env, contexts in endpoints.items():
        if manifests is not None:
            replicas = max_replicas_from_manifests(manifests.get(env, ()))
        else:
            replicas = max_replicas_from_files(files, env)
        facts[env] = {e.spec.name: facts_from_context(e, replicas) for e in contexts}
    objects = None
    if manifests is not None:
        objects = {m.path(env): m.body for env, group in manifests.items() for m in group}
    return Side(files, facts, objects)


def _restarts(endpoint: str, objects: Sequence[ObjectChange]) -> tuple[str, ...]:
    names = []
    for change in objects:
        changed = change.kind == "Deployment" and change.status == "changed"
        if changed and change.touches(POD_TEMPLATE):
            names.append(change.name.removeprefix(f"{endpoint}-"))
    return tuple(sorted(names))


def _without_name(facts: EndpointFacts) -> EndpointFacts:
    return replace(facts, name="")


def _environment_names(before: Side, after: Side, diff: TreeDiff) -> list[str]:
    return sorted(set(before.endpoints) | set(after.endpoints) | set(diff.environments()))


def _endpoint_summaries(
    env: str,
    old: Mapping[str, EndpointFacts],
    new: Mapping[str, EndpointFacts],
    changes: Sequence[ObjectChange],
) -> list[EndpointSummary]:
    """One summary per endpoint with changed objects in `env`, by name."""
    by_endpoint: dict[str, list[ObjectChange]] = {}
    for change in changes:
        if change.endpoint is not None:
            by_endpoint.setdefault(change.endpoint, []).append(change)
    endpoints = []
    for name in sorted(by_endpoint):
        objects = tuple(by_endpoint[name])
        status: Literal["added", "removed", "changed"] = (
            "added" if name not in old else "removed" if name not in new else "changed"
        )
        endpoints.append(
            EndpointSummary(
                env, name, status, old.get(name), new.get(name), objects, _restarts(name, objects)
            )
        )
    return endpoints


def summarize(before: Side, after: Side, *, base: str, base_commit: str | None) -> Review:
    """Compare two sides: the object diff plus the per-endpoint summary."""
    diff = diff_trees(
        before.files, after.files, before_objects=before.objects, after_objects=after.objects
    )
    environments = []
    for env in _environment_names(before, after, diff):
        old = before.endpoints.get(env, {})
        new = after.endpoints.get(env, {})
        changes = diff.for_environment(env)
        endpoints = _endpoint_summaries(env, old, new, changes)
        endpoints = _pair_renames(endpoints)
        platform = tuple(c for c in changes if c.endpoint is None)
        env_status: Literal["added", "removed", "changed", "unchanged"]
        if env not in before.endpoints:
            env_status = "added"
        elif env not in after.endpoints:
            env_status = "removed"
        else:
            env_status = "changed" if changes else "unchanged"
        environments.append(
            EnvironmentSummary(
                env,
                env_status,
                tuple(endpoints),
                platform,
                _total(old) if env in before.endpoints else None,
                _total(new) if env in after.endpoints else None,
            )
        )
    return Review(base, base_commit, tuple(environments), diff)


def _total(endpoints: Mapping[str, EndpointFacts]) -> Capacity:
    total = Capacity()
    for name in sorted(endpoints):
        total += endpoints[name].worst_case
    return total


def _pair_renames(endpoints: list[EndpointSummary]) -> list[EndpointSummary]:
    """An endpoint removed and one added with the same facts but the name: a rename."""
    removed = [e for e in endpoints if e.status == "removed" and e.before is not None]
    renamed: dict[str, str] = {}
    for added in (e for e in endpoints if e.status == "added" and e.after is not None):
        for candidate in removed:
            if candidate.name in renamed.values() or candidate.before is None:
                continue
            assert added.after is not None
            if _without_name(candidate.before) == _without_name(added.after):
                renamed[added.name] = candidate.name
                break
    old_to_new = {old: new for new, old in renamed.items()}
    return [
        replace(
            e,
            renamed_from=renamed.get(e.name) if e.status == "added" else None,
            renamed_to=old_to_new.get(e.name) if e.status == "removed" else None,
        )
        for e in endpoints
    ]
