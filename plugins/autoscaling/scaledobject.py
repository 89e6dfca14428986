"""The KEDA ScaledObject of one served version: one `external` trigger to its APA scaler shard.

The trigger's metadata is the scaler contract (`plugins.apa.metadata.TriggerMetadata`) plus
KEDA's own keys: `scalerAddress` (the shard chosen by rendezvous hashing) and, with mTLS,
`enableTLS` and an `authenticationRef` to the namespace's TriggerAuthentication. The scaler
reports replicas needed against a fixed target of 1 (DESIGN.md, "Coupling"), so the metric type
is AverageValue and the HPA computes ceil(value).
"""

from __future__ import annotations

from typing import Any

from compiler.context import EndpointContext, ServedContext
from plugins.apa.metadata import DEFAULT_WINDOW_SECONDS, ScheduleFloor, TriggerMetadata
from plugins.autoscaling.behavior import hpa_behavior
from plugins.autoscaling.defaults import per_replica, replica_cap
from plugins.autoscaling.sharding import assign_shard, shard_address
from plugins.autoscaling.sizing import ServedBounds, schedule_floor, served_bounds
from plugins.autoscaling.triggerauth import TRIGGER_AUTH_NAME
from plugins.workload.deployment import MODEL_CONTAINER
from plugins.workload.labels import served_labels, workload_name

COOLDOWN_SECONDS = 300
"""Idle time before scaling to zero, measured from the last active moment (KEDA's default)."""


def endpoint_namespace(endpoint: EndpointContext) -> str:
    return endpoint.environment.namespace_for(endpoint.spec.name)


def served_name(endpoint: EndpointContext, served: ServedContext) -> str:
    """Deployment, Service and ScaledObject name of a served version: `<endpoint>-<served>`."""
    return workload_name(endpoint.spec.name, served.spec.name)


def selectors(endpoint: EndpointContext, served: ServedContext) -> tuple[tuple[str, str], ...]:
    """Label values the scaler's PromQL templates filter on, sorted by name."""
    name = served_name(endpoint, served)
    return (
        ("container", MODEL_CONTAINER),
        ("namespace", endpoint_namespace(endpoint)),
        # Exactly a Deployment pod name, `<deployment>-<pod-template-hash>-<5 chars>`: a looser
        # `<name>-.*` would also match the pods of a sibling version named `<served>-<more>`.
        ("pod", f"{name}-[a-z0-9]{{1,10}}-[a-z0-9]{{5}}"),
        ("service", name),
    )


def plan(endpoint: EndpointContext, served: ServedContext) -> tuple[TriggerMetadata, ServedBounds]:
    """The scaler metadata and KEDA replica bounds of one served version."""
    scaling = endpoint.spec.scaling
    replica = per_replica(endpoint, served)
    bounds = served_bounds(
        endpoint_min=scaling.concurrency.min,
        endpoint_max=scaling.concurrency.max,
        percent=served.traffic_percent,
        per_replica=replica,
        has_schedule=bool(scaling.schedule),
        replica_floor=endpoint.environment.minReplicas,
        replica_cap=replica_cap(endpoint, served),
    )
    floors = tuple(
        ScheduleFloor(
            start=window.start,
            end=window.end,
            timezone=window.timezone,
            min_concurrency=float(
                schedule_floor(
                    window.minConcurrency, served.traffic_percent, bounds.concurrency_max
                )
            ),
        )
        for window in scaling.schedule
    )
    metadata = TriggerMetadata(
        endpoint=endpoint.spec.name,
        served=served.spec.name,
        namespace=endpoint_namespace(endpoint),
        runtime=served.runtime.name,
        # floats: the contract's fields are floats (format_number prints 8.0 as "8").
        concurrency_min=float(bounds.concurrency_min),
        concurrency_max=float(bounds.concurrency_max),
        per_replica_min=float(replica.min),
        per_replica_max=float(replica.max),
        per_replica_initial=float(replica.initial),
        window_seconds=DEFAULT_WINDOW_SECONDS,
        schedule=floors,
        selectors=selectors(endpoint, served),
    )
    return metadata, bounds


def render_scaled_object(endpoint: EndpointContext, served: ServedContext) -> dict[str, Any]:
    scaler = endpoint.environment.scaler
    name = served_name(endpoint, served)
    namespace = endpoint_namespace(endpoint)
    metadata, bounds = plan(endpoint, served)
    shard = assign_shard(namespace, name, scaler.shards)
    trigger_metadata = {
        **metadata.to_metadata(),
        "scalerAddress": shard_address(shard, scaler.namespace, scaler.port),
    }
    trigger: dict[str, Any] = {"type": "external", "metricType": "AverageValue"}
    if scaler.tls.enabled:
        trigger_metadata["enableTLS"] = "true"
        trigger["authenticationRef"] = {"name": TRIGGER_AUTH_NAME, "kind": "TriggerAuthentication"}
    # A map: sorted, so the rendered YAML is stable and easy to read.
    trigger["metadata"] = dict(sorted(trigger_metadata.items()))
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        # KEDA copies these onto the HPA it creates: both are found by endpoint and version.
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": served_labels(endpoint.spec.name, served.spec.name),
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "pollingInterval": scaler.pollingInterval,
            "cooldownPeriod": COOLDOWN_SECONDS,
            "minReplicaCount": bounds.min_replicas,
            "maxReplicaCount": bounds.max_replicas,
            "advanced": {
                "horizontalPodAutoscalerConfig": {"behavior": hpa_behavior(bounds.max_replicas)}
            },
            "triggers": [trigger],
        },
    }
