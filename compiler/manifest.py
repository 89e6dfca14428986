"""A rendered Kubernetes object and where it is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PLATFORM = "platform"
"""Folder (under rendered/<env>/) of the environment-wide objects: scaler, Argo CD."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """One Kubernetes object, as plain data, and the folder it belongs in.

    `folder` is the path under `rendered/<env>/`: the endpoint name, `platform`, or
    `platform/argocd`. Treat `body` as immutable: post-processing returns new Manifests.
    """

    folder: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        namespace = self.body["metadata"].get("namespace")
        return None if namespace is None else str(namespace)

    @property
    def filename(self) -> str:
        return f"{self.kind.lower()}-{self.name}.yaml"

    def path(self, environment: str) -> str:
        """Path relative to rendered/: `<env>/<folder>/<kind>-<name>.yaml`."""
        return f"{environment}/{self.folder}/{self.filename}"

    def replace(self, body: dict[str, Any]) -> Manifest:
        return Manifest(self.folder, body)
