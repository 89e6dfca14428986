"""The Deployment of each served version: the runtime's model container, the observability
sidecar, restricted security, resources from the workload, and a zero-downtime rollout.

`spec.replicas` is never rendered: the autoscaler owns it (an Argo CD sync would otherwise
reset every scale decision).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compiler import hookimpl
from compiler.manifest import Manifest
from plugins import observability
from plugins.runtimes import runtime_module
from plugins.runtimes.base import HTTP_PORT_NAME, RuntimePod
from plugins.workload import confighash, gpus
from plugins.workload.labels import namespace_of, selector, served_labels, workload_name
from plugins.workload.security import container_security_context, pod_security_context

if TYPE_CHECKING:
    from compiler.context import EndpointContext, Resources, ServedContext
    from compiler.models.endpoint import EnvVar
    from compiler.models.environment import Environment

MODEL_CONTAINER = "model"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
"""GPU nodes are commonly tainted with nvidia.com/gpu; tolerating it never forces a pod there."""
CPU_MAX_SURGE = "25%"
GPU_MAX_SURGE = 1
"""One surge pod at a time on GPUs: a quarter of many 8-GPU replicas rarely fits spare capacity."""


def _user_env(variable: EnvVar, environment: Environment) -> dict[str, Any]:
    if variable.secretRef is not None:
        ref = variable.secretRef
        return {
            "name": variable.name,
            "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}},
        }
    if variable.endpoint is not None:
        # Validation requires internalUrl wherever an endpoint is named (plugins/networkpolicy).
        base = str(environment.gateway.internalUrl or "").rstrip("/")
        return {"name": variable.name, "value": f"{base}/{variable.endpoint}"}
    return {"name": variable.name, "value": variable.value}


def _env(
    endpoint: EndpointContext, served: ServedContext, runtime: RuntimePod
) -> list[dict[str, Any]]:
    """Runtime env, then the OpenTelemetry SDK env, then the user's; the user wins a name clash
    (a duplicate name would be rejected by server-side apply)."""
    user = [_user_env(variable, endpoint.environment) for variable in served.spec.env]
    taken = {entry["name"] for entry in user}
    base = [*runtime.env, *observability.model_env(endpoint, served.spec.name)]
    return [entry for entry in base if entry["name"] not in taken] + user


def _resources(resources: Resources, runtime: RuntimePod) -> dict[str, Any]:
    # No CPU limit: throttling adds tail latency; memory limit = request keeps the pod predictable.
    # ephemeral-storage is requested, never limited: a model a little larger than its estimate
    # must not get the pod evicted.
    requests: dict[str, str] = {"cpu": resources.cpu, "memory": resources.memory}
    if runtime.ephemeral_storage:
        requests["ephemeral-storage"] = runtime.ephemeral_storage
    limits: dict[str, str] = {"memory": resources.memory}
    if resources.gpu_count:
        requests[GPU_RESOURCE] = str(resources.gpu_count)
        limits[GPU_RESOURCE] = str(resources.gpu_count)
    return {"requests": requests, "limits": limits}


def _tolerations(resources: Resources) -> list[dict[str, Any]]:
    tolerations = [dict(toleration) for toleration in resources.tolerations]
    if resources.gpu_count and not any(t.get("key") == GPU_RESOURCE for t in tolerations):
        tolerations.append(dict(GPU_TOLERATION))
    return tolerations


def _secured(container: dict[str, Any]) -> dict[str, Any]:
    return {**container, "securityContext": container_security_context()}


def model_container(
    endpoint: EndpointContext, served: ServedContext, runtime: RuntimePod
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": MODEL_CONTAINER, "image": runtime.image}
    if runtime.command:
        container["command"] = list(runtime.command)
    if runtime.args:
        container["args"] = list(runtime.args)
    container["ports"] = [
        {"name": HTTP_PORT_NAME, "containerPort": runtime.port, "protocol": "TCP"},
        *runtime.extra_ports,
    ]
    container["env"] = _env(endpoint, served, runtime)
    container["resources"] = _resources(served.resources, runtime)
    container["startupProbe"] = runtime.startup_probe
    container["readinessProbe"] = runtime.readiness_probe
    container["livenessProbe"] = runtime.liveness_probe
    # The drain: keep serving while the pod leaves the Service endpoints and the gateway.
    container["lifecycle"] = {"preStop": {"sleep": {"seconds": runtime.drain_seconds}}}
    container["securityContext"] = container_security_context(runtime.run_as_user)
    container["volumeMounts"] = list(runtime.mounts)
    return container


SPREAD_KEYS = ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
"""Replicas spread over zones, then hosts: a zone outage or a node drain takes part of them."""


def _spread(endpoint: EndpointContext, served: ServedContext) -> list[dict[str, Any]]:
    # Soft (ScheduleAnyway): a hard rule would leave pods Pending on a one-zone cluster or when
    # GPU nodes are few; the scheduler still prefers the emptiest zone and host. Only this
    # revision's pods count (matchLabelKeys), so a rollout does not skew against the old ones;
    # nodes whose taints the pod does not tolerate are no domain (nodeTaintsPolicy Honor).
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector(endpoint.spec.name, served.spec.name)},
            "matchLabelKeys": ["pod-template-hash"],
            "nodeTaintsPolicy": "Honor",
        }
        for key in SPREAD_KEYS
    ]


def pod_template(
    endpoint: EndpointContext, served: ServedContext, runtime: RuntimePod
) -> dict[str, Any]:
    sidecar_config = observability.collector_config_text(endpoint)
    digest = confighash.config_hash(
        confighash.hash_inputs(endpoint, served, runtime.args, sidecar_config)
    )
    annotations = {
        confighash.ANNOTATION: digest,
        "kubectl.kubernetes.io/default-container": MODEL_CONTAINER,
        **observability.scrape_annotations(runtime.metrics_port, runtime.metrics_path),
    }
    spec: dict[str, Any] = {
        "serviceAccountName": endpoint.spec.name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": runtime.termination_grace_seconds,
    }
    node_selector = dict(sorted(served.resources.node_selector))
    if node_selector:
        spec["nodeSelector"] = node_selector
    affinity = gpus.node_affinity(served.resources, endpoint.environment)
    if affinity:
        spec["affinity"] = affinity
    tolerations = _tolerations(served.resources)
    if tolerations:
        spec["tolerations"] = tolerations
    spec["topologySpreadConstraints"] = _spread(endpoint, served)
    sidecar = observability.sidecar_container(endpoint, served.spec.name)
    spec["initContainers"] = [_secured(sidecar), *(_secured(c) for c in runtime.init_containers)]
    spec["containers"] = [model_container(endpoint, served, runtime)]
    spec["volumes"] = [*runtime.volumes, observability.sidecar_volume(endpoint)]
    return {
        "metadata": {
            "labels": served_labels(endpoint.spec.name, served.spec.name),
            "annotations": annotations,
        },
        "spec": spec,
    }


def deployment(
    endpoint: EndpointContext, served: ServedContext, runtime: RuntimePod
) -> dict[str, Any]:
    surge: str | int = GPU_MAX_SURGE if served.resources.gpu_count else CPU_MAX_SURGE
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": workload_name(endpoint.spec.name, served.spec.name),
            "namespace": namespace_of(endpoint),
            "labels": served_labels(endpoint.spec.name, served.spec.name),
            "annotations": {
                "knobless.dev/runtime": served.runtime.name,
                "knobless.dev/runtime-reason": served.runtime.reason,
            },
        },
        "spec": {
            "selector": {"matchLabels": selector(endpoint.spec.name, served.spec.name)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": surge},
            },
            "minReadySeconds": runtime.min_ready_seconds,
            "progressDeadlineSeconds": runtime.progress_deadline_seconds,
            "revisionHistoryLimit": 5,
            "template": pod_template(endpoint, served, runtime),
        },
    }


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    manifests = []
    for served in endpoint.served:
        module = runtime_module(served.runtime.name)
        if module is None:
            continue  # a plugin's own runtime: that plugin renders the Deployment
        runtime: RuntimePod = module.build(served, endpoint)
        manifests.append(Manifest(endpoint.spec.name, deployment(endpoint, served, runtime)))
    return manifests
