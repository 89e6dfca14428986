"""Where schemas come from: kubernetes-validate's Kubernetes schemas and the project's CRDs."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from compiler.schemacheck.bundle import BundleError, bundle
from compiler.schemacheck.errors import SchemaDefinitionError, UnsupportedKubernetesVersionError

_SPEC = find_spec("kubernetes_validate")  # located, not imported: its import is slow
if _SPEC is None or _SPEC.origin is None:
    raise ImportError("kubernetes-validate (a dependency of knobless) is not installed")
KUBERNETES_SCHEMAS = Path(_SPEC.origin).parent / "kubernetes-json-schema"
DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
KIND_KEY = "x-knobless-kind"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
"""The repository (or install) root: the parent of the `compiler` package."""

_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_VERSION = re.compile(r"v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
_GROUP = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_SCHEMA_DIR = re.compile(r"v(\d+)\.(\d+)\.0-local-strict")


def display_path(path: Path) -> str:
    """`path` relative to the repository root when it is inside it (stable across machines)."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def supported_kubernetes_versions() -> list[str]:
    found = []
    for child in KUBERNETES_SCHEMAS.iterdir():
        match = _SCHEMA_DIR.fullmatch(child.name)
        if match:
            found.append((int(match[1]), int(match[2])))
    return [f"{major}.{minor}" for major, minor in sorted(found)]


def kubernetes_schema_dir(version: str) -> tuple[str, Path]:
    """(minor version "1.33", directory of its strict schemas); accepts 1.33, v1.33, 1.33.2."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", version)
    if match:
        minor = f"{int(match[1])}.{int(match[2])}"
        directory = KUBERNETES_SCHEMAS / f"v{minor}.0-local-strict"
        if (directory / "_definitions.json").is_file():
            return minor, directory
    raise UnsupportedKubernetesVersionError(version, supported_kubernetes_versions())


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise SchemaDefinitionError(display_path(path), f"cannot read schema: {error}") from None


@dataclass(frozen=True)
class SchemaSource:
    """What one (apiVersion, kind) is validated against, and the files that schema is made of."""

    label: str
    """Shown in messages: `Kubernetes 1.33` or `schemas/crds/keda-scaledobject.schema.json`."""
    files: tuple[Path, ...]
    """Every file the schema is built from, root first: the cache key hashes their bytes."""
    crd: bool = False

    def bundled(self) -> dict[str, Any]:
        """The self-contained draft-07 schema (parses the files; only on a cache miss or error)."""
        root = _read_json(self.files[0])
        documents: dict[str, Any] = {}
        if self.crd:
            root = {k: v for k, v in root.items() if k != KIND_KEY}
            base = root.get("$id") or self.files[0].resolve().as_uri()
        else:
            base = root["$id"]
            documents[DEFINITIONS_URI] = _read_json(self.files[1])
        documents[base] = root
        try:
            return bundle(root, base, documents.__getitem__)
        except BundleError as error:
            raise SchemaDefinitionError(display_path(self.files[0]), str(error)) from None


def kubernetes_source(
    directory: Path, minor: str, api_version: str, kind: str
) -> SchemaSource | None:
    """The built-in schema of (apiVersion, kind) in kubernetes-validate's naming, if it exists."""
    group, _, version = api_version.rpartition("/")
    if not (_KIND.fullmatch(kind) and _VERSION.fullmatch(version)):
        return None
    if group and not _GROUP.fullmatch(group):
        return None
    # kubernetes-validate names files <kind>-<first label of the group>-<version>.json
    stem = (
        f"{kind.lower()}-{group.split('.')[0]}-{version}" if group else f"{kind.lower()}-{version}"
    )
    path = directory / f"{stem}.json"
    if not path.is_file():
        return None
    # The file name drops most of the group: confirm the schema really is this group's kind.
    gvks = _read_json(path).get("x-kubernetes-group-version-kind") or []
    if {"group": group, "version": version, "kind": kind} not in gvks:
        return None
    return SchemaSource(f"Kubernetes {minor}", (path, directory / "_definitions.json"))


def crd_sources(directories: Sequence[Path]) -> dict[tuple[str, str], SchemaSource]:
    """Every `*.schema.json` under the directories, by the (apiVersion, kind) it names."""
    found: dict[tuple[str, str], SchemaSource] = {}
    for directory in directories:
        if not directory.is_dir():
            # e.g. knobless installed without its schemas/: every CRD kind would be "unknown"
            raise SchemaDefinitionError(display_path(directory), "schema directory not found")
        for path in sorted(directory.glob("*.schema.json")):
            document = _read_json(path)
            names = document.get(KIND_KEY) if isinstance(document, dict) else None
            if not (
                isinstance(names, dict)
                and isinstance(names.get("apiVersion"), str)
                and isinstance(names.get("kind"), str)
            ):
                raise SchemaDefinitionError(
                    display_path(path),
                    f'needs a top-level "{KIND_KEY}": {{"apiVersion": ..., "kind": ...}} '
                    "naming the objects it validates",
                )
            key = (names["apiVersion"], names["kind"])
            if key in found:
                raise SchemaDefinitionError(
                    display_path(path),
                    f"{key[1]} {key[0]} is already validated by {found[key].label}",
                )
            found[key] = SchemaSource(display_path(path), (path,), crd=True)
    return found
