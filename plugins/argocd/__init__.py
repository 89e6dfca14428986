"""Built-in plugin: Argo CD Applications that sync rendered/, and sync waves on workloads.

See docs/guide/argocd.md. The REST client and the `knobless argocd` command live in compiler.argocd.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from compiler import hookimpl
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic
from compiler.manifest import Manifest
from compiler.models.environment import Environment
from compiler.summary import EndpointSummary
from plugins.argocd.applications import (
    FOLDER,
    render_endpoint_application,
    render_environment_applications,
)
from plugins.argocd.project import app_project
from plugins.argocd.syncwaves import with_sync_waves

FORBIDDEN_FILES = frozenset(
    {"kustomization.yaml", "kustomization.yml", "kustomization", "chart.yaml"}
)
"""File names that make Argo CD treat a directory as Kustomize or Helm instead of plain YAML."""


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> list[Manifest]:
    return [render_endpoint_application(endpoint)]


@hookimpl
def knobless_render_environment(
    environment: Environment, summaries: Sequence[EndpointSummary]
) -> list[Manifest]:
    project = app_project(environment, summaries)
    extra = [] if project is None else [Manifest(FOLDER, project)]
    return [*render_environment_applications(environment), *extra]


@hookimpl
def knobless_postprocess(
    manifests: tuple[Manifest, ...], environment: Environment
) -> tuple[Manifest, ...]:
    return with_sync_waves(manifests)


@hookimpl
def knobless_check(
    manifests: tuple[Manifest, ...], environment: Environment
) -> Iterable[Diagnostic]:
    return forbidden_files(manifests, environment.name)


def forbidden_files(manifests: Iterable[Manifest], env_name: str) -> list[Diagnostic]:
    """An error per object whose file would switch Argo CD's tool detection away from plain YAML."""
    return [
        Diagnostic(
            f"rendered/{manifest.path(env_name)}",
            0,
            0,
            f"`{manifest.filename}` would make Argo CD read `rendered/{env_name}/"
            f"{manifest.folder}/` as Kustomize or Helm; rename the {manifest.kind} "
            f"`{manifest.name}` (the plugin that renders it must choose another name)",
        )
        for manifest in manifests
        if manifest.filename.lower() in FORBIDDEN_FILES
    ]
