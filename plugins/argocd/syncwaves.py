"""Argo CD sync waves on the rendered workload objects.

Within one Application, Argo CD applies wave after wave and starts the next only once the earlier
ones are synced and healthy: the namespace first, then what pods reference (service account,
config, secret references, RBAC), then the workload itself, and the ScaledObject last so KEDA
never scales a Deployment that does not exist yet.
"""

from __future__ import annotations

from collections.abc import Iterable

from compiler.manifest import Manifest

SYNC_WAVE = "argocd.argoproj.io/sync-wave"

WAVES: dict[str, int] = {
    "Namespace": -2,
    "ServiceAccount": -1,
    "ConfigMap": -1,
    "Secret": -1,
    "ExternalSecret": -1,
    "Role": -1,
    "RoleBinding": -1,
    "ClusterRole": -1,
    "ClusterRoleBinding": -1,
    "NetworkPolicy": 0,
    "Service": 0,
    "Deployment": 0,
    "StatefulSet": 0,
    "PodDisruptionBudget": 0,
    "HTTPRoute": 0,
    "AppProject": -1,  # before the root app's Applications that name it
    "ScaledObject": 1,
    "PodMonitor": 1,
    "TriggerAuthentication": 1,
}
"""Wave per kind. Kinds not listed keep Argo CD's default (0) and get no annotation; Applications
are not annotated (waves order resources of one app, not apps)."""


def with_sync_waves(manifests: Iterable[Manifest]) -> tuple[Manifest, ...]:
    """New Manifests with the wave annotation added by kind; one already set is kept (a plugin or
    user decided it), and inputs are never modified."""
    return tuple(_with_wave(manifest) for manifest in manifests)


def _with_wave(manifest: Manifest) -> Manifest:
    wave = WAVES.get(manifest.kind)
    metadata = manifest.body.get("metadata", {})
    annotations = metadata.get("annotations") or {}
    if wave is None or SYNC_WAVE in annotations:
        return manifest
    new_annotations = dict(sorted({**annotations, SYNC_WAVE: str(wave)}.items()))
    return manifest.replace(
        {**manifest.body, "metadata": {**metadata, "annotations": new_annotations}}
    )
