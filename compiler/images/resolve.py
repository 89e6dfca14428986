"""`knobless images resolve`: ask each environment's registry what its served MLflow versions
need, and write images.lock.

Every served version the MLflow runtime serves is looked up; the lock gets its dependency digest
and image reference `<images.repository>:<tag>`. All or nothing: any problem (a registry that
is down, a model it does not have) leaves images.lock as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from compiler.config import load_config
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic
from compiler.errors import InputError
from compiler.images.dependencies import ModelProblem, dependencies_of
from compiler.images.lock import (
    Dependencies,
    ImageLock,
    LockedEnvironment,
    LockedModel,
    load_lock,
)
from compiler.images.registry import (
    ModelFiles,
    ModelNotFound,
    RegistryClient,
    credentials_from_environment,
)
from compiler.models.environment import Environment
from compiler.pipeline import Sources, load, parse_all, resolve_environment
from compiler.plugins import build_plugin_manager

LOCKED_RUNTIMES = frozenset({"mlflow"})
TAG_LENGTH = 16
"""Hex digits of the dependency digest in an image tag (64 bits: no collision in practice)."""

ClientFactory = Callable[[str], RegistryClient]


def image_tag(digest: str) -> str:
    return f"deps-{digest[:TAG_LENGTH]}"


def _default_client(url: str) -> RegistryClient:
    return RegistryClient(url, auth=credentials_from_environment())


@dataclass
class Resolved:
    lock: ImageLock
    environments: list[str]
    models: int
    images: int


def _served_models(endpoints: Sequence[EndpointContext]) -> list[tuple[EndpointContext, int, str]]:
    found = []
    for endpoint in endpoints:
        for index, served in enumerate(endpoint.served):
            if served.runtime.name in LOCKED_RUNTIMES and served.spec.model:
                found.append((endpoint, index, served.spec.model))
    return found


def _environment_problem(environment: Environment, source: str, message: str) -> Diagnostic:
    return Diagnostic(source, 0, 0, f"environment `{environment.name}`: {message}")


def _unenforced(sources: Sources) -> Sources:
    """The sources with `images.strict` off: resolving is what gives versions their entries."""
    relaxed = {}
    for name, (environment, source) in sources.environments.items():
        images = environment.images.model_copy(update={"strict": False})
        relaxed[name] = (environment.model_copy(update={"images": images}), source)
    return replace(sources, environments=relaxed)


def resolve_lock(
    root: Path,
    environments: Sequence[str] | None = None,
    *,
    client: ClientFactory = _default_client,
) -> Resolved:
    """The lock as it should be after asking the registries; raises InputError / ImagesError
    (nothing is written by this function)."""
    sources: Sources = _unenforced(parse_all(load(root, environments)))
    config = load_config(root)
    manager = build_plugin_manager(root=root, local=config.plugins, blocked=config.block)
    problems: set[Diagnostic] = set(sources.problems)
    old = load_lock(root)
    locked: dict[str, LockedEnvironment] = dict(old.environments)
    dependencies: dict[str, Dependencies] = {}
    fetched: dict[tuple[str, str], ModelFiles | Exception] = {}
    clients: dict[str, RegistryClient] = {}
    count = 0
    try:
        for name, (environment, env_source) in sources.environments.items():
            endpoints, found = resolve_environment(sources, name, manager)
            problems |= found
            served = _served_models(endpoints)
            if served and environment.images.repository is None:
                problems.add(
                    _environment_problem(
                        environment,
                        env_source.path,
                        "set images.repository (where `knobless images build --push` pushes "
                        "model images) before resolving them",
                    )
                )
                continue
            url = environment.mlflow.externalUri or environment.mlflow.trackingUri
            registry = clients.setdefault(url, client(url))
            models: dict[str, LockedModel] = {}
            for endpoint, index, uri in served:
                key = (url, uri)
                if key not in fetched:
                    try:
                        fetched[key] = registry.model_files(uri)
                    except ModelNotFound as error:
                        fetched[key] = error
                result = fetched[key]
                origin = endpoint.locate(("served", index, "model"))
                where = (origin.path, origin.line, origin.col)
                if isinstance(result, Exception):
                    problems.add(
                        Diagnostic(
                            *where,
                            f"served[{index}].model: {uri}: the registry at {url} has no such "
                            f"model ({result})",
                        )
                    )
                    continue
                try:
                    deps = dependencies_of(result.files)
                except ModelProblem as error:
                    problems.add(
                        Diagnostic(
                            *where, f"served[{index}].model: {uri}: no image can be made: {error}"
                        )
                    )
                    continue
                digest = deps.digest
                dependencies[digest] = deps
                version = (
                    result.version
                    if result.version and not uri.endswith(f"/{result.version}")
                    else None
                )
                models[uri] = LockedModel(
                    digest, f"{environment.images.repository}:{image_tag(digest)}", version
                )
                count += 1
            locked[name] = LockedEnvironment(name, environment.mlflow.trackingUri, models)
    finally:
        for registry in clients.values():
            registry.__exit__()
    if problems:
        raise InputError(problems)
    for name, environment_lock in old.environments.items():  # kept: other environments' needs
        if name in locked and name not in sources.environments:
            for model in environment_lock.models.values():
                dependencies.setdefault(model.dependencies, old.dependencies[model.dependencies])
    known = {name for name in locked if (root / "environments" / f"{name}.jsonnet").is_file()}
    locked = {name: locked[name] for name in sorted(known)}
    used = {m.image for env in locked.values() for m in env.models.values()}
    wanted = {m.dependencies for env in locked.values() for m in env.models.values()}
    lock = ImageLock(
        locked,
        {d: dependencies[d] for d in sorted(wanted)},
        {ref: digest for ref, digest in old.pushed.items() if ref in used},
    )
    return Resolved(lock, sorted(sources.environments), count, len(used))
