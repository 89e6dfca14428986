"""vLLM's OpenAI-compatible server: LLMs on GPUs, tensor parallel over every GPU of the pod.

vLLM cannot read MLflow URIs, so an init container downloads the model into /models first. The
transformers flavor stores weights under `model/` and the tokenizer under
`components/tokenizer/` of the MLflow model, which is what the arguments point at.

A model logged without weights has no `model/`: MLflow 3.6 saves a PEFT fine-tune as its adapter
only (`peft/`, with `source_model_name` naming the base model on the Hugging Face Hub; see
mlflow/transformers/__init__.py, "Overriding save_pretrained to False for PEFT models"), and
`save_pretrained=False` keeps only that reference. Pods reach no Hub (egress is closed,
HF_HUB_OFFLINE=1), so the init step fails and says how to log a servable version.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from compiler.models._base import parse_quantity_strict
from plugins.runtimes.base import (
    HTTP_PORT_NAME,
    MODELS_DIR,
    RuntimePod,
    ephemeral_storage,
    fetch_model_container,
    identity_env,
    models_volume,
    tmp_volume,
)
from plugins.workload.probes import http_probe, startup_failures

if TYPE_CHECKING:
    from compiler.context import EndpointContext, Resources, ServedContext

PORT = 8000
STARTUP_PERIOD = 10
DEFAULT_MAX_NUM_SEQS = 256
"""vLLM's own default ceiling on sequences batched at once."""
SCRATCH_GIB = 20
"""vLLM's /tmp (sizeLimit 20Gi: compile, kernel and HF caches), on top of the model files."""

FETCH_SCRIPT = """set -eu
rm -rf fetched
mlflow artifacts download --artifact-uri "$MODEL_URI" --dst-path fetched
if [ ! -d fetched/model ]; then
  base=$(sed -n 's/^ *source_model_name: *//p' fetched/MLmodel 2>/dev/null | head -n 1)
  if [ -d fetched/peft ]; then
    echo "$MODEL_URI is a PEFT adapter (peft/) without the weights of its base model" \\
      "${base:-(unknown)}: MLflow saves PEFT fine-tunes as adapters only, and vLLM here has" \\
      "no Hub to fetch the base from. Merge the adapter (model.merge_and_unload()) and log" \\
      "the merged model with mlflow.transformers.log_model, then serve that version." >&2
  else
    echo "$MODEL_URI has no weights (no model/ folder): it was logged with" \\
      "save_pretrained=False and names only ${base:-its Hub repository}. Log it again with" \\
      "save_pretrained=True (the default), then serve that version." >&2
  fi
  exit 1
fi
[ -d fetched/components/tokenizer ] || {
  echo "$MODEL_URI has no tokenizer (components/tokenizer/): log the pipeline with its" \\
    "tokenizer (mlflow.transformers.log_model with a pipeline or {model, tokenizer})" >&2
  exit 1
}
"""
"""POSIX sh of the init step, run in /models (see fetch_model_container)."""


def startup_budget_seconds(resources: Resources) -> int:
    """Loading weights and capturing CUDA graphs: GPUs per pod track model size (a 70B model on
    8 GPUs loads for many minutes), so ten minutes plus five per GPU."""
    return 600 + 300 * max(1, resources.gpu_count)


def shm_size(resources: Resources) -> str:
    """Memory-backed /dev/shm for NCCL between tensor-parallel workers: a quarter of the pod's
    memory, at most 16Gi (it counts against the memory limit)."""
    quarter = parse_quantity_strict(resources.memory) / 4 / Decimal(2**30)
    return f"{max(1, min(16, int(quarter)))}Gi"


def default_per_replica(resources: Resources) -> tuple[int, int, int]:
    """(min, max, initial): continuous batching takes many sequences; the ceiling is vLLM's own
    default --max-num-seqs."""
    return 4, DEFAULT_MAX_NUM_SEQS, 32


def build(served: ServedContext, endpoint: EndpointContext) -> RuntimePod:
    from plugins.runtimes import per_replica_range  # the package imports this module

    environment = endpoint.environment
    assert served.spec.model is not None
    resources = served.resources
    gpus = max(1, resources.gpu_count)
    _, max_seqs, _ = per_replica_range(endpoint.spec, "vllm", resources)
    tmp, tmp_mount = tmp_volume(f"{SCRATCH_GIB}Gi")  # torch.compile, Triton kernel and HF caches
    models, _ = models_volume()
    shm = {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": shm_size(resources)}}
    fetched = f"{MODELS_DIR}/fetched"
    budget = startup_budget_seconds(resources)
    return RuntimePod(
        image=environment.runtimes.vllm,
        port=PORT,
        command=("vllm", "serve"),
        args=(
            f"{fetched}/model",
            "--tokenizer",
            f"{fetched}/components/tokenizer",
            "--served-model-name",
            endpoint.spec.name,
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
            "--tensor-parallel-size",
            str(gpus),
            "--max-num-seqs",
            str(max_seqs),
        ),
        env=(
            {"name": "HOME", "value": "/tmp"},
            *identity_env(),
            {"name": "TORCHINDUCTOR_CACHE_DIR", "value": "/tmp/torchinductor"},
            {"name": "HF_HOME", "value": "/tmp/huggingface"},
            # Egress is denied by default: never try the Hub or usage reporting.
            {"name": "HF_HUB_OFFLINE", "value": "1"},
            {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
            {"name": "DO_NOT_TRACK", "value": "1"},
        ),
        startup_probe=http_probe(
            "/health",
            HTTP_PORT_NAME,
            period=STARTUP_PERIOD,
            failures=startup_failures(budget, STARTUP_PERIOD),
        ),
        readiness_probe=http_probe("/health", HTTP_PORT_NAME, period=5, failures=3),
        liveness_probe=http_probe("/health", HTTP_PORT_NAME, period=15, failures=4, timeout=10),
        mounts=(
            tmp_mount,
            {"name": "models", "mountPath": MODELS_DIR, "readOnly": True},
            {"name": "dshm", "mountPath": "/dev/shm"},
        ),
        volumes=(tmp, models, shm),
        init_containers=(fetch_model_container(environment, served.spec.model, FETCH_SCRIPT),),
        termination_grace_seconds=600,  # a long generation gets up to ten minutes to finish
        drain_seconds=15,
        min_ready_seconds=30,
        metrics_port=PORT,
        progress_deadline_seconds=budget + 600,
        ephemeral_storage=ephemeral_storage(served, environment, SCRATCH_GIB),
    )
