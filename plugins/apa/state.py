"""Persisted scaler state (`--state PATH`): learned targets survive a restart.

One JSON document, written atomically (a temporary file in the same folder, fsync, os.replace):
a crash mid-write leaves the previous file intact. It holds each ScaledObject's metadata (so a
restarted scaler samples them before KEDA's first call), its vertical state and last answer.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugins.apa.decision import VerticalState
from plugins.apa.errors import StateError

FORMAT = 1


@dataclass(frozen=True)
class Saved:
    """What survives a restart for one ScaledObject."""

    namespace: str
    name: str
    metadata: dict[str, str]
    vertical: VerticalState
    value: float | None
    active: bool | None


def _vertical_json(state: VerticalState) -> dict[str, Any]:
    return {
        "target": state.target,
        "stressStreaks": [list(pair) for pair in state.stress_streaks],
        "growthStreak": state.growth_streak,
        "latencyBaselineMs": state.latency_baseline_ms,
        "decidedAt": state.decided_at,
        "fit": list(state.fit),
        "knee": state.knee,
        "kneeAt": state.knee_at,
        "kneeResources": state.knee_resources,
        "healthyLoad": state.healthy_load,
        "shrinkStreak": state.shrink_streak,
    }


def _vertical(raw: dict[str, Any]) -> VerticalState:
    return VerticalState(
        target=float(raw["target"]),
        stress_streaks=tuple((str(m), int(n)) for m, n in raw["stressStreaks"]),
        growth_streak=int(raw["growthStreak"]),
        latency_baseline_ms=None
        if raw["latencyBaselineMs"] is None
        else float(raw["latencyBaselineMs"]),
        decided_at=None if raw["decidedAt"] is None else float(raw["decidedAt"]),
        # The learning evidence (absent from state files written before it existed).
        fit=tuple(float(x) for x in raw.get("fit", ())),
        knee=_optional(raw.get("knee")),
        knee_at=_optional(raw.get("kneeAt")),
        knee_resources=_optional(raw.get("kneeResources")),
        healthy_load=float(raw.get("healthyLoad", 0.0)),
        shrink_streak=int(raw.get("shrinkStreak", 0)),
    )


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def dumps(saved: list[Saved]) -> str:
    objects = {
        f"{s.namespace}/{s.name}": {
            "metadata": dict(sorted(s.metadata.items())),
            "vertical": _vertical_json(s.vertical),
            "value": s.value,
            "active": s.active,
        }
        for s in sorted(saved, key=lambda s: (s.namespace, s.name))
    }
    return json.dumps({"format": FORMAT, "scaledObjects": objects}, indent=1) + "\n"


def save(path: Path, saved: list[Saved]) -> None:
    text = dumps(saved)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path) -> list[Saved]:
    """The saved ScaledObjects; [] when the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as error:
        raise StateError(f"{path}: cannot read: {error.strerror}") from None
    try:
        document = json.loads(text)
        if document.get("format") != FORMAT:
            raise StateError(f"{path}: unknown format {document.get('format')!r}")
        result = []
        for key, raw in document["scaledObjects"].items():
            namespace, name = key.split("/", 1)
            result.append(
                Saved(
                    namespace=namespace,
                    name=name,
                    metadata={str(k): str(v) for k, v in raw["metadata"].items()},
                    vertical=_vertical(raw["vertical"]),
                    value=None if raw["value"] is None else float(raw["value"]),
                    active=None if raw["active"] is None else bool(raw["active"]),
                )
            )
        return result
    except StateError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StateError(f"{path}: not a scaler state file ({error!r}); move it aside") from None
