"""NVIDIA Triton Inference Server: onnx and TensorRT models with dynamic batching.

Triton reads a model repository, not an MLflow URI: an init container downloads the MLflow model
and lays it out as `/models/repository/<endpoint>/{config.pbtxt,1/...}`. The config turns dynamic
batching on; inputs and outputs are completed by Triton from the model file (onnx, TensorRT).

ONNX: the whole MLflow model folder becomes `1/model.onnx/`, a directory the onnxruntime backend
opens as `<dir>/model.onnx` (onnxruntime_backend src/onnxruntime.cc, ModelState::LoadModel),
from a path, so external data files beside the graph (MLflow's default) resolve. The init step
checks every one is there first (plugins/runtimes/onnx_check.py).

PyTorch is refused (validation): MLflow's pytorch flavor pickles the module (`torch.save`),
which libtorch cannot load, and Triton's PyTorch backend needs inputs and outputs in
config.pbtxt that compile cannot learn offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.observability import OTLP_HTTP
from plugins.runtimes import onnx_check
from plugins.runtimes.base import (
    HTTP_PORT_NAME,
    MODELS_DIR,
    RuntimePod,
    ephemeral_storage,
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
}
TRACE_RATE = 1000
"""Triton's default sampling: every 1000th request is traced."""
SCRATCH_GIB = 1
"""Triton's /tmp (sizeLimit 1Gi), on top of the model files."""


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


def _layout_onnx(model_dir: str) -> str:
    """Keep the graph's folder whole (external data stays beside model.onnx), check it, move it."""
    return (
        "file=$(find fetched -type f -name model.onnx | sort | head -n 1)\n"
        "[ -n \"$file\" ] || file=$(find fetched -type f -name '*.onnx' | sort | head -n 1)\n"
        '[ -n "$file" ] || { echo "no *.onnx file in $MODEL_URI" >&2; exit 1; }\n'
        'folder=$(dirname "$file")\n'
        '[ "$file" = "$folder/model.onnx" ] || mv "$file" "$folder/model.onnx"\n'
        f"python3 -S - \"$folder/model.onnx\" <<'PY'\n{onnx_check.SCRIPT.strip()}\nPY\n"
        f"mkdir -p {model_dir}/1\n"
        f'mv "$folder" {model_dir}/1/model.onnx\n'
    )


def _layout_single_file(model_dir: str, flavor: str) -> str:
    _, patterns, target = BACKENDS[flavor]
    finds = " -o ".join(f"-name '{p}'" for p in patterns)
    wanted = " or ".join(patterns)
    return (
        f"file=$(find fetched -type f \\( {finds} \\) | sort | head -n 1)\n"
        f'[ -n "$file" ] || {{ echo "no {wanted} file in $MODEL_URI" >&2; exit 1; }}\n'
        f"mkdir -p {model_dir}/1\n"
        f'mv "$file" {model_dir}/1/{target}\n'
    )


def repository_script(name: str, flavor: str, gpus: int) -> str:
    """POSIX sh run by the init container in /models (MODEL_URI in its env): fetch, lay out.

    Paths are relative to the working directory, so the same script runs outside a pod."""
    model_dir = f"repository/{name}"
    layout = _layout_onnx(model_dir) if flavor == "onnx" else _layout_single_file(model_dir, flavor)
    return (
        "set -eu\n"
        "rm -rf fetched repository\n"  # a restarted init step starts over
        'mlflow artifacts download --artifact-uri "$MODEL_URI" --dst-path fetched\n'
        f"{layout}"
        "rm -rf fetched\n"
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
            # Request traces over OTLP/HTTP to the pod's collector (Triton ignores OTEL_* env;
            # docs/user_guide/trace.md): one in TRACE_RATE requests, timestamps only.
            "--trace-config=mode=opentelemetry",
            f"--trace-config=opentelemetry,url=http://{OTLP_HTTP}/v1/traces",
            f"--trace-config=opentelemetry,resource=service.name={endpoint.spec.name}",
            f"--trace-config=rate={TRACE_RATE}",
            "--trace-config=level=TIMESTAMPS",
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
        ephemeral_storage=ephemeral_storage(served, environment, SCRATCH_GIB),
    )
