"""Run a container of a rendered Deployment as a real process: its command and args as rendered,
its plain env values, with what only a cluster has swapped for local stand-ins (the registry's
URL, HOME and TMPDIR in a scratch folder, the working directory for /models)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.mlflow_support import MlflowRegistry, mlflow_bin

PROJECT = Path(__file__).resolve().parents[2]


def rendered_deployment(environment: str, endpoint: str, served: str) -> dict[str, Any]:
    path = PROJECT / "rendered" / environment / endpoint / f"deployment-{endpoint}-{served}.yaml"
    return yaml.safe_load(path.read_text())


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def container(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    spec = pod_spec(deployment)
    return next(
        c for c in [*spec.get("initContainers", []), *spec["containers"]] if c["name"] == name
    )


def argv(container: dict[str, Any]) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def process_env(
    container: dict[str, Any], registry: MlflowRegistry, scratch: Path, **overrides: str
) -> dict[str, str]:
    """The container's plain env values (secret references have no value here), the registry on
    loopback instead of the cluster's, and the MLflow image's tools first on PATH."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = dict(registry.env)
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    env.update(
        {
            "PATH": f"{mlflow_bin().parent}:/usr/bin:/bin",
            "MLFLOW_TRACKING_URI": registry.url,
            "HOME": str(scratch),
            "TMPDIR": str(scratch),
            **overrides,
        }
    )
    if "MLFLOW_ENV_ROOT" in env:
        env["MLFLOW_ENV_ROOT"] = str(scratch / "mlflow-env")
    return env


def run_init(
    container: dict[str, Any], registry: MlflowRegistry, models: Path, model_uri: str
) -> subprocess.CompletedProcess[str]:
    """The init container's script in `models` (its workingDir, /models in a pod)."""
    assert container["workingDir"] == "/models"
    models.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        argv(container),
        cwd=models,
        env=process_env(container, registry, models.parent / "home", MODEL_URI=model_uri),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def artifact_folder(registry: MlflowRegistry, name: str, version: int) -> Path:
    """Where the registry's artifact store keeps a registered model version's files."""
    import httpx

    found = httpx.get(
        f"{registry.url}/api/2.0/mlflow/model-versions/get",
        params={"name": name, "version": str(version)},
    ).raise_for_status()
    source = found.json()["model_version"]["source"]
    return next((registry.root / "artifacts").glob(f"*/models/{source.split('/')[1]}/artifacts"))


def mlflow_python(code: str, *args: str) -> str:
    """Run `code` with the MLflow venv's Python (onnx, onnxruntime); its stdout."""
    done = subprocess.run(
        [str(mlflow_bin("python")), "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
