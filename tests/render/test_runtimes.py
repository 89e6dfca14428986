"""Runtime selection (with the reason a user reads), validation of impossible combinations, and
the per-replica defaults the autoscaling plugin takes from each runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler import RuntimeChoice, hookimpl
from compiler.context import Resources
from compiler.errors import InputError
from compiler.models.endpoint import EndpointSpec
from compiler.pipeline import resolve_endpoint
from compiler.plugins import build_plugin_manager
from plugins.runtimes import default_per_replica, per_replica_range

from .helpers import add_environment, by_kind, render, resolve

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environment", "endpoint", "runtime", "reason"),
    [
        (
            "prod",
            "churn-classifier",
            "mlflow",
            "flavor sklearn is a classic ML flavor: MLflow pyfunc server, workers sized from "
            "the CPU request",
        ),
        (
            "prod",
            "support-llm",
            "vllm",
            "task llm/v1/chat is an LLM task and workload gpu-8x-large has 8 GPUs: vLLM, "
            "tensor parallel over 8 GPUs",
        ),
        (
            "prod",
            "doc-embedder",
            "triton",
            "flavor onnx: Triton Inference Server with dynamic batching",
        ),
        (
            "prod",
            "triage-agent",
            "custom",
            "`image` is set: the team's own container, serving on port 8080",
        ),
    ],
)
def test_each_example_gets_its_runtime_and_reason_on_the_deployment(
    environment: str, endpoint: str, runtime: str, reason: str
) -> None:
    context = resolve(PROJECT, environment, endpoint)
    assert context.served[0].runtime == RuntimeChoice(runtime, reason)
    (deployment,) = by_kind(render(context), "Deployment")
    assert deployment["metadata"]["annotations"] == {
        "knobless.dev/runtime": runtime,
        "knobless.dev/runtime-reason": reason,
    }
    assert "knobless.dev/runtime" not in deployment["spec"]["template"]["metadata"]["annotations"]


def _write(root: Path, text: str) -> None:
    (root / "endpoints" / "probe.yaml").write_text(text)


SERVED = """\
name: probe
owner: team@example.com
served:
  - name: v1
{fields}
scaling:
  concurrency: {{min: 0, max: 10}}
"""


def _choice(repo: Path, fields: str) -> RuntimeChoice:
    _write(repo, SERVED.format(fields=fields))
    return resolve_endpoint(repo, "prod", "probe").served[0].runtime


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            "    model: models:/m/1\n    compute: {cpu: '1', memory: 1Gi}",
            RuntimeChoice(
                "mlflow",
                "no flavor or task given: the MLflow pyfunc server serves any MLflow model",
            ),
        ),
        (
            "    model: models:/m/1\n    task: llm/v1/chat\n    compute: {cpu: '4', memory: 8Gi}",
            RuntimeChoice(
                "mlflow",
                "task llm/v1/chat is an LLM task but its compute has no GPU; vLLM needs a GPU, "
                "so the MLflow pyfunc server serves it on CPU",
            ),
        ),
        (
            "    model: models:/m/1\n    flavor: transformers\n    compute: {workload: gpu-small}",
            RuntimeChoice(
                "vllm",
                "flavor transformers and workload gpu-small has 1 GPU: vLLM, tensor parallel "
                "over 1 GPU",
            ),
        ),
        (
            "    model: models:/m/1\n    flavor: pytorch\n    compute: {workload: gpu-small}",
            RuntimeChoice(
                "mlflow",
                "flavor pytorch on GPU: MLflow pyfunc server (MLflow pickles the module, which "
                "Triton's PyTorch backend cannot load)",
            ),
        ),
        (
            "    model: models:/m/1\n    flavor: pytorch\n    compute: {cpu: '2', memory: 2Gi}",
            RuntimeChoice(
                "mlflow",
                "flavor pytorch on CPU: MLflow pyfunc server (MLflow pickles the module, which "
                "Triton's PyTorch backend cannot load)",
            ),
        ),
        (
            "    model: models:/m/1\n    flavor: onnx\n    runtime: mlflow\n"
            "    compute: {cpu: '1', memory: 1Gi}",
            RuntimeChoice("mlflow", "`runtime: mlflow` is set in the spec"),
        ),
    ],
)
def test_selection_from_flavor_task_and_compute(repo: Path, fields: str, expected: Any) -> None:
    assert _choice(repo, fields) == expected


class ClaimsOnnx:
    """A third-party plugin claiming onnx models before the built-in selection."""

    @hookimpl
    def knobless_select_runtime(self, served: Any, spec: Any, environment: Any) -> Any:
        if served.flavor == "onnx":
            return RuntimeChoice("onnx-cpu", "claimed by the onnx-cpu plugin")
        return None


def test_a_plugin_claims_a_model_before_the_builtin_selection() -> None:
    manager = build_plugin_manager(entry_points=False, extra=[("acme.onnx", ClaimsOnnx())])
    spec = EndpointSpec.model_validate(
        {
            "name": "e",
            "owner": "o",
            "served": [
                {
                    "name": "a",
                    "model": "models:/a/1",
                    "flavor": "onnx",
                    "compute": {"cpu": "1", "memory": "1Gi"},
                },
                {
                    "name": "b",
                    "model": "models:/b/1",
                    "flavor": "sklearn",
                    "compute": {"cpu": "1", "memory": "1Gi"},
                },
            ],
            "traffic": {"a": 50, "b": 50},
            "scaling": {"concurrency": {"min": 0, "max": 1}},
        }
    )
    environment = resolve(PROJECT, "prod", "churn-classifier").environment
    choices = [
        manager.hook.knobless_select_runtime(served=s, spec=spec, environment=environment)
        for s in spec.served
    ]
    assert choices[0] == RuntimeChoice("onnx-cpu", "claimed by the onnx-cpu plugin")
    assert choices[1].name == "mlflow"


def test_a_plugin_runtime_gets_service_and_route_but_no_builtin_deployment(repo: Path) -> None:
    _write(
        repo,
        SERVED.format(
            fields="    model: models:/m/1\n    flavor: onnx\n    compute: {cpu: '1', memory: 1Gi}"
        ),
    )
    context = resolve_endpoint(repo, "prod", "probe")
    served = context.served[0]
    from dataclasses import replace

    claimed = replace(context, served=(replace(served, runtime=RuntimeChoice("onnx-cpu", "x")),))
    manifests = render(claimed)
    assert by_kind(manifests, "Deployment") == []
    assert [s["metadata"]["name"] for s in by_kind(manifests, "Service")] == ["probe-v1"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            "    model: models:/m/1\n    runtime: vllm\n    compute: {cpu: '4', memory: 8Gi}",
            "endpoints/probe.yaml:6:14: error: served[0].runtime: vllm needs a GPU, and this "
            "version's compute has none; give `compute` a GPU (e.g. a GPU workload) or leave "
            "`runtime` out to serve on CPU with mlflow",
        ),
        (
            "    model: models:/m/1\n    runtime: vllm\n"
            "    compute: {cpu: '4', memory: 8Gi, gpu: {count: 3}}",
            "endpoints/probe.yaml:7:14: error: served[0].compute: vllm runs tensor parallel over "
            "all 3 GPUs of a pod, which must be 1, 2, 4 or 8 (a node has at most 8 and the "
            "model's attention heads must split evenly); pick a workload with one of those GPU "
            "counts",
        ),
        (
            "    model: models:/m/1\n    runtime: custom\n    compute: {cpu: '1', memory: 1Gi}",
            "endpoints/probe.yaml:6:14: error: served[0].runtime: custom runs the team's own "
            "container and needs `image` and `port`; set them, or leave `runtime` out to serve "
            "the `model` with a built-in runtime",
        ),
        (
            "    image: r.example.com/x:1\n    port: 8080\n    runtime: triton\n"
            "    compute: {cpu: '1', memory: 1Gi}",
            "endpoints/probe.yaml:7:14: error: served[0].runtime: triton serves an MLflow "
            "`model`, but this version sets `image`; leave `runtime` out (or use `runtime: "
            "custom`) to run the image, or replace `image` and `port` with `model`",
        ),
        (
            "    model: models:/m/1\n    runtime: triton\n    flavor: sklearn\n"
            "    compute: {cpu: '1', memory: 1Gi}",
            "endpoints/probe.yaml:6:14: error: served[0].runtime: triton needs a model it can "
            "load (flavor onnx or tensorrt) to build its model repository, got flavor "
            "sklearn; set `flavor`, or leave `runtime` out",
        ),
        (
            "    model: models:/m/1\n    runtime: vllm\n    flavor: xgboost\n"
            "    compute: {workload: gpu-small}",
            "endpoints/probe.yaml:6:14: error: served[0].runtime: vllm serves transformers "
            "language models, not flavor xgboost; leave `runtime` out to get the runtime that "
            "serves it",
        ),
        (
            "    model: models:/m/1\n    runtime: triton\n    flavor: pytorch\n"
            "    compute: {workload: gpu-small}",
            "endpoints/probe.yaml:7:13: error: served[0].flavor: triton cannot serve MLflow "
            "pytorch models: MLflow pickles the module (torch.save), which Triton's PyTorch "
            "backend (libtorch) cannot load, and that backend needs inputs and outputs in "
            "config.pbtxt; leave `runtime` out to serve it with mlflow, or export it to ONNX and "
            "log it with flavor onnx",
        ),
        (
            "    model: s3://bucket/models/m\n    flavor: sklearn\n"
            "    compute: {cpu: '1', memory: 1Gi}",
            "endpoints/probe.yaml:5:12: error: served[0].model: s3:// is read straight from the "
            "artifact store, which needs store credentials and egress knobless does not render; "
            "register the model and use models:/<name>/<version> (or runs:/<run-id>/<path>), "
            "which pods fetch through the MLflow server's artifact proxy",
        ),
        (
            "    model: models:/m/1\n    flavor: onnx\n"
            "    compute: {cpu: '4', memory: 8Gi, gpu: {count: 1, type: nvidia-b300}}",
            "endpoints/probe.yaml:7:14: error: served[0].compute: GPU type nvidia-b300 is not "
            "one knobless can place (known: nvidia-a100, nvidia-a100-80gb, nvidia-a10g, "
            "nvidia-h100, nvidia-h200, nvidia-l4, nvidia-l40s, nvidia-t4); add it to the "
            "environment's `gpuTypes` with the `nvidia.com/gpu.product` values of its nodes, or "
            "use one of the known types",
        ),
        (
            "    model: models:/m/1\n    flavor: tensorrt\n    compute: {cpu: '1', memory: 1Gi}",
            "endpoints/probe.yaml:6:13: error: served[0].flavor: tensorrt engines run only on "
            "NVIDIA GPUs, and this version's compute has none; give `compute` a GPU (e.g. a GPU "
            "workload)",
        ),
    ],
)
def test_impossible_combinations_are_errors_at_their_line(
    repo: Path, fields: str, message: str
) -> None:
    _write(repo, SERVED.format(fields=fields))
    with pytest.raises(InputError) as raised:
        resolve_endpoint(repo, "prod", "probe")
    assert [d.format() for d in raised.value.diagnostics] == [message]


def test_payload_sampling_is_refused_where_no_runtime_emits_payloads(repo: Path) -> None:
    text = SERVED.format(fields="    model: models:/m/1\n    compute: {cpu: '1', memory: 1Gi}")
    _write(repo, text + "logging:\n  payloads: {sampleRate: 0.1}\n")
    with pytest.raises(InputError) as raised:
        resolve_endpoint(repo, "prod", "probe")
    assert [d.format() for d in raised.value.diagnostics] == [
        "endpoints/probe.yaml:10:26: error: logging.payloads.sampleRate: nothing would capture "
        "payloads: no request/response records come from mlflow (the sidecar samples OTLP log "
        "records with the attribute knobless.payload=true, which only the team's own image, "
        "`runtime: custom`, can send); remove `logging.payloads`, or serve an image that emits "
        "them"
    ]


def test_image_and_model_together_is_rejected(repo: Path) -> None:
    _write(
        repo,
        SERVED.format(
            fields="    model: models:/m/1\n    image: r.example.com/x:1\n    port: 80\n"
            "    compute: {cpu: '1', memory: 1Gi}"
        ),
    )
    with pytest.raises(InputError) as raised:
        resolve_endpoint(repo, "prod", "probe")
    assert any("set `model` or `image`, not both" in d.message for d in raised.value.diagnostics)


CPU4 = Resources(cpu="4", memory="8Gi")
GPU8 = Resources(cpu="96", memory="1000Gi", gpu_count=8)


def test_default_per_replica_per_runtime() -> None:
    assert default_per_replica("mlflow", CPU4) == (1, 32, 8)
    assert default_per_replica("mlflow", Resources(cpu="500m", memory="1Gi")) == (1, 8, 2)
    assert default_per_replica("vllm", GPU8) == (4, 256, 32)
    assert default_per_replica("triton", GPU8) == (4, 256, 32)
    assert default_per_replica("custom", CPU4) == (1, 1000, 10)
    assert default_per_replica("someone-elses", CPU4) == (1, 100, 10)


def test_per_replica_range_takes_the_spec_bounds() -> None:
    support = resolve(PROJECT, "prod", "support-llm")
    assert per_replica_range(support.spec, "vllm", GPU8) == (8, 128, 32)
    churn = resolve(PROJECT, "prod", "churn-classifier")
    assert per_replica_range(churn.spec, "mlflow", CPU4) == (1, 32, 8)


def test_vllm_arguments_follow_gpus_and_the_per_replica_ceiling() -> None:
    (deployment,) = by_kind(render(resolve(PROJECT, "prod", "support-llm")), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    assert args[args.index("--tensor-parallel-size") + 1] == "8"
    assert args[args.index("--max-num-seqs") + 1] == "128"
    shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "16Gi"}
    assert pod["terminationGracePeriodSeconds"] == 600
    startup = pod["containers"][0]["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 600 + 300 * 8
    assert deployment["spec"]["progressDeadlineSeconds"] > 600 + 300 * 8
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]


def test_mlflow_workers_follow_the_cpu_request() -> None:
    for environment, cpu in (("prod", "8"), ("dev", "2")):  # cpu-large differs per environment
        context = resolve(PROJECT, environment, "feed-ranker")
        deployment = by_kind(render(context), "Deployment")[0]
        args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[args.index("--workers") + 1] == cpu
        model = deployment["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "MODEL_URI", "value": "models:/feed-ranker/12"} in model["env"]


def test_triton_repository_is_prepared_by_an_init_container() -> None:
    (deployment,) = by_kind(render(resolve(PROJECT, "prod", "doc-embedder")), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    fetch = next(c for c in pod["initContainers"] if c["name"] == "fetch-model")
    script = fetch["args"][0]
    assert fetch["workingDir"] == "/models"
    assert "mlflow artifacts download" in script
    assert 'mv "$folder" repository/doc-embedder/1/model.onnx' in script
    assert "dynamic_batching { max_queue_delay_microseconds: 2000 }" in script
    assert "instance_group [ { kind: KIND_GPU count: 1 } ]" in script
    model = pod["containers"][0]
    assert model["args"][0] == "--model-repository=/models/repository"
    # traces over OTLP/HTTP to the pod's collector sidecar
    assert model["args"][-5:] == [
        "--trace-config=mode=opentelemetry",
        "--trace-config=opentelemetry,url=http://127.0.0.1:4318/v1/traces",
        "--trace-config=opentelemetry,resource=service.name=doc-embedder",
        "--trace-config=rate=1000",
        "--trace-config=level=TIMESTAMPS",
    ]
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in model["volumeMounts"]


def test_vllm_gets_a_user_name_and_a_compile_cache_for_uid_65532() -> None:
    (deployment,) = by_kind(render(resolve(PROJECT, "prod", "support-llm")), "Deployment")
    model = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in model["env"]}
    assert (env["USER"], env["LOGNAME"]) == ("knobless", "knobless")
    assert env["TORCHINDUCTOR_CACHE_DIR"] == "/tmp/torchinductor"


@pytest.mark.parametrize(
    ("environment", "endpoint", "storage"),
    [
        ("prod", "support-llm", "160Gi"),  # modelSize 140Gi + vLLM's 20Gi /tmp
        ("prod", "doc-embedder", "25Gi"),  # one L4 (24Gi) bounds the weights + Triton's 1Gi
        ("dev", "doc-embedder", "17Gi"),  # one T4 (16Gi) in dev
        ("prod", "fraud-scorer", "9Gi"),  # a CPU model fits in its 8Gi of memory + 1Gi /tmp
    ],
)
def test_ephemeral_storage_is_requested_for_the_model_files(
    environment: str, endpoint: str, storage: str
) -> None:
    deployment = by_kind(render(resolve(PROJECT, environment, endpoint)), "Deployment")[0]
    resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["ephemeral-storage"] == storage
    assert "ephemeral-storage" not in resources["limits"]


def test_the_environment_maps_its_own_gpu_labels(repo: Path) -> None:
    add_environment(
        repo,
        "gke",
        "prod",
        "{ gpuTypes: { 'nvidia-l4': { products: ['nvidia-l4'], memory: '24Gi',"
        " label: 'cloud.google.com/gke-accelerator' } } }",
    )
    (deployment,) = by_kind(render(resolve(repo, "gke", "doc-embedder")), "Deployment")
    terms = deployment["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms == [
        {
            "matchExpressions": [
                {
                    "key": "cloud.google.com/gke-accelerator",
                    "operator": "In",
                    "values": ["nvidia-l4"],
                }
            ]
        }
    ]


def test_the_collector_sidecar_has_no_readiness_probe() -> None:
    for endpoint in ("fraud-scorer", "support-llm"):
        (deployment,) = by_kind(render(resolve(PROJECT, "prod", endpoint)), "Deployment")
        (sidecar,) = [
            c
            for c in deployment["spec"]["template"]["spec"]["initContainers"]
            if c["name"] == "otel-collector"
        ]
        assert "readinessProbe" not in sidecar
        assert sidecar["startupProbe"]["httpGet"] == {"path": "/", "port": "otel-health"}
        assert sidecar["livenessProbe"]["httpGet"] == {"path": "/", "port": "otel-health"}
