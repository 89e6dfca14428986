"""The per-runtime table: right unit, right scaling, spec bounds win, initial stays inside."""

from __future__ import annotations

from compiler.context import Resources, RuntimeChoice, ServedContext
from compiler.models.endpoint import ServedModel
from plugins.autoscaling.defaults import PerReplica, per_replica, runtime_per_replica


def served(runtime: str, cpu: str = "1", gpus: int = 0) -> ServedContext:
    model = ServedModel.model_validate(
        {"name": "v1", "model": "models:/m/1", "compute": {"cpu": cpu, "memory": "1Gi"}}
    )
    return ServedContext(model, Resources(cpu, "1Gi", gpus), RuntimeChoice(runtime, "test"), 100)


def test_mlflow_scales_with_cpu_cores() -> None:
    assert runtime_per_replica(served("mlflow", "1")) == PerReplica(1, 2, 8)
    assert runtime_per_replica(served("mlflow", "4")) == PerReplica(4, 8, 32)
    # Half a core still runs a worker pool of two: never below the per-core figures.
    assert runtime_per_replica(served("mlflow", "500m")) == PerReplica(1, 2, 8)
    assert runtime_per_replica(served("mlflow", "1500m")) == PerReplica(2, 3, 12)


def test_triton_scales_with_gpus_vllm_and_custom_are_flat() -> None:
    assert runtime_per_replica(served("triton", "8", gpus=1)) == PerReplica(16, 32, 64)
    assert runtime_per_replica(served("triton", "8", gpus=2)) == PerReplica(32, 64, 128)
    assert runtime_per_replica(served("vllm", "96", gpus=8)) == PerReplica(32, 64, 256)
    assert runtime_per_replica(served("custom", "2")) == PerReplica(50, 200, 1000)


def test_runtimes_are_orders_of_magnitude_apart() -> None:
    mlflow = runtime_per_replica(served("mlflow", "1")).initial
    agent = runtime_per_replica(served("custom", "1")).initial
    assert agent / mlflow == 100


def test_unknown_runtime_gets_the_wide_fallback() -> None:
    assert runtime_per_replica(served("onnxruntime-plugin")) == PerReplica(1, 8, 1000)


def test_spec_bounds_win_and_initial_is_clamped_into_them() -> None:
    assert per_replica(served("vllm"), 8, 128) == PerReplica(8, 64, 128)
    assert per_replica(served("vllm"), 8, 16) == PerReplica(8, 16, 16)
    assert per_replica(served("custom"), 1, 10) == PerReplica(1, 10, 10)
    assert per_replica(served("mlflow"), 5, 6) == PerReplica(5, 5, 6)
    assert per_replica(served("mlflow"), None, None) == PerReplica(1, 2, 8)
