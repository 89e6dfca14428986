"""The endpoint spec: what a user writes in `endpoints/<name>.yaml`.

Field docstrings are the JSON Schema descriptions users see in their editor.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from compiler.models._base import DnsLabel, DnsSubdomain, Quantity, StrictModel
from compiler.models.crossfield import (
    duplicate_served,
    served_shape,
    traffic_split,
)
from compiler.models.crossfield import (
    raise_first as _raise_first,
)
from compiler.models.secrets import looks_like_secret

Flavor = Literal[
    "sklearn",
    "xgboost",
    "lightgbm",
    "catboost",
    "statsmodels",
    "prophet",
    "pyfunc",
    "h2o",
    "spark",
    "onnx",
    "tensorrt",
    "pytorch",
    "tensorflow",
    "keras",
    "transformers",
    "sentence_transformers",
]
CLASSIC_FLAVORS: frozenset[str] = frozenset(
    {
        "sklearn",
        "xgboost",
        "lightgbm",
        "catboost",
        "statsmodels",
        "prophet",
        "pyfunc",
        "h2o",
        "spark",
    }
)

_MODEL_URI = re.compile(
    r"^(models|runs|s3|gs|wasbs|abfss|hdfs|file|mlflow-artifacts|https?):/+\S+$"
)
_TASK = re.compile(r"^[a-z0-9_-]+(/[a-z0-9_.-]+)*$")
_IMAGE = re.compile(r"^[a-z0-9]+([._/:@-][A-Za-z0-9_.-]+)*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _model_uri(value: str) -> str:
    if not _MODEL_URI.match(value):
        raise ValueError(
            f"`{value}` is not an MLflow model URI (examples: models:/fraud-scorer/7, "
            "runs:/<run-id>/model, s3://bucket/path)"
        )
    return value


def _image(value: str) -> str:
    if not _IMAGE.match(value) or " " in value:
        raise ValueError(f"`{value}` is not a container image reference (registry/name:tag)")
    return value


def _task(value: str) -> str:
    if not _TASK.match(value):
        raise ValueError(f"`{value}` is not a task name (examples: llm/v1/chat, llm/v1/embeddings)")
    return value


@functools.lru_cache(maxsize=4096)
def _cron_ok(value: str) -> bool:
    # croniter takes ~175 us per expression and a repository repeats a handful of them in every
    # endpoint and environment: remember the verdict (a pure function of the text).
    return len(value.split()) == 5 and croniter.is_valid(value)


def _cron(value: str) -> str:
    if not _cron_ok(value):
        raise ValueError(
            f"`{value}` is not a five-field cron expression (minute hour day month weekday, "
            'e.g. "0 7 * * 1-5")'
        )
    return value


@functools.lru_cache(maxsize=1024)
def _timezone_ok(value: str) -> bool:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _timezone(value: str) -> str:
    if not _timezone_ok(value):
        raise ValueError(
            f"`{value}` is not an IANA time zone (examples: Europe/Berlin, America/New_York, UTC)"
        )
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"`{value}` is not a valid environment variable name")
    return value


ModelUri = Annotated[str, AfterValidator(_model_uri)]
ImageRef = Annotated[str, AfterValidator(_image)]
Cron = Annotated[str, AfterValidator(_cron)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
EnvName = Annotated[str, AfterValidator(_env_name)]


class SecretRef(StrictModel):
    """A key of a Kubernetes Secret in the endpoint's namespace."""

    name: DnsSubdomain
    """Name of the Secret."""
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]
    """Key inside the Secret."""


class EnvVar(StrictModel):
    """An environment variable of the model container: one of a plain `value`, a `secretRef` or
    another `endpoint`'s URL."""

    name: EnvName
    """Variable name."""
    value: str | None = None
    """Plain value. Credentials are rejected here: use `secretRef`."""
    secretRef: SecretRef | None = None
    """Take the value from a Secret (rendered as `secretKeyRef`; the secret never lands in git)."""
    endpoint: DnsLabel | None = None
    """Another endpoint, called through the gateway: the value is `<gateway.internalUrl>/<name>`
    and the NetworkPolicy allows egress to the gateway (endpoint pods admit only the gateway)."""

    @model_validator(mode="after")
    def _value_or_secret(self) -> EnvVar:
        if [self.value, self.secretRef, self.endpoint].count(None) != 2:
            raise ValueError("set exactly one of `value`, `secretRef` or `endpoint`")
        if self.value is not None and looks_like_secret(self.name, self.value):
            raise ValueError(
                f"`{self.name}` looks like a credential in plain text; store it in a Secret and "
                "use `secretRef: {name: ..., key: ...}`"
            )
        return self


class Gpu(StrictModel):
    """GPUs per replica."""

    count: Annotated[int, Field(ge=1, le=16)]
    """Number of GPUs per pod (rendered as the `nvidia.com/gpu` limit)."""
    type: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")] | None = None
    """Accelerator type, e.g. nvidia-l4 or nvidia-h100 (selects nodes)."""


class WorkloadCompute(StrictModel):
    """Compute by name: the environment says what the workload means on its clusters."""

    workload: DnsLabel
    """Name of a workload defined in the environment's `workloads`."""


class ExplicitCompute(StrictModel):
    """Compute given explicitly, per replica."""

    cpu: Quantity
    """CPU request per replica, e.g. "1" or 500m."""
    memory: Quantity
    """Memory request and limit per replica, e.g. 1Gi."""
    gpu: Gpu | None = None
    """GPUs per replica, if any."""


def _compute_kind(value: object) -> str | None:
    if isinstance(value, dict):
        return "Named" if "workload" in value else "Explicit"
    if isinstance(value, WorkloadCompute):
        return "Named"
    if isinstance(value, ExplicitCompute):
        return "Explicit"
    return None


Compute = Annotated[
    Annotated[WorkloadCompute, Tag("Named")] | Annotated[ExplicitCompute, Tag("Explicit")],
    Discriminator(
        _compute_kind,
        custom_error_type="compute_shape",
        custom_error_message="expected `{workload: <name>}` or `{cpu: ..., memory: ..., gpu: ...}`",
    ),
]


class ServedModel(StrictModel):
    """One served version of the model: an MLflow model URI or the team's own image."""

    name: DnsLabel
    """Name of this version (v12, canary, main...). Unique within the endpoint."""
    model: ModelUri | None = None
    """MLflow model URI, e.g. models:/fraud-scorer/7."""
    image: ImageRef | None = None
    """The team's own container image; requires `port` and excludes `model`."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """Port the team's container listens on (with `image`)."""
    flavor: Flavor | None = None
    """MLflow flavor of the model; chooses the runtime when `runtime` is left out."""
    task: Annotated[str, AfterValidator(_task)] | None = None
    """MLflow task, e.g. llm/v1/chat (LLM tasks are served by vLLM)."""
    runtime: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")] | None = None
    """Serving runtime (mlflow, vllm, triton, custom); chosen from flavor, task and compute if left out."""
    compute: Compute
    """Resources per replica: `{workload: name}` or `{cpu, memory, gpu?}`."""
    modelSize: Quantity | None = None
    """Size of the model's files as downloaded, e.g. 140Gi for a 70B model in bf16. Sizes the
    pod's ephemeral-storage request; left out, it is bounded by what the pod can load (its GPU
    memory, else its memory)."""
    env: tuple[EnvVar, ...] = ()
    """Environment variables of the model container."""

    @model_validator(mode="after")
    def _model_or_image(self) -> ServedModel:
        _raise_first(
            served_shape(
                0,
                model=self.model is not None,
                image=self.image is not None,
                port=self.port is not None,
                env_names=[e.name for e in self.env],
            )
        )
        return self


class _OrderedRange(StrictModel):
    """A `{min, max}` range whose min may not exceed its max."""

    @model_validator(mode="after")
    def _ordered(self) -> _OrderedRange:
        low, high = getattr(self, "min"), getattr(self, "max")  # noqa: B009 - fields of subclasses
        if low > high:
            raise ValueError(f"min ({low}) is greater than max ({high})")
        return self


class ConcurrencyRange(_OrderedRange):
    """In-flight requests across the whole endpoint."""

    min: Annotated[int, Field(ge=0, le=1_000_000)]
    """Floor kept ready (provisioned concurrency). 0 scales to zero when idle."""
    max: Annotated[int, Field(ge=1, le=1_000_000)]
    """Ceiling: the endpoint never grows past what this many in-flight requests need."""


class PerReplicaRange(_OrderedRange):
    """Bounds on the concurrency one replica learns to take."""

    min: Annotated[int, Field(ge=1, le=10_000)]
    """The learned per-replica concurrency never goes below this."""
    max: Annotated[int, Field(ge=1, le=10_000)]
    """The learned per-replica concurrency never goes above this."""


class ScheduleWindow(StrictModel):
    """Raise the concurrency floor inside a recurring window (ahead of a known peak)."""

    start: Cron
    """Cron expression (five fields) for when the window opens, in `timezone`."""
    end: Cron
    """Cron expression for when the window closes, in `timezone`."""
    timezone: TimeZone
    """IANA time zone of the cron expressions, e.g. Europe/Berlin (daylight saving handled)."""
    minConcurrency: Annotated[int, Field(ge=1, le=1_000_000)]
    """Floor of in-flight requests kept ready inside the window."""


class Scaling(StrictModel):
    """How far the endpoint may scale; the autoscaler works out replicas and per-replica load."""

    concurrency: ConcurrencyRange
    """Endpoint-wide in-flight request range."""
    perReplica: PerReplicaRange | None = None
    """Optional bounds on the learned per-replica concurrency (defaults come from the runtime)."""
    schedule: tuple[ScheduleWindow, ...] = ()
    """Windows that raise the floor."""


class Payloads(StrictModel):
    """Request/response payload capture."""

    sampleRate: Annotated[float, Field(ge=0.0, le=1.0)]
    """Fraction of request/response pairs captured, 0 to 1."""


class Logging(StrictModel):
    """What the observability sidecar records besides traces and metrics."""

    payloads: Payloads | None = None
    """Payload logging."""


class LintSettings(StrictModel):
    """Semantic lint settings for this endpoint."""

    ignore: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9-]+$")], Annotated[str, Field(min_length=3)]
    ] = Field(default_factory=dict)
    """Rules switched off for this endpoint, each with the reason: `{rule-id: "why"}`."""


class EndpointSpec(StrictModel):
    """One model endpoint: `endpoints/<name>.yaml`."""

    name: DnsLabel
    """Endpoint name; equals the file name without `.yaml`."""
    owner: Annotated[str, Field(min_length=1, max_length=254)]
    """Who answers for this endpoint (a team address)."""
    description: str | None = None
    """What the endpoint is for."""
    served: Annotated[tuple[ServedModel, ...], Field(min_length=1, max_length=16)]
    """The versions served; traffic is split over them by `traffic`."""
    traffic: dict[str, Annotated[int, Field(ge=0, le=100)]] | None = None
    """Percent of requests per served name; must add up to 100. Required with more than one served."""
    scaling: Scaling
    """Concurrency range and schedule."""
    logging: Logging | None = None
    """Payload logging."""
    lint: LintSettings | None = None
    """Switch semantic lint rules off for this endpoint, with a reason."""

    @field_validator("served")
    @classmethod
    def _unique_served(cls, served: tuple[ServedModel, ...]) -> tuple[ServedModel, ...]:
        _raise_first(duplicate_served([s.name for s in served]))
        return served

    @model_validator(mode="after")
    def _traffic_adds_up(self) -> EndpointSpec:
        _raise_first(traffic_split(self.traffic, [s.name for s in self.served]))
        return self

    def traffic_percent(self, served_name: str) -> int:
        """Share of requests for one served version (100 when only one is served)."""
        if self.traffic is None:
            return 100
        return self.traffic[served_name]
