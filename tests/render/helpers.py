"""Resolve example endpoints through the real pipeline and render them with this package's
plugins only (so other plugins' objects and post-processing never reach these goldens)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from compiler.context import EndpointContext
from compiler.environments import load_environment
from compiler.manifest import Manifest
from compiler.pipeline import endpoint_files, environment_files, resolve_endpoint
from plugins import httproute, namespace, networkpolicy, observability, serviceaccount
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
)
SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "crds" / "gateway-httproute.schema.json"


def render(endpoint: EndpointContext) -> list[Manifest]:
    manifests = [m for plugin in RENDER_PLUGINS for m in plugin.knobless_render_endpoint(endpoint)]
    return sorted(manifests, key=lambda m: m.filename)


def resolve(root: Path, environment: str, endpoint: str) -> EndpointContext:
    return resolve_endpoint(root, environment, endpoint)


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
