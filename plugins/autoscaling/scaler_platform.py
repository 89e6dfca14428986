"""The APA scaler's own objects in `rendered/<env>/platform/`.

One StatefulSet `knobless-apa` with one pod per shard behind a headless Service, so shard i has
the stable address `knobless-apa-<i>.knobless-apa.<ns>.svc.cluster.local` that ScaledObjects
name in `scalerAddress`. Each pod serves whatever ScaledObjects call it: the compiler's hashing
is what shards the work. The scaler never talks to the Kubernetes API (KEDA calls it), so its
ServiceAccount has no token and no RBAC.

State (learned per-replica targets) lives in an emptyDir: it survives container restarts and
crashes; a rescheduled pod relearns from the per-replica initial values within minutes. A
PersistentVolume would pin a shard to one zone and keep it down when that zone is, and a shard
that is down freezes the scaling of every endpoint it serves.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from compiler.manifest import PLATFORM, Manifest
from compiler.models.environment import Environment
from plugins.apa.queries import gateway_queries
from plugins.autoscaling.sharding import SCALER_NAME
from plugins.workload.labels import MANAGED_BY

QUERIES_CONFIGMAP = f"{SCALER_NAME}-queries"
QUERIES_FILE = "queries.json"
STATE_DIR = "/var/lib/knobless"
TLS_DIR = "/etc/knobless/tls"
QUERIES_DIR = "/etc/knobless/queries"
METRICS_PORT = 9100
"""Plain-HTTP port of the scaler's own Prometheus `/metrics` (and `/healthz` for probes)."""
RUN_AS = 65532
"""The image's non-root user (distroless `nonroot`)."""

LABELS = {
    "app.kubernetes.io/name": SCALER_NAME,
    "app.kubernetes.io/component": "scaler",
    "app.kubernetes.io/part-of": "knobless",
    "app.kubernetes.io/managed-by": MANAGED_BY,
}
SELECTOR = {"app.kubernetes.io/name": SCALER_NAME, "app.kubernetes.io/component": "scaler"}


def _metadata(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(LABELS)
    return meta


def scaler_args(environment: Environment) -> list[str]:
    scaler = environment.scaler
    args = [
        "scaler",
        "--listen",
        f"0.0.0.0:{scaler.port}",
        "--prometheus",
        str(environment.prometheus.url).rstrip("/"),
        "--state",
        f"{STATE_DIR}/state.json",
        "--metrics-listen",
        f"0.0.0.0:{METRICS_PORT}",
    ]
    if scaler_queries(environment):
        args += ["--queries", f"{QUERIES_DIR}/{QUERIES_FILE}"]
    if scaler.tls.enabled:
        args += [
            "--tls-cert",
            f"{TLS_DIR}/tls.crt",
            "--tls-key",
            f"{TLS_DIR}/tls.key",
            "--tls-client-ca",
            f"{TLS_DIR}/ca.crt",
        ]
    return args


def _probes(environment: Environment) -> dict[str, Any]:
    # The kubelet's gRPC probe speaks plaintext only; with mTLS on, probe the metrics port's
    # /healthz, which reports the same health service status.
    def check() -> dict[str, Any]:
        # A new dict per probe: shared objects would come out as YAML anchors.
        if environment.scaler.tls.enabled:
            return {"httpGet": {"path": "/healthz", "port": "metrics"}}
        return {"grpc": {"port": environment.scaler.port}}

    return {
        "readinessProbe": {**check(), "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {**check(), "periodSeconds": 10, "failureThreshold": 6},
    }


def _volumes(environment: Environment) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    mounts: list[dict[str, Any]] = [
        {"name": "state", "mountPath": STATE_DIR},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "state", "emptyDir": {"sizeLimit": "64Mi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    if scaler_queries(environment):
        mounts.append({"name": "queries", "mountPath": QUERIES_DIR, "readOnly": True})
        volumes.append({"name": "queries", "configMap": {"name": QUERIES_CONFIGMAP}})
    if environment.scaler.tls.enabled:
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
        volumes.append({"name": "tls", "secret": {"secretName": environment.scaler.tls.secretName}})
    return mounts, volumes


def _container(environment: Environment) -> dict[str, Any]:
    scaler = environment.scaler
    mounts, _ = _volumes(environment)
    return {
        "name": "scaler",
        "image": scaler.image,
        "imagePullPolicy": "IfNotPresent",
        "args": scaler_args(environment),
        "env": [
            {
                # The shard this pod's ordinal names (for its logs and metrics labels).
                "name": "KNOBLESS_SHARD",
                "valueFrom": {
                    "fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}
                },
            }
        ],
        "ports": [
            {"name": "grpc", "containerPort": scaler.port, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        **_probes(environment),
        # No CPU limit: throttling shows up as gRPC latency on KEDA's calls.
        "resources": {
            "requests": {"cpu": scaler.cpu, "memory": scaler.memory},
            "limits": {"memory": scaler.memory},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }


def stateful_set(environment: Environment) -> dict[str, Any]:
    scaler = environment.scaler
    _, volumes = _volumes(environment)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _metadata(SCALER_NAME, scaler.namespace),
        "spec": {
            "replicas": scaler.shards,
            "serviceName": SCALER_NAME,
            # Shards are independent: start and replace them all at once, not one by one.
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "selector": {"matchLabels": dict(SELECTOR)},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "serviceAccountName": SCALER_NAME,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "fsGroup": RUN_AS,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    # Spread shards over nodes: one node going down takes one shard, not several.
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": dict(SELECTOR)},
                        }
                    ],
                    "containers": [_container(environment)],
                    "volumes": volumes,
                },
            },
        },
    }


def headless_service(environment: Environment) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(SCALER_NAME, environment.scaler.namespace),
        "spec": {
            # Headless: one DNS record per ready pod, the stable per-shard address.
            "clusterIP": "None",
            "selector": dict(SELECTOR),
            "ports": [
                {
                    "name": "grpc",
                    "port": environment.scaler.port,
                    "targetPort": "grpc",
                    "protocol": "TCP",
                    "appProtocol": "grpc",
                },
                {
                    "name": "metrics",
                    "port": METRICS_PORT,
                    "targetPort": "metrics",
                    "protocol": "TCP",
                },
            ],
        },
    }


def disruption_budget(environment: Environment) -> dict[str, Any]:
    # Every shard is a singleton for its endpoints: drains take at most one shard at a time.
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(SCALER_NAME, environment.scaler.namespace),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(SELECTOR)}},
    }


def scaler_queries(environment: Environment) -> dict[str, str]:
    """Query templates that differ from the scaler's defaults: the environment's gateway's,
    then its `prometheus.queries`."""
    prometheus = environment.prometheus
    return gateway_queries(prometheus.gateway, prometheus.queries)


def queries_config_map(environment: Environment) -> dict[str, Any] | None:
    queries = scaler_queries(environment)
    if not queries:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(QUERIES_CONFIGMAP, environment.scaler.namespace),
        "data": {QUERIES_FILE: json.dumps(dict(sorted(queries.items())), indent=2) + "\n"},
    }


def _prometheus_peer(environment: Environment) -> tuple[dict[str, Any], int]:
    """NetworkPolicy peer and port of the environment's Prometheus."""
    url = urlsplit(str(environment.prometheus.url))
    port = url.port or (443 if url.scheme == "https" else 80)
    labels = (url.hostname or "").split(".")
    # <service>.<namespace>.svc[.cluster.local]: an in-cluster Service, allow its namespace only.
    if len(labels) >= 3 and labels[2] == "svc":
        peer: dict[str, Any] = {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": labels[1]}}
        }
    else:
        peer = {"ipBlock": {"cidr": "0.0.0.0/0"}}
    return peer, port


def network_policy(environment: Environment) -> dict[str, Any]:
    scaler = environment.scaler
    prometheus_peer, prometheus_port = _prometheus_peer(environment)

    def namespace(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(SCALER_NAME, scaler.namespace),
        "spec": {
            "podSelector": {"matchLabels": dict(SELECTOR)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [namespace(scaler.kedaNamespace)],
                    "ports": [{"protocol": "TCP", "port": scaler.port}],
                },
                {
                    "from": [namespace(environment.observability.monitoringNamespace)],
                    "ports": [{"protocol": "TCP", "port": METRICS_PORT}],
                },
            ],
            "egress": [
                {"to": [prometheus_peer], "ports": [{"protocol": "TCP", "port": prometheus_port}]},
                {
                    "to": [namespace("kube-system")],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
            ],
        },
    }


def render_platform(environment: Environment) -> list[Manifest]:
    namespace = environment.scaler.namespace
    bodies: list[dict[str, Any] | None] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {
                    "app.kubernetes.io/part-of": "knobless",
                    "app.kubernetes.io/managed-by": MANAGED_BY,
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _metadata(SCALER_NAME, namespace),
            "automountServiceAccountToken": False,
        },
        queries_config_map(environment),
        headless_service(environment),
        stateful_set(environment),
        disruption_budget(environment),
        network_policy(environment),
    ]
    return [Manifest(PLATFORM, body) for body in bodies if body is not None]
