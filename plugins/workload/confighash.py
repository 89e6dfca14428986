"""The pod template's config hash: a digest of exactly what can change the running model.

Kubernetes restarts pods when the pod template changes. Most model inputs are in the template
already; the collector's ConfigMap is not, so without this hash a sidecar config change would
never reach running pods. What is left out on purpose — traffic, scaling bounds, schedules,
owner, description — must never reach the template, so such changes restart nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compiler.context import EndpointContext, ServedContext

ANNOTATION = "knobless.dev/config-hash"


def hash_inputs(
    endpoint: EndpointContext,
    served: ServedContext,
    runtime_args: tuple[str, ...],
    sidecar_config: str,
) -> dict[str, Any]:
    """Everything that affects the running model, as plain data."""
    spec = served.spec
    resources = served.resources
    environment = endpoint.environment
    return {
        "runtime": served.runtime.name,
        "model": spec.model,
        "image": spec.image,
        "port": spec.port,
        "flavor": spec.flavor,
        "task": spec.task,
        "modelSize": spec.modelSize,
        "env": [variable.model_dump(mode="json", exclude_none=True) for variable in spec.env],
        "resources": {
            "cpu": resources.cpu,
            "memory": resources.memory,
            "gpuCount": resources.gpu_count,
            "gpuType": resources.gpu_type,
            "nodeSelector": [list(pair) for pair in resources.node_selector],
            "tolerations": list(resources.tolerations),
        },
        # Runtime arguments carry derived settings, e.g. vLLM's --max-num-seqs from perReplica.
        "runtimeArgs": list(runtime_args),
        "runtimeImages": environment.runtimes.model_dump(mode="json"),
        # externalUri is where CI reaches the registry: nothing a pod sees
        "mlflow": environment.mlflow.model_dump(mode="json", exclude={"externalUri"}),
        "gpuTypes": {k: v.model_dump(mode="json") for k, v in sorted(environment.gpuTypes.items())},
        "sidecarConfig": sidecar_config,
    }


def config_hash(inputs: dict[str, Any]) -> str:
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
