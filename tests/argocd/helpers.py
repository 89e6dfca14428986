"""Rendering the Argo CD plugin alone for the example environments (no other plugin needed)."""

from __future__ import annotations

from pathlib import Path

import yaml

from compiler.context import EndpointContext
from compiler.environments import load_environment
from compiler.manifest import Manifest
from compiler.models.endpoint import EndpointSpec
from compiler.models.environment import Environment
from plugins.argocd.applications import (
    render_endpoint_application,
    render_environment_applications,
)

REPO = Path(__file__).resolve().parents[2]


def environment(name: str, **argocd: object) -> Environment:
    loaded, _source = load_environment(REPO, REPO / "environments" / f"{name}.jsonnet")
    if argocd:
        settings = loaded.argocd.model_copy(update=argocd)
        loaded = loaded.model_copy(update={"argocd": settings})
    return loaded


def endpoints(env: Environment) -> list[EndpointContext]:
    contexts = []
    for file in sorted((REPO / "endpoints").glob("*.yaml")):
        spec = EndpointSpec.model_validate(yaml.safe_load(file.read_text()))
        if spec.name not in env.exclude:
            contexts.append(EndpointContext(spec, env, (), f"endpoints/{file.name}"))
    return contexts


def render(env: Environment) -> list[Manifest]:
    """The root, platform and per-endpoint Applications of one environment, sorted by name."""
    manifests = render_environment_applications(env)
    manifests += [render_endpoint_application(endpoint) for endpoint in endpoints(env)]
    return sorted(manifests, key=lambda m: m.name)
