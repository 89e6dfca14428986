"""From an endpoint name and environment to what the simulated cluster runs: the rendered
ScaledObject of one served version (KEDA settings, HPA behavior, the scaler's trigger metadata).

The simulator reads the ScaledObject the autoscaling plugin renders, not a copy of its rules, so
what it predicts follows what `knobless compile` would ship.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.context import EndpointContext, ServedContext
from compiler.errors import UsageError
from compiler.pipeline import resolve_endpoint
from plugins.apa.decision import Bounds
from plugins.apa.metadata import InvalidMetadata, ScheduleFloor, TriggerMetadata
from plugins.apa.simulator.hpa import Behavior
from plugins.autoscaling.scaledobject import render_scaled_object


@dataclass(frozen=True)
class ServedSystem:
    """One served version as KEDA, the HPA and the scaler see it."""

    endpoint: str
    env_name: str
    served: str
    runtime: str
    traffic_percent: int
    cpu_cores: float
    gpu_count: int
    bounds: Bounds
    window_s: float
    schedule: tuple[ScheduleFloor, ...]
    min_replicas: int
    """KEDA minReplicaCount (0 = scale to zero)."""
    max_replicas: int
    polling_interval_s: float
    cooldown_s: float
    behavior: Behavior
    key: tuple[str, str] = ("", "")
    """(namespace, service) the scaler's queries label this version's series with."""

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "environment": self.env_name,
            "served": self.served,
            "runtime": self.runtime,
            "traffic_percent": self.traffic_percent,
            "concurrency": {"min": self.bounds.concurrency_min, "max": self.bounds.concurrency_max},
            "per_replica": {
                "min": self.bounds.per_replica_min,
                "initial": self.bounds.per_replica_initial,
                "max": self.bounds.per_replica_max,
            },
            "replicas": {"min": self.min_replicas, "max": self.max_replicas},
            "polling_interval_s": self.polling_interval_s,
            "cooldown_s": self.cooldown_s,
        }


def served_system(root: Path, env: str, endpoint: str, served: str | None = None) -> ServedSystem:
    context = resolve_endpoint(root, env, endpoint)
    choice = _pick_served(context, served)
    scaled_object = render_scaled_object(context, choice)
    return from_scaled_object(scaled_object, context, choice)


def from_scaled_object(
    scaled_object: dict[str, Any], context: EndpointContext, served: ServedContext
) -> ServedSystem:
    spec = scaled_object["spec"]
    trigger = spec["triggers"][0]
    try:
        metadata = TriggerMetadata.from_metadata(
            scaled_object["metadata"]["namespace"], trigger["metadata"]
        )
    except InvalidMetadata as error:  # the renderer and the scaler disagree: a bug, said plainly
        raise UsageError(f"the rendered ScaledObject has bad scaler metadata: {error}") from None
    behavior = spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior")
    return ServedSystem(
        endpoint=context.spec.name,
        env_name=context.environment.name,
        served=served.spec.name,
        runtime=served.runtime.name,
        traffic_percent=served.traffic_percent,
        cpu_cores=float(served.resources.cpu_cores),
        gpu_count=served.resources.gpu_count,
        bounds=Bounds.from_metadata(metadata),
        window_s=metadata.window_seconds,
        schedule=metadata.schedule,
        min_replicas=int(spec.get("minReplicaCount", 0)),
        max_replicas=int(spec.get("maxReplicaCount", 100)),
        polling_interval_s=float(spec.get("pollingInterval", 30)),
        cooldown_s=float(spec.get("cooldownPeriod", 300)),
        behavior=Behavior.from_spec(behavior),
        key=(
            metadata.selector("namespace", scaled_object["metadata"]["namespace"]),
            metadata.selector("service", scaled_object["metadata"]["name"]),
        ),
    )


def _pick_served(context: EndpointContext, name: str | None) -> ServedContext:
    if name is None:  # the version taking most traffic, the first one on a tie
        return max(context.served, key=lambda s: s.traffic_percent)
    for served in context.served:
        if served.spec.name == name:
            return served
    names = ", ".join(s.spec.name for s in context.served)
    raise UsageError(f"--served {name}: endpoint `{context.spec.name}` serves {names}")
