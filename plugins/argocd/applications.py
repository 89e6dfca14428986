"""The Argo CD Applications of one environment, as plain data.

Per environment, in `rendered/<env>/platform/argocd/`:
- `<env>-<endpoint>` per endpoint, syncing `rendered/<env>/<endpoint>/` to the endpoint namespace;
- `<env>-platform`, syncing the top level of `rendered/<env>/platform/` (the APA scaler);
- `<env>-root`, the app-of-apps syncing this folder: it creates, updates and prunes the others,
  and itself once bootstrapped (`kubectl apply -f .../application-<env>-root.yaml`).

Explicit Applications rather than an ApplicationSet: every change to an Application shows in the
pull request's diff of rendered/, and no ApplicationSet controller is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compiler.argocd.naming import (
    COMPONENT_LABEL,
    ENDPOINT_LABEL,
    ENV_LABEL,
    OWNER_ANNOTATION,
    OWNER_LABEL,
    PLATFORM,
    ROOT,
    application_name,
    label_value,
    platform_name,
    root_name,
)
from compiler.context import EndpointContext
from compiler.manifest import PLATFORM as PLATFORM_FOLDER
from compiler.manifest import Manifest
from compiler.models.environment import ArgoCDSettings, Environment

API_VERSION = "argoproj.io/v1alpha1"
FOLDER = f"{PLATFORM_FOLDER}/argocd"
"""Where the Applications are written, under rendered/<env>/."""
RENDERED = "rendered"
"""Folder of the compiler output at the repository root (what Argo CD reads)."""

FINALIZER = "resources-finalizer.argocd.argoproj.io"
"""Cascade delete: removing an endpoint from git deletes its Application, then its workloads."""
GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"
COMPARE_OPTIONS = "argocd.argoproj.io/compare-options"

DEFAULT_SYNC_OPTIONS: tuple[tuple[str, str], ...] = (
    # Harmless next to our own Namespace object, and saves a failed first sync if it is missing.
    ("CreateNamespace", "true"),
    # No 262144-byte last-applied annotation; fields are owned per manager (HPA owns replicas).
    ("ServerSideApply", "true"),
    # Delete removed objects only after everything else is healthy.
    ("PruneLast", "true"),
    # ignoreDifferences also applies to syncs: a sync never resets the HPA's replica count.
    ("RespectIgnoreDifferences", "true"),
    # ScaledObjects may arrive before KEDA's CRDs (another app); retry instead of failing dry-run.
    ("SkipDryRunOnMissingResource", "true"),
)

IGNORE_REPLICAS: dict[str, Any] = {
    "group": "apps",
    "kind": "Deployment",
    "jsonPointers": ["/spec/replicas"],
}
"""KEDA's HPA sets the replicas; they must never show as drift (nor be reset by selfHeal)."""


def render_environment_applications(environment: Environment) -> list[Manifest]:
    """The root and platform Applications of one environment."""
    return [Manifest(FOLDER, _root(environment)), Manifest(FOLDER, _platform(environment))]


def render_endpoint_application(endpoint: EndpointContext) -> Manifest:
    """The Application of one endpoint (in the environment's shared Applications folder)."""
    return Manifest(FOLDER, _endpoint(endpoint.environment, endpoint))


def _root(env: Environment) -> dict[str, Any]:
    settings = env.argocd
    return _application(
        settings,
        name=root_name(env.name),
        labels={ENV_LABEL: env.name, COMPONENT_LABEL: ROOT},
        annotations={},
        # No finalizer: deleting the root by mistake must not cascade to every workload of the
        # environment; the children keep theirs and stay until removed from git.
        finalizers=False,
        project=settings.rootProject or settings.project,
        source={"path": f"{RENDERED}/{env.name}/{FOLDER}"},
        destination={"server": settings.controlPlaneServer, "namespace": settings.namespace},
        ignore_differences=(),
    )


def _platform(env: Environment) -> dict[str, Any]:
    return _application(
        env.argocd,
        name=platform_name(env.name),
        labels={ENV_LABEL: env.name, COMPONENT_LABEL: PLATFORM},
        annotations={},
        finalizers=True,
        project=env.argocd.project,
        # Top level only (no recurse); the exclude keeps the Applications out even if someone
        # turns recursion on: they belong to the root app.
        source={
            "path": f"{RENDERED}/{env.name}/{PLATFORM_FOLDER}",
            "directory": {"exclude": "argocd/*"},
        },
        destination={"server": _cluster_server(env), "namespace": env.scaler.namespace},
        ignore_differences=(IGNORE_REPLICAS,),
    )


def _endpoint(env: Environment, endpoint: EndpointContext) -> dict[str, Any]:
    name, owner = endpoint.spec.name, endpoint.spec.owner
    return _application(
        env.argocd,
        name=application_name(env.name, name),
        labels={
            ENV_LABEL: env.name,
            ENDPOINT_LABEL: name,
            OWNER_LABEL: label_value(owner),
            COMPONENT_LABEL: "endpoint",
        },
        annotations={OWNER_ANNOTATION: owner},
        finalizers=True,
        project=env.argocd.project,
        source={"path": f"{RENDERED}/{env.name}/{name}"},
        destination={"server": _cluster_server(env), "namespace": env.namespace_for(name)},
        ignore_differences=(IGNORE_REPLICAS,),
    )


def _application(
    settings: ArgoCDSettings,
    *,
    name: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    finalizers: bool,
    project: str,
    source: dict[str, Any],
    destination: dict[str, str],
    ignore_differences: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    annotations = {
        **annotations,
        # Relative to source.path: a commit refreshes only the apps whose folder changed.
        GENERATE_PATHS: ".",
        # Server-side diff: no false drift from defaulted fields and normalised quantities.
        COMPARE_OPTIONS: "ServerSideDiff=true",
    }
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": settings.namespace,
        "labels": dict(sorted(labels.items())),
        "annotations": dict(sorted(annotations.items())),
    }
    if finalizers:
        metadata["finalizers"] = [FINALIZER]
    spec: dict[str, Any] = {
        "project": project,
        "source": {
            "repoURL": settings.repoURL,
            "targetRevision": settings.targetRevision,
            **source,
        },
        "destination": destination,
        "syncPolicy": _sync_policy(settings),
    }
    if ignore_differences:
        spec["ignoreDifferences"] = [dict(item) for item in ignore_differences]
    return {"apiVersion": API_VERSION, "kind": "Application", "metadata": metadata, "spec": spec}


def _sync_policy(settings: ArgoCDSettings) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if settings.automated is not None:
        # False flags are left out: Argo CD's Go types omit them, so writing them would make the
        # root app see its children as drifted.
        automated = {"prune": settings.automated.prune, "selfHeal": settings.automated.selfHeal}
        policy["automated"] = {key: True for key, value in automated.items() if value}
    policy["syncOptions"] = sync_options(settings)
    if settings.retry.limit != 0:
        backoff = settings.retry.backoff
        policy["retry"] = {
            "limit": settings.retry.limit,
            "backoff": {
                "duration": backoff.duration,
                "factor": backoff.factor,
                "maxDuration": backoff.maxDuration,
            },
        }
    return policy


def sync_options(settings: ArgoCDSettings) -> list[str]:
    """`Name=value` items: the defaults, overridden by name from the environment (an empty value
    removes one); options the defaults lack follow in name order."""
    options = dict(DEFAULT_SYNC_OPTIONS)
    extra = sorted(set(settings.syncOptions) - set(options))
    options.update(settings.syncOptions)
    order = [name for name, _ in DEFAULT_SYNC_OPTIONS] + extra
    return [f"{name}={options[name]}" for name in order if options[name] != ""]


def _cluster_server(env: Environment) -> str:
    # Argo CD matches destination.server to the registered cluster's URL as a string, and
    # pydantic's URL type appends "/" to a bare host: render it as it is normally registered.
    return str(env.cluster.server).rstrip("/")
