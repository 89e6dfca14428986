"""Resolve example endpoints through the real pipeline and render them with this package's
plugins only (so other plugins' objects and post-processing never reach these goldens)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy
import yaml

from compiler.context import EndpointContext
from compiler.environments import load_environment
from compiler.manifest import Manifest
from compiler.pipeline import resolve_endpoint
from compiler.plugins import build_plugin_manager
from compiler.resolve import resolve_endpoint as resolve_one
from compiler.sources import endpoint_files, environment_files, load_endpoint
from plugins import (
    httproute,
    namespace,
    networkpolicy,
    observability,
    podmonitor,
    serviceaccount,
)
from plugins.workload import deployment, pdb, service

RENDER_PLUGINS = (
    namespace,
    serviceaccount,
    networkpolicy,
    observability,
    deployment,
    service,
    pdb,
    httproute,
    podmonitor,
)
SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "crds" / "gateway-httproute.schema.json"


def render(endpoint: EndpointContext) -> list[Manifest]:
    manifests = [m for plugin in RENDER_PLUGINS for m in plugin.knobless_render_endpoint(endpoint)]
    return sorted(manifests, key=lambda m: m.filename)


PROJECT = Path(__file__).resolve().parents[2]


@functools.cache
def _resolve_project(environment: str, endpoint: str) -> EndpointContext:
    return resolve_endpoint(PROJECT, environment, endpoint)  # the full public entry point


@functools.cache
def _manager() -> pluggy.PluginManager:
    return build_plugin_manager(entry_points=False)


def _environment_texts(root: Path) -> tuple[str, ...]:
    return tuple(p.read_text() for p in sorted((root / "environments").iterdir()))


@functools.cache
def _environment(root: Path, environment: str, texts: tuple[str, ...]) -> Any:
    """jsonnet evaluation dominates resolve time: once per distinct environments/ content."""
    return load_environment(root, root / "environments" / f"{environment}.jsonnet")


def resolve(root: Path, environment: str, endpoint: str) -> EndpointContext:
    """Resolved by the pipeline's own load and resolve steps (one plugin manager for the run);
    the repository's own examples only once (scratch repositories change, so never cached)."""
    if root == PROJECT:
        return _resolve_project(environment, endpoint)
    env_model, env_source = _environment(root, environment, _environment_texts(root))
    loaded = load_endpoint(root, root / "endpoints" / f"{endpoint}.yaml")
    return resolve_one(loaded, env_model, env_source, _manager())


def pairs(root: Path) -> list[tuple[str, str]]:
    """(environment, endpoint) for every example endpoint each environment deploys."""
    found = []
    for env_file in environment_files(root):
        environment, _ = load_environment(root, env_file)
        for endpoint_file in endpoint_files(root):
            if endpoint_file.stem not in environment.exclude:
                found.append((env_file.stem, endpoint_file.stem))
    return found


def edit_endpoint(root: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "endpoints" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def add_environment(root: Path, name: str, base: str, jsonnet_patch: str) -> None:
    """environments/<name>.jsonnet = <base> + patch (a jsonnet object literal)."""
    (root / "environments" / f"{name}.jsonnet").write_text(
        f"(import '{base}.jsonnet') + {{ name: '{name}' }} + {jsonnet_patch}\n"
    )


def by_kind(manifests: list[Manifest], kind: str) -> list[dict[str, Any]]:
    return [m.body for m in manifests if m.kind == kind]


class _GoldenDumper(yaml.SafeDumper):
    """Readable goldens independent of the compiler's writer (its format is not under test
    here): multi-line strings as literal blocks, keys in rendering order."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_GoldenDumper.add_representer(str, _string)


def dump(body: dict[str, Any]) -> str:
    return yaml.dump(body, Dumper=_GoldenDumper, sort_keys=False, width=120)


def pod_templates(manifests: list[Manifest]) -> dict[str, str]:
    """Deployment name -> its pod template as YAML text (byte comparison)."""
    return {
        d["metadata"]["name"]: dump(d["spec"]["template"]) for d in by_kind(manifests, "Deployment")
    }
