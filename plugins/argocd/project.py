"""The AppProject the generated Applications belong to (`argocd.project`).

Each endpoint's Application syncs its Namespace, a cluster-scoped object, and an AppProject
refuses every cluster-scoped kind its `clusterResourceWhitelist` does not list (Argo CD's
`AppProject.IsGroupKindPermitted`): without it the first sync of every endpoint fails. So the
project is rendered with exactly what knobless deploys: this repository as its only source, the
endpoint namespaces, the scaler's and (for the root app) Argo CD's own as destinations, and
Namespace as the only cluster-scoped kind. Namespaced kinds are not listed: a project without a
`namespaceResourceWhitelist` allows them all, so a plugin's own objects sync too.

The `default` project is Argo CD's own (it allows everything): it is never rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compiler.argocd.naming import COMPONENT_LABEL, ENV_LABEL
from compiler.models.environment import Environment
from compiler.summary import EndpointSummary

API_VERSION = "argoproj.io/v1alpha1"
DEFAULT_PROJECT = "default"
CLUSTER_KINDS = ({"group": "", "kind": "Namespace"},)
"""The only cluster-scoped kind knobless renders (endpoint and scaler namespaces)."""


def _server(env: Environment) -> str:
    return str(env.cluster.server).rstrip("/")


def _destinations(env: Environment, summaries: Sequence[EndpointSummary]) -> list[dict[str, str]]:
    server = _server(env)
    if env.namespacePrefix:
        endpoints = [{"server": server, "namespace": f"{env.namespacePrefix}*"}]
    else:  # no prefix to match them by: each endpoint namespace by name
        names = sorted({summary.namespace for summary in summaries})
        endpoints = [{"server": server, "namespace": name} for name in names]
    destinations = [*endpoints, {"server": server, "namespace": env.scaler.namespace}]
    settings = env.argocd
    if (settings.rootProject or settings.project) == settings.project:
        # The root app creates Application objects in Argo CD's namespace.
        destinations.append(
            {"server": settings.controlPlaneServer, "namespace": settings.namespace}
        )
    return destinations


def app_project(env: Environment, summaries: Sequence[EndpointSummary]) -> dict[str, Any] | None:
    """The environment's AppProject; None for Argo CD's `default` project or when turned off."""
    settings = env.argocd
    if settings.project == DEFAULT_PROJECT or not settings.renderProject:
        return None
    return {
        "apiVersion": API_VERSION,
        "kind": "AppProject",
        "metadata": {
            "name": settings.project,
            "namespace": settings.namespace,
            "labels": {COMPONENT_LABEL: "project", ENV_LABEL: env.name},
        },
        "spec": {
            "description": f"knobless: model endpoints of environment {env.name}",
            "sourceRepos": [settings.repoURL],
            "destinations": _destinations(env, summaries),
            "clusterResourceWhitelist": [dict(kind) for kind in CLUSTER_KINDS],
        },
    }
