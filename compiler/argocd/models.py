"""The parts of Argo CD's API objects the client reads (v3.5 REST shapes, swagger.json).

Lenient on purpose: unknown fields are ignored and Go's omitted or null lists become empty, so a
newer Argo CD with more fields still parses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _list_or_empty(value: object) -> object:
    return [] if value is None else value


def _text_or_empty(value: object) -> object:
    return "" if value is None else value


Text = Annotated[str, BeforeValidator(_text_or_empty)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Metadata(_Model):
    name: str
    namespace: str | None = None
    labels: Annotated[dict[str, str], BeforeValidator(lambda v: v or {})] = Field(
        default_factory=dict
    )


class Automated(_Model):
    enabled: bool | None = None
    prune: bool | None = None
    selfHeal: bool | None = None


class SyncPolicy(_Model):
    automated: Automated | None = None


class Source(_Model):
    repoURL: Text = ""
    path: Text = ""
    targetRevision: Text = ""


class ApplicationSpec(_Model):
    project: str = "default"
    source: Source | None = None
    syncPolicy: SyncPolicy | None = None

    @property
    def auto_sync(self) -> bool:
        """Automated sync is on: the block is present and not `enabled: false` (null = on)."""
        automated = self.syncPolicy.automated if self.syncPolicy else None
        return automated is not None and automated.enabled is not False


class HealthStatus(_Model):
    status: Text = "Unknown"
    message: Text = ""


class SyncStatus(_Model):
    status: Text = "Unknown"
    revision: Text = ""


class _ResourceRef(_Model):
    """Argo CD's ResourceRef fields, shared by every per-resource record."""

    group: Text = ""
    kind: Text = ""
    namespace: Text = ""
    name: Text = ""


class ResourceResult(_ResourceRef):
    """A resource of the last sync operation (operationState.syncResult.resources[])."""

    status: Text = ""
    message: Text = ""


class SyncResult(_Model):
    revision: Text = ""
    resources: Annotated[list[ResourceResult], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )


class OperationState(_Model):
    phase: Text = ""
    message: Text = ""
    startedAt: datetime | None = None
    finishedAt: datetime | None = None
    syncResult: SyncResult | None = None


class ResourceStatus(_ResourceRef):
    """A managed resource (status.resources[]); health is filled by GET since Argo CD 3.0."""

    status: Text = ""
    health: HealthStatus | None = None


class Initiator(_Model):
    username: Text = ""
    automated: bool = False


class RevisionHistory(_Model):
    id: int
    revision: Text = ""
    deployedAt: datetime | None = None
    initiatedBy: Initiator | None = None


class Condition(_Model):
    type: Text = ""
    message: Text = ""


class ApplicationStatus(_Model):
    sync: SyncStatus = Field(default_factory=SyncStatus)
    health: HealthStatus = Field(default_factory=HealthStatus)
    operationState: OperationState | None = None
    reconciledAt: datetime | None = None
    history: Annotated[list[RevisionHistory], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )
    resources: Annotated[list[ResourceStatus], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )
    conditions: Annotated[list[Condition], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )


class Application(_Model):
    metadata: Metadata
    spec: ApplicationSpec = Field(default_factory=ApplicationSpec)
    operation: dict[str, Any] | None = None
    """A requested operation the controller has not picked up yet (null once it runs)."""
    status: Annotated[ApplicationStatus, BeforeValidator(lambda v: v or {})] = Field(
        default_factory=ApplicationStatus
    )

    @property
    def name(self) -> str:
        return self.metadata.name


class ResourceDiff(_ResourceRef):
    """One item of managed-resources: JSON texts, `"null"` (or empty) when the side is absent."""

    normalizedLiveState: Text = ""
    predictedLiveState: Text = ""
    modified: bool = False
    hook: bool = False
