"""NVIDIA Triton Inference Server: onnx, TensorRT and TorchScript models with dynamic batching.

Triton reads a model repository, not an MLflow URI: an init container downloads the MLflow model
and lays it out as `/models/repository/<endpoint>/{config.pbtxt,1/model.<ext>}`. The config
turns dynamic batching on; inputs and outputs are completed by Triton from the model file
(onnx, TensorRT), so a TorchScript (`pytorch`) model must carry its I/O in the file's names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.runtimes.base import (
    HTTP_PORT_NAME,
    MODELS_DIR,
    RuntimePod,
    fetch_model_container,
    models_volume,
    tmp_volume,
)
from plugins.workload.probes import http_probe, startup_failures

if TYPE_CHECKING:
    from compiler.context import EndpointContext, Resources, ServedContext

HTTP_PORT = 8000
GRPC_PORT = 8001
METRICS_PORT = 8002
STARTUP_BUDGET_SECONDS = 600
MAX_BATCH_SIZE = 64
"""Fixed, not derived from scaling: a scaling change must not restart pods. Requests beyond a
batch wait for the next one, which the batcher forms within MAX_QUEUE_DELAY_US."""
MAX_QUEUE_DELAY_US = 2000
TERMINATION_GRACE_SECONDS = 120
DRAIN_SECONDS = 10

# flavor -> (Triton backend, file patterns in the MLflow model, file name Triton expects)
BACKENDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "onnx": ("onnxruntime", ("*.onnx",), "model.onnx"),
    "tensorrt": ("tensorrt", ("*.plan", "*.engine"), "model.plan"),
    "pytorch": ("pytorch", ("*.pt", "*.pth"), "model.pt"),
}


def default_per_replica(resources: Resources) -> tuple[int, int, int]:
    """(min, max, initial): batching wants several requests in flight; a few batches' worth at
    most, since more only queue inside Triton."""
    return 4, 4 * MAX_BATCH_SIZE, 32


def model_config(name: str, flavor: str, gpus: int) -> str:
    backend = BACKENDS[flavor][0]
    kind = "KIND_GPU" if gpus else "KIND_CPU"
    return (
        f'name: "{name}"\n'
        f'backend: "{backend}"\n'
        f"max_batch_size: {MAX_BATCH_SIZE}\n"
        f"dynamic_batching {{ max_queue_delay_microseconds: {MAX_QUEUE_DELAY_US} }}\n"
        f"instance_group [ {{ kind: {kind} count: 1 }} ]\n"
    )


def repository_script(name: str, flavor: str, gpus: int) -> str:
    """POSIX sh run by the init container (MODEL_URI in its env): fetch, then lay out."""
    _, patterns, target = BACKENDS[flavor]
    finds = " -o ".join(f"-name '{p}'" for p in patterns)
    model_dir = f"{MODELS_DIR}/repository/{name}"
    wanted = " or ".join(patterns)
    return (
        "set -eu\n"
        f'mlflow artifacts download --artifact-uri "$MODEL_URI" --dst-path {MODELS_DIR}/fetched\n'
        f"file=$(find {MODELS_DIR}/fetched -type f \\( {finds} \\) | sort | head -n 1)\n"
        f'[ -n "$file" ] || {{ echo "no {wanted} file in $MODEL_URI" >&2; exit 1; }}\n'
        f"mkdir -p {model_dir}/1\n"
        f'mv "$file" {model_dir}/1/{target}\n'
        f"rm -rf {MODELS_DIR}/fetched\n"
        f"cat > {model_dir}/config.pbtxt <<'PBTXT'\n"
        f"{model_config(name, flavor, gpus)}"
        "PBTXT\n"
    )


def build(served: ServedContext, endpoint: EndpointContext) -> RuntimePod:
    environment = endpoint.environment
    spec = served.spec
    assert spec.model is not None and spec.flavor in BACKENDS  # validation guarantees both
    gpus = served.resources.gpu_count
    tmp, tmp_mount = tmp_volume("1Gi")
    models, _ = models_volume()
    script = repository_script(endpoint.spec.name, spec.flavor, gpus)
    return RuntimePod(
        image=environment.runtimes.triton,
        port=HTTP_PORT,
        command=("tritonserver",),
        args=(
            f"--model-repository={MODELS_DIR}/repository",
            f"--http-port={HTTP_PORT}",
            f"--grpc-port={GRPC_PORT}",
            f"--metrics-port={METRICS_PORT}",
            # After the drain, in-flight inferences get the rest of the grace period.
            f"--exit-timeout-secs={TERMINATION_GRACE_SECONDS - DRAIN_SECONDS - 5}",
        ),
        extra_ports=(
            {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ),
        env=({"name": "HOME", "value": "/tmp"},),
        startup_probe=http_probe(
            "/v2/health/ready",
            HTTP_PORT_NAME,
            period=5,
            failures=startup_failures(STARTUP_BUDGET_SECONDS, 5),
        ),
        readiness_probe=http_probe("/v2/health/ready", HTTP_PORT_NAME, period=5, failures=2),
        liveness_probe=http_probe("/v2/health/live", HTTP_PORT_NAME, period=10, failures=3),
        mounts=(tmp_mount, {"name": "models", "mountPath": MODELS_DIR, "readOnly": True}),
        volumes=(tmp, models),
        init_containers=(fetch_model_container(environment, spec.model, script),),
        termination_grace_seconds=TERMINATION_GRACE_SECONDS,
        drain_seconds=DRAIN_SECONDS,
        min_ready_seconds=15,
        metrics_port=METRICS_PORT,
        progress_deadline_seconds=STARTUP_BUDGET_SECONDS + 600,
    )
