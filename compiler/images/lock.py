"""`images.lock`: what each served MLflow model version needs, and the image that has it.

    version: 1
    environments:
      prod:
        registry: http://mlflow.mlflow.svc:5000     # the tracking URI it was resolved against
        models:
          models:/fraud-scorer/7: {dependencies: <digest>, image: <repository>:<tag>}
    dependencies:
      <digest>: {mlflow, python, flavors, build, requirements, constraints, server}
    pushed:
      <repository>:<tag>: sha256:...                # set by `images build --push`

Written by `knobless images resolve` (and `pushed` by `images build --push`), read by `compile`.
Versions whose dependencies are identical share one digest, hence one image. The file is
written deterministically (sorted keys, one layout), so it diffs cleanly in review.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from compiler.diagnostics import Diagnostic
from compiler.errors import InputError
from compiler.loader import LoadedYaml, load_yaml, read_text

LOCK_FILE = "images.lock"
FORMAT_VERSION = 1
HEADER = (
    "# Model images: written by `knobless images resolve` (digests by `knobless images build\n"
    "# --push`) and read by `knobless compile`. Review it in the pull request; do not edit it.\n"
)
IMAGE_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
DEPENDENCY_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Dependencies:
    """What a model image installs: exactly the inputs of MLflow's Dockerfile generator."""

    mlflow: str
    """MLflow version the model was logged with (MLmodel `mlflow_version`)."""
    python: str
    """Python version (python_env.yaml): the generated image is FROM python:<version>-slim."""
    flavors: tuple[str, ...]
    """Model flavors besides python_function: some add system packages (lightgbm: libgomp1)."""
    build: tuple[str, ...]
    """python_env.yaml build_dependencies (pip, setuptools, wheel), installed first."""
    requirements: tuple[str, ...]
    """The model's requirements.txt lines, as logged (comments and blank lines dropped)."""
    constraints: tuple[str, ...] = ()
    """constraints.txt lines when the requirements use `-c constraints.txt`."""
    server: tuple[str, ...] = ()
    """Pins the runtime's own command needs (the scoring server's web stack, for this MLflow
    version: compiler.images.server), installed with the requirements."""

    @property
    def digest(self) -> str:
        """sha256 of the canonical form: equal digests, equal images."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mlflow": self.mlflow,
            "python": self.python,
            "flavors": list(self.flavors),
            "build": list(self.build),
            "requirements": list(self.requirements),
        }
        if self.constraints:
            data["constraints"] = list(self.constraints)
        if self.server:
            data["server"] = list(self.server)
        return data


@dataclass(frozen=True)
class LockedModel:
    """One model URI of one environment."""

    dependencies: str
    """Dependency digest (a key of the lock's `dependencies`)."""
    image: str
    """Image reference `<repository>:<tag>`; the tag is derived from the digest."""
    version: str | None = None
    """The registry version an alias (`models:/name@alias`) pointed to when resolved."""
    position: tuple[int, int] = field(default=(0, 0), compare=False)
    """Line and column of the entry in images.lock."""


@dataclass(frozen=True)
class LockedEnvironment:
    """The part of the lock one environment renders from."""

    name: str
    registry: str
    models: Mapping[str, LockedModel] = field(default_factory=dict)
    pushed: Mapping[str, str] = field(default_factory=dict)
    """Digest of each image this environment uses that was pushed (reference -> sha256:...)."""

    def reference(self, model: LockedModel) -> str:
        """The image as rendered: by digest when the push recorded one, else by tag."""
        digest = self.pushed.get(model.image)
        return f"{model.image}@{digest}" if digest else model.image

    def fingerprint(self) -> str:
        """Everything compile reads of this slice (for the compile cache)."""
        data = {
            "registry": self.registry,
            "models": {
                uri: [m.image, m.version, self.reference(m)] for uri, m in self.models.items()
            },
        }
        return hashlib.blake2b(
            json.dumps(data, sort_keys=True).encode(), digest_size=16
        ).hexdigest()


@dataclass(frozen=True)
class ImageLock:
    environments: Mapping[str, LockedEnvironment] = field(default_factory=dict)
    dependencies: Mapping[str, Dependencies] = field(default_factory=dict)
    pushed: Mapping[str, str] = field(default_factory=dict)

    def environment(self, name: str) -> LockedEnvironment | None:
        locked = self.environments.get(name)
        if locked is None:
            return None
        used = {m.image for m in locked.models.values()}
        return replace(locked, pushed={r: d for r, d in self.pushed.items() if r in used})

    def images(self, environments: set[str] | None = None) -> dict[str, str]:
        """Image reference -> dependency digest, of the given environments (default all)."""
        found: dict[str, str] = {}
        for name, locked in sorted(self.environments.items()):
            if environments is None or name in environments:
                for model in locked.models.values():
                    found[model.image] = model.dependencies
        return dict(sorted(found.items()))


# -- reading ---------------------------------------------------------------------------------------


class _Reader:
    """Validates the lock's structure, collecting every problem with its position."""

    def __init__(self, loaded: LoadedYaml) -> None:
        self.loaded = loaded
        self.problems: list[Diagnostic] = []

    def problem(self, path: tuple[str | int, ...], message: str) -> None:
        line, col = self.loaded.position(path)
        self.problems.append(Diagnostic(self.loaded.path, line, col, message))

    def mapping(self, value: Any, path: tuple[str | int, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"{_dotted(path)}: expected a mapping")
            return {}
        return value

    def text(
        self, value: Any, path: tuple[str | int, ...], pattern: re.Pattern[str] | None = None
    ) -> str:
        if not isinstance(value, str) or not value or (pattern and not pattern.match(value)):
            shape = f" matching {pattern.pattern}" if pattern else ""
            self.problem(path, f"{_dotted(path)}: expected a string{shape}, got {value!r}")
            return ""
        return value

    def strings(self, value: Any, path: tuple[str | int, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(path, f"{_dotted(path)}: expected a list of strings")
            return ()
        return tuple(value)

    def known_keys(
        self, value: dict[str, Any], path: tuple[str | int, ...], keys: set[str]
    ) -> None:
        for key in sorted(set(value) - keys):
            self.problem((*path, key), f"{_dotted((*path, key))}: unknown key")


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "(document)"


STALE_HINT = "run `knobless images resolve` to write it again"


def parse_lock(loaded: LoadedYaml) -> ImageLock:
    """The lock from its parsed YAML; InputError with every problem, positioned."""
    reader = _Reader(loaded)
    top = reader.mapping(loaded.data, ())
    reader.known_keys(top, (), {"version", "environments", "dependencies", "pushed"})
    if top.get("version") != FORMAT_VERSION:
        reader.problem(
            ("version",),
            f"version: expected {FORMAT_VERSION}, got {top.get('version')!r}; {STALE_HINT}",
        )
    dependencies = {
        digest: _dependencies(reader, raw, digest)
        for digest, raw in reader.mapping(top.get("dependencies"), ("dependencies",)).items()
    }
    pushed = {
        reader.text(ref, ("pushed", ref)): reader.text(digest, ("pushed", ref), IMAGE_DIGEST)
        for ref, digest in reader.mapping(top.get("pushed"), ("pushed",)).items()
    }
    environments = {
        name: _environment(reader, raw, name, dependencies)
        for name, raw in reader.mapping(top.get("environments"), ("environments",)).items()
    }
    if reader.problems:
        raise InputError(reader.problems)
    return ImageLock(environments, dependencies, pushed)


def _dependencies(reader: _Reader, raw: object, digest: str) -> Dependencies:
    path: tuple[str | int, ...] = ("dependencies", digest)
    entry = reader.mapping(raw, path)
    reader.known_keys(
        entry,
        path,
        {"mlflow", "python", "flavors", "build", "requirements", "constraints", "server"},
    )
    deps = Dependencies(
        mlflow=reader.text(entry.get("mlflow"), (*path, "mlflow")),
        python=reader.text(entry.get("python"), (*path, "python")),
        flavors=reader.strings(entry.get("flavors", []), (*path, "flavors")),
        build=reader.strings(entry.get("build", []), (*path, "build")),
        requirements=reader.strings(entry.get("requirements"), (*path, "requirements")),
        constraints=reader.strings(entry.get("constraints", []), (*path, "constraints")),
        server=reader.strings(entry.get("server", []), (*path, "server")),
    )
    if not reader.problems and deps.digest != digest:
        reader.problem(
            path,
            f"dependencies.{digest}: the entry's digest is {deps.digest}; edited by hand? {STALE_HINT}",
        )
    return deps


def _environment(
    reader: _Reader, raw: object, name: str, dependencies: Mapping[str, Dependencies]
) -> LockedEnvironment:
    path: tuple[str | int, ...] = ("environments", name)
    entry = reader.mapping(raw, path)
    reader.known_keys(entry, path, {"registry", "models"})
    models = {
        uri: _model(reader, raw_model, (*path, "models", uri), dependencies)
        for uri, raw_model in reader.mapping(entry.get("models"), (*path, "models")).items()
    }
    return LockedEnvironment(name, reader.text(entry.get("registry"), (*path, "registry")), models)


def _model(
    reader: _Reader,
    raw: object,
    path: tuple[str | int, ...],
    dependencies: Mapping[str, Dependencies],
) -> LockedModel:
    model = reader.mapping(raw, path)
    reader.known_keys(model, path, {"dependencies", "image", "version"})
    digest = reader.text(model.get("dependencies"), (*path, "dependencies"), DEPENDENCY_DIGEST)
    if digest and digest not in dependencies:
        reader.problem(
            (*path, "dependencies"),
            f"{_dotted((*path, 'dependencies'))}: no such entry under `dependencies`; {STALE_HINT}",
        )
    version = model.get("version")
    return LockedModel(
        dependencies=digest,
        image=reader.text(model.get("image"), (*path, "image")),
        version=None if version is None else str(version),
        position=reader.loaded.position(path, key=True),
    )


def load_lock(root: Path) -> ImageLock:
    """The repository's lock; an empty one when there is no images.lock."""
    file = root / LOCK_FILE
    if not file.is_file():
        return ImageLock()
    text = read_text(file, LOCK_FILE)
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return ImageLock()  # nothing locked yet
    return parse_lock(load_yaml(text, LOCK_FILE))


# -- writing ---------------------------------------------------------------------------------------


def lock_data(lock: ImageLock) -> dict[str, Any]:
    """The lock as plain data, every mapping sorted: the same lock, the same bytes."""
    environments = {}
    for name in sorted(lock.environments):
        locked = lock.environments[name]
        models = {}
        for uri in sorted(locked.models):
            model = locked.models[uri]
            entry: dict[str, Any] = {"dependencies": model.dependencies, "image": model.image}
            if model.version is not None:
                entry["version"] = model.version
            models[uri] = entry
        environments[name] = {"registry": locked.registry, "models": models}
    data: dict[str, Any] = {"version": FORMAT_VERSION, "environments": environments}
    data["dependencies"] = {d: lock.dependencies[d].to_json() for d in sorted(lock.dependencies)}
    if lock.pushed:
        data["pushed"] = {ref: lock.pushed[ref] for ref in sorted(lock.pushed)}
    return data


def dump_lock(lock: ImageLock) -> str:
    body = yaml.safe_dump(
        lock_data(lock), sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096
    )
    return HEADER + body


def write_lock(root: Path, lock: ImageLock) -> bool:
    """Write images.lock atomically; False when it already holds exactly this."""
    file = root / LOCK_FILE
    text = dump_lock(lock)
    if file.is_file() and file.read_text(encoding="utf-8") == text:
        return False
    handle, temporary = tempfile.mkstemp(prefix=".images.lock.", dir=root)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
