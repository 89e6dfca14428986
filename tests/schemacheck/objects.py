"""Valid objects of every built-in kind the compiler renders (fresh copies: tests mutate them)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

LABELS = {"app.kubernetes.io/name": "fraud-scorer", "app.kubernetes.io/managed-by": "knobless"}
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
POD_SPEC: dict[str, Any] = {
    "serviceAccountName": "fraud-scorer",
    "automountServiceAccountToken": False,
    "terminationGracePeriodSeconds": 60,
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "model",
            "image": "ghcr.io/mlflow/mlflow:2.17.0",
            "args": ["mlflow", "models", "serve", "-m", "models:/fraud/3", "-p", "8080"],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "env": [
                {"name": "WORKERS", "value": "4"},
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "fraud", "key": "token"}}},
            ],
            "resources": {
                "requests": {"cpu": "2", "memory": "4Gi"},
                "limits": {"cpu": 2, "memory": "4Gi", "nvidia.com/gpu": 1},
            },
            "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 5},
            "livenessProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 6},
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", "10"]}}},
            "securityContext": RESTRICTED,
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        },
        {
            "name": "metrics",
            "image": "ghcr.io/knobless/sidecar:1.0",
            "ports": [{"name": "metrics", "containerPort": 9090}],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
            "securityContext": RESTRICTED,
        },
    ],
    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
    "nodeSelector": {"kubernetes.io/arch": "amd64"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
}
META = {"name": "fraud-scorer", "namespace": "ml-fraud-scorer", "labels": LABELS}

_OBJECTS: dict[str, dict[str, Any]] = {
    "Namespace": {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "ml-fraud-scorer",
            "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
        },
    },
    "ServiceAccount": {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": META,
        "automountServiceAccountToken": False,
    },
    "ConfigMap": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": META,
        "data": {"config.yaml": "a: 1\n"},
    },
    "Service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": META,
        "spec": {
            "selector": LABELS,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    },
    "Deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": META,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": LABELS},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
            },
            "template": {"metadata": {"labels": LABELS}, "spec": POD_SPEC},
        },
    },
    "StatefulSet": {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": META,
        "spec": {
            "serviceName": "fraud-scorer",
            "selector": {"matchLabels": LABELS},
            "template": {"metadata": {"labels": LABELS}, "spec": POD_SPEC},
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "cache"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "10Gi"}},
                    },
                }
            ],
        },
    },
    "PodDisruptionBudget": {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": META,
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": LABELS}},
    },
    "NetworkPolicy": {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": META,
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "gateway"}
                            }
                        }
                    ],
                    "ports": [{"port": "http", "protocol": "TCP"}],
                }
            ],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                    "ports": [{"port": 53, "protocol": "UDP"}],
                }
            ],
        },
    },
}

KINDS = tuple(_OBJECTS)


def valid(kind: str) -> dict[str, Any]:
    """A fresh, valid object of `kind`."""
    return copy.deepcopy(_OBJECTS[kind])


_CRD_OBJECTS: dict[str, dict[str, Any]] = {
    kind: body
    for kind, body in json.loads((Path(__file__).parent / "crd_objects.json").read_text()).items()
    if not kind.startswith("_")
}
CRD_KINDS = tuple(_CRD_OBJECTS)


def valid_crd(kind: str) -> dict[str, Any]:
    """A fresh, valid object of a CRD kind knobless renders (see crd_objects.json)."""
    return copy.deepcopy(_CRD_OBJECTS[kind])
