"""What a runtime contributes to a pod, and the pieces several runtimes share.

A runtime module (mlflow, vllm, triton, custom) turns one served version into a `RuntimePod`:
the model container's image, arguments, ports, probes and writable mounts, any init containers,
and its timings. The workload plugin adds what every pod gets (security, resources, the user's
env, the observability sidecar) so that runtimes stay small and pods stay uniform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compiler.models._base import parse_quantity_strict
from plugins.workload.gpus import GIB, gpu_type
from plugins.workload.security import RUN_AS_USER

if TYPE_CHECKING:
    from compiler.context import ServedContext
    from compiler.models.environment import Environment

HTTP_PORT_NAME = "http"
"""Named container port every runtime serves requests on (Service targetPort, NetworkPolicy)."""

MODELS_DIR = "/models"
"""Where init containers put a fetched model for runtimes that cannot read MLflow URIs."""


@dataclass(frozen=True)
class RuntimePod:
    """The runtime-specific part of a served version's pod."""

    image: str
    port: int
    """Container port serving requests (named `http`)."""
    args: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    extra_ports: tuple[dict[str, Any], ...] = ()
    env: tuple[dict[str, Any], ...] = ()
    """Environment the runtime needs; the user's `env` entries win on a name clash."""
    startup_probe: dict[str, Any] = field(default_factory=dict)
    readiness_probe: dict[str, Any] = field(default_factory=dict)
    liveness_probe: dict[str, Any] = field(default_factory=dict)
    mounts: tuple[dict[str, Any], ...] = ()
    volumes: tuple[dict[str, Any], ...] = ()
    init_containers: tuple[dict[str, Any], ...] = ()
    """Run before the model container (e.g. fetching the model); security is added later."""
    termination_grace_seconds: int = 60
    """Time in-flight requests get to finish after SIGTERM, preStop drain included."""
    drain_seconds: int = 10
    """preStop sleep: keeps serving while the endpoint is removed from Services and the gateway."""
    min_ready_seconds: int = 10
    metrics_port: int | None = None
    """Port of the runtime's own Prometheus metrics; None: the collector sidecar's exporter."""
    metrics_path: str = "/metrics"
    progress_deadline_seconds: int = 600
    """Deployment progressDeadlineSeconds: longer than the slowest healthy start of the runtime."""
    run_as_user: int | None = RUN_AS_USER
    """UID of the model container; None keeps the image's own (non-root) USER."""
    ephemeral_storage: str | None = None
    """ephemeral-storage request of the model container: the downloaded model plus scratch."""


def tmp_volume(size_limit: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A writable /tmp (volume, mount); runtimes also point HOME and caches here."""
    empty_dir: dict[str, Any] = {"sizeLimit": size_limit} if size_limit else {}
    return {"name": "tmp", "emptyDir": empty_dir}, {"name": "tmp", "mountPath": "/tmp"}


def models_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    """The emptyDir a fetched model lives in (no size limit: models run to hundreds of GB)."""
    return {"name": "models", "emptyDir": {}}, {"name": "models", "mountPath": MODELS_DIR}


def mlflow_env(environment: Environment) -> tuple[dict[str, Any], ...]:
    """How a container reaches the model registry: the URI from the environment and the token by
    reference (never a literal), plus a writable HOME for the MLflow client's caches."""
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": "/tmp"},
        {"name": "MLFLOW_TRACKING_URI", "value": environment.mlflow.trackingUri},
    ]
    credentials = environment.mlflow.credentials
    if credentials is not None:
        env.append(
            {
                "name": "MLFLOW_TRACKING_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": credentials.name, "key": credentials.key}},
            }
        )
    return tuple(env)


def identity_env() -> tuple[dict[str, Any], ...]:
    """A user name for UID 65532, which has no passwd entry in the runtime images: Python's
    getpass.getuser() reads LOGNAME and USER before the passwd database and fails without them
    (torch's compile caches and MLflow's client both ask for it)."""
    return ({"name": "USER", "value": "knobless"}, {"name": "LOGNAME", "value": "knobless"})


def fetch_model_container(environment: Environment, model_uri: str, script: str) -> dict[str, Any]:
    """An init container running `script` (POSIX sh, MODEL_URI in its env) in /models: it
    downloads the model from MLflow and lays it out the way the runtime wants.

    The working directory is /models and scripts use relative paths, so the rendered script runs
    as it is anywhere else too (the tests run it against a real MLflow server)."""
    _, tmp_mount = tmp_volume()
    _, models_mount = models_volume()
    env = [*mlflow_env(environment), *identity_env(), {"name": "MODEL_URI", "value": model_uri}]
    return {
        "name": "fetch-model",
        "image": environment.runtimes.mlflow,
        "command": ["/bin/sh", "-c"],
        "args": [script],
        "workingDir": MODELS_DIR,
        "env": env,
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        "volumeMounts": [tmp_mount, models_mount],
    }


UNKNOWN_GPU_MEMORY_GIB = 80
"""Per GPU when `gpu.type` is not given: the largest common data-centre GPU (H100, A100 80GB)."""


def model_files_gib(served: ServedContext, environment: Environment) -> int:
    """GiB of model files a pod downloads: `modelSize` when given, else what the pod can hold
    once loaded (weights fit in its GPU memory; a CPU model fits in its memory limit)."""
    resources = served.resources
    if served.spec.modelSize is not None:
        size = parse_quantity_strict(served.spec.modelSize)
    elif resources.gpu_count:
        kind = gpu_type(resources, environment)
        per_gpu = kind.memory_gib if kind else UNKNOWN_GPU_MEMORY_GIB
        return resources.gpu_count * per_gpu
    else:
        size = parse_quantity_strict(resources.memory)
    return max(1, math.ceil(size / GIB))


def ephemeral_storage(served: ServedContext, environment: Environment, scratch_gib: int) -> str:
    """The model container's ephemeral-storage request: model files plus the runtime's scratch
    (its /tmp). The scheduler then places a pod only on a node with that much disk free."""
    return f"{model_files_gib(served, environment) + scratch_gib}Gi"
