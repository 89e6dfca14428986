"""The TriggerAuthentication that gives KEDA the CA and client certificate for mTLS to the scaler.

KEDA's external scaler reads `caCert`, `tlsClientCert` and `tlsClientKey` from auth parameters
only (a TriggerAuthentication), never from trigger metadata, and expects PEM *contents*, which is
what `secretTargetRef` delivers. The Secret stays a reference: no key material lands in git.
"""

from __future__ import annotations

from typing import Any

from compiler.models.environment import Environment
from plugins.autoscaling.sharding import SCALER_NAME
from plugins.workload.labels import endpoint_labels

TRIGGER_AUTH_NAME = SCALER_NAME
"""One per endpoint namespace, shared by the namespace's ScaledObjects."""

# KEDA auth parameter -> key of the kubernetes.io/tls-style Secret (cert-manager's layout).
TLS_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("caCert", "ca.crt"),
    ("tlsClientCert", "tls.crt"),
    ("tlsClientKey", "tls.key"),
)


def render_trigger_authentication(endpoint: str, environment: Environment) -> dict[str, Any]:
    secret = environment.scaler.tls.secretName
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {
            "name": TRIGGER_AUTH_NAME,
            "namespace": environment.namespace_for(endpoint),
            "labels": endpoint_labels(endpoint),
        },
        "spec": {
            "secretTargetRef": [
                {"parameter": parameter, "name": secret, "key": key}
                for parameter, key in TLS_PARAMETERS
            ]
        },
    }
