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
from compiler.pipeline import resolve_environment
from compiler.plugins import build_plugin_manager
from compiler.sources import Sources, load, parse_all

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
    old = load_lock(root)
    locked: dict[str, LockedEnvironment] = dict(old.environments)
    asked = _Registries(client, set(sources.problems))
    try:
        for name, (environment, env_source) in sources.environments.items():
            endpoints, found = resolve_environment(sources, name, manager)
            asked.problems |= found
            entry = asked.lock_environment(name, environment, env_source.path, endpoints)
            if entry is not None:
                locked[name] = entry
    finally:
        asked.close()
    if asked.problems:
        raise InputError(asked.problems)
    lock = _assembled(root, old, locked, asked.dependencies, set(sources.environments))
    used = {m.image for env in lock.environments.values() for m in env.models.values()}
    return Resolved(lock, sorted(sources.environments), asked.count, len(used))


def _assembled(
    root: Path,
    old: ImageLock,
    locked: dict[str, LockedEnvironment],
    dependencies: dict[str, Dependencies],
    resolved: set[str],
) -> ImageLock:
    """The new lock: the environments resolved now, the others' entries kept as they were (for
    the environments that still exist)."""
    for name, environment_lock in old.environments.items():  # kept: other environments' needs
        if name in locked and name not in resolved:
            for model in environment_lock.models.values():
                dependencies.setdefault(model.dependencies, old.dependencies[model.dependencies])
    known = {name for name in locked if (root / "environments" / f"{name}.jsonnet").is_file()}
    locked = {name: locked[name] for name in sorted(known)}
    used = {m.image for env in locked.values() for m in env.models.values()}
    wanted = {m.dependencies for env in locked.values() for m in env.models.values()}
    return ImageLock(
        locked,
        {d: dependencies[d] for d in sorted(wanted)},
        {ref: digest for ref, digest in old.pushed.items() if ref in used},
    )


class _Registries:
    """Asks the registries (one client per URL, each model once) and collects what they say:
    the dependency entries, the problems, how many models were locked."""

    def __init__(self, client: ClientFactory, problems: set[Diagnostic]) -> None:
        self._client = client
        self._clients: dict[str, RegistryClient] = {}
        self._fetched: dict[tuple[str, str], ModelFiles | Exception] = {}
        self.problems = problems
        self.dependencies: dict[str, Dependencies] = {}
        self.count = 0

    def close(self) -> None:
        for registry in self._clients.values():
            registry.__exit__()

    def lock_environment(
        self,
        name: str,
        environment: Environment,
        source: str,
        endpoints: Sequence[EndpointContext],
    ) -> LockedEnvironment | None:
        """One environment's lock entry (None: it cannot be resolved, the problem is noted)."""
        served = _served_models(endpoints)
        if served and environment.images.repository is None:
            message = (
                "set images.repository (where `knobless images build --push` pushes "
                "model images) before resolving them"
            )
            self.problems.add(_environment_problem(environment, source, message))
            return None
        url = environment.mlflow.externalUri or environment.mlflow.trackingUri
        models: dict[str, LockedModel] = {}
        for endpoint, index, uri in served:
            model = self._lock_model(environment, url, endpoint, index, uri)
            if model is not None:
                models[uri] = model
        return LockedEnvironment(name, environment.mlflow.trackingUri, models)

    def _files(self, url: str, uri: str) -> ModelFiles | Exception:
        key = (url, uri)
        if key not in self._fetched:
            if url not in self._clients:
                self._clients[url] = self._client(url)
            try:
                self._fetched[key] = self._clients[url].model_files(uri)
            except ModelNotFound as error:
                self._fetched[key] = error
        return self._fetched[key]

    def _lock_model(
        self, environment: Environment, url: str, endpoint: EndpointContext, index: int, uri: str
    ) -> LockedModel | None:
        result = self._files(url, uri)
        origin = endpoint.locate(("served", index, "model"))
        where = (origin.path, origin.line, origin.col)
        if isinstance(result, Exception):
            message = f"the registry at {url} has no such model ({result})"
            self.problems.add(Diagnostic(*where, f"served[{index}].model: {uri}: {message}"))
            return None
        try:
            deps = dependencies_of(result.files)
        except ModelProblem as error:
            message = f"no image can be made: {error}"
            self.problems.add(Diagnostic(*where, f"served[{index}].model: {uri}: {message}"))
            return None
        self.dependencies[deps.digest] = deps
        version = result.version
        pinned = version if version and not uri.endswith(f"/{version}") else None
        self.count += 1
        image = f"{environment.images.repository}:{image_tag(deps.digest)}"
        return LockedModel(deps.digest, image, pinned)
