"""The trigger-metadata contract between the compiler (ScaledObject renderer) and the scaler.

The renderer builds a `TriggerMetadata` and writes `to_metadata()` into the `external` trigger's
`metadata` (adding `scalerAddress` and KEDA's own keys such as `enableTLS`); KEDA forwards that map
verbatim as `ScaledObjectRef.scalerMetadata`, and the scaler reads it back with `from_metadata`.
All values are strings (a Kubernetes map[string]string). Unknown keys are ignored so the
renderer can add KEDA's keys, and so an older scaler tolerates a newer compiler.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

SELECTOR_PREFIX = "selector."
DEFAULT_WINDOW_SECONDS = 20.0

# Keys the scaler reads; the rest of the map (scalerAddress, enableTLS, unsafeSsl...) is KEDA's.
REQUIRED_KEYS = (
    "endpoint",
    "served",
    "runtime",
    "concurrencyMin",
    "concurrencyMax",
    "perReplicaMin",
    "perReplicaMax",
    "perReplicaInitial",
)
OPTIONAL_KEYS = ("windowSeconds", "schedule")
_WINDOW_KEYS = {"start", "end", "timezone", "minConcurrency"}


class InvalidMetadata(ValueError):
    """A trigger-metadata key is missing or has a bad value; `key` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"scalerMetadata key `{key}`: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class ScheduleFloor:
    """A recurring window raising this served version's concurrency floor.

    The window is open between the most recent `start` firing and the following `end` firing,
    both cron expressions (five fields) read in `timezone` (IANA name; DST handled).
    `min_concurrency` is this served version's share, in the same unit as `concurrency_min`.
    """

    start: str
    end: str
    timezone: str
    min_concurrency: float

    def to_json(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "timezone": self.timezone,
            "minConcurrency": _number_json(self.min_concurrency),
        }


@dataclass(frozen=True)
class TriggerMetadata:
    """Everything the scaler needs about one served version (one ScaledObject).

    Concurrency figures are this served version's share of the endpoint's range (the renderer
    splits the endpoint range by traffic percentage). `selectors` are the label values the PromQL
    templates need (e.g. `service`, `pod`, `container`), sorted by name.
    """

    endpoint: str
    served: str
    namespace: str
    runtime: str
    concurrency_min: float
    concurrency_max: float
    per_replica_min: float
    per_replica_max: float
    per_replica_initial: float
    window_seconds: float = DEFAULT_WINDOW_SECONDS
    schedule: tuple[ScheduleFloor, ...] = ()
    selectors: tuple[tuple[str, str], ...] = field(default=())

    def selector(self, name: str, default: str = "") -> str:
        for key, value in self.selectors:
            if key == name:
                return value
        return default

    def to_metadata(self) -> dict[str, str]:
        """The trigger's `metadata` map (without `scalerAddress`, which the renderer adds)."""
        result = {
            "endpoint": self.endpoint,
            "served": self.served,
            "runtime": self.runtime,
            "concurrencyMin": format_number(self.concurrency_min),
            "concurrencyMax": format_number(self.concurrency_max),
            "perReplicaMin": format_number(self.per_replica_min),
            "perReplicaMax": format_number(self.per_replica_max),
            "perReplicaInitial": format_number(self.per_replica_initial),
            "windowSeconds": format_number(self.window_seconds),
            "schedule": json.dumps(
                [floor.to_json() for floor in self.schedule],
                sort_keys=True,
                separators=(",", ":"),
            ),
        }
        for name, value in sorted(self.selectors):
            result[SELECTOR_PREFIX + name] = value
        return result

    @classmethod
    def from_metadata(cls, namespace: str, metadata: Mapping[str, str]) -> TriggerMetadata:
        """Parse and validate; raises InvalidMetadata naming the first bad key."""
        for key in REQUIRED_KEYS:
            if key not in metadata or metadata[key] == "":
                raise InvalidMetadata(key, "is required (the compiler writes it; re-render)")
        endpoint = _name(metadata, "endpoint")
        served = _name(metadata, "served")
        runtime = _name(metadata, "runtime")
        concurrency_min = _number(metadata, "concurrencyMin", minimum=0.0)
        concurrency_max = _number(metadata, "concurrencyMax", minimum=0.0, positive=True)
        if concurrency_min > concurrency_max:
            raise InvalidMetadata(
                "concurrencyMin",
                f"{format_number(concurrency_min)} is greater than concurrencyMax "
                f"{format_number(concurrency_max)}",
            )
        per_replica_min = _number(metadata, "perReplicaMin", minimum=0.0, positive=True)
        per_replica_max = _number(metadata, "perReplicaMax", minimum=0.0, positive=True)
        if per_replica_min > per_replica_max:
            raise InvalidMetadata(
                "perReplicaMin",
                f"{format_number(per_replica_min)} is greater than perReplicaMax "
                f"{format_number(per_replica_max)}",
            )
        initial = _number(metadata, "perReplicaInitial", minimum=0.0, positive=True)
        if not per_replica_min <= initial <= per_replica_max:
            raise InvalidMetadata(
                "perReplicaInitial",
                f"{format_number(initial)} is outside perReplicaMin..perReplicaMax "
                f"({format_number(per_replica_min)}..{format_number(per_replica_max)})",
            )
        window = DEFAULT_WINDOW_SECONDS
        if metadata.get("windowSeconds", "") != "":
            window = _number(metadata, "windowSeconds", minimum=0.0, positive=True)
        schedule = _schedule(metadata.get("schedule", "") or "[]")
        selectors = []
        for key in sorted(metadata):
            if key.startswith(SELECTOR_PREFIX):
                name = key[len(SELECTOR_PREFIX) :]
                if not name:
                    raise InvalidMetadata(key, "needs a selector name after `selector.`")
                selectors.append((name, metadata[key]))
        return cls(
            endpoint=endpoint,
            served=served,
            namespace=namespace,
            runtime=runtime,
            concurrency_min=concurrency_min,
            concurrency_max=concurrency_max,
            per_replica_min=per_replica_min,
            per_replica_max=per_replica_max,
            per_replica_initial=initial,
            window_seconds=window,
            schedule=schedule,
            selectors=tuple(selectors),
        )


def format_number(value: float) -> str:
    """Shortest text that parses back to the same float: `5` for 5.0, `0.1` for 0.1."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _number_json(value: float) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def _name(metadata: Mapping[str, str], key: str) -> str:
    value = metadata[key]
    if value.strip() != value or any(c in value for c in '"\\\n{}'):
        raise InvalidMetadata(key, f"{value!r} is not a plain name")
    return value


def _number(
    metadata: Mapping[str, str], key: str, *, minimum: float, positive: bool = False
) -> float:
    text = metadata[key]
    try:
        value = float(text)
    except ValueError:
        raise InvalidMetadata(key, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidMetadata(key, f"{text!r} is not a finite number")
    if value < minimum or (positive and value <= 0):
        raise InvalidMetadata(key, f"{text} must be {'> 0' if positive else '>= 0'}")
    return value


def _schedule(text: str) -> tuple[ScheduleFloor, ...]:
    key = "schedule"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidMetadata(key, f"is not JSON: {error.msg}") from None
    if not isinstance(raw, list):
        raise InvalidMetadata(key, "must be a JSON list of windows")
    floors = []
    for index, item in enumerate(raw):
        where = f"window {index}"
        if not isinstance(item, dict) or set(item) != _WINDOW_KEYS:
            raise InvalidMetadata(
                key, f"{where} must have exactly start, end, timezone, minConcurrency"
            )
        for cron_key in ("start", "end"):
            expression = item[cron_key]
            if not isinstance(expression, str) or len(expression.split()) != 5:
                raise InvalidMetadata(key, f"{where} {cron_key}: needs five cron fields")
            if not croniter.is_valid(expression):
                raise InvalidMetadata(key, f"{where} {cron_key}: {expression!r} is not valid cron")
        zone = item["timezone"]
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidMetadata(key, f"{where} timezone: {zone!r} is not an IANA zone") from None
        minimum = item["minConcurrency"]
        if (
            isinstance(minimum, bool)
            or not isinstance(minimum, int | float)
            or not math.isfinite(minimum)
            or minimum < 0
        ):
            raise InvalidMetadata(key, f"{where} minConcurrency: must be a number >= 0")
        floors.append(ScheduleFloor(item["start"], item["end"], zone, float(minimum)))
    return tuple(floors)
