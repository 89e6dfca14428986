"""Would a built model image serve? The closest this machine gets without a container engine: a
real scikit-learn model in a real `mlflow server`, `knobless images resolve` and `images build
--dockerfile-only` (MLflow's own generator), then the generated Dockerfile's install steps
executed into a fresh virtualenv against the same package index (tests/realparts/
dockerfile_steps.py says what differs from a real build), then the rendered model container's
command and args run from that virtualenv: /ping, then /invocations answering what the model
answers when MLflow loads it directly.

Beside it the reason for the runtime's pins: resolving `pip install mlflow==3.6.0` alone (what
the generated Dockerfile did before) picks starlette >= 1.0, which MLflow 3.6's scoring app
cannot import under.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from compiler.cli import main
from compiler.images.lock import load_lock
from compiler.images.server import SERVER_REQUIREMENTS
from tests.mlflow_support import (
    LoggedModel,
    MlflowRegistry,
    free_port,
    mlflow_bin,
    stop,
    wait_http,
)

from .containers import argv, process_env
from .dockerfile_steps import Built, build_venv, installed
from .test_images import _repo

IRIS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


@pytest.fixture(scope="module")
def registry(images_registry: MlflowRegistry) -> MlflowRegistry:
    return images_registry


@pytest.fixture(scope="module")
def churn(registry: MlflowRegistry) -> LoggedModel:
    return LoggedModel("churn", 1, "models:/churn/1", "")  # logged by images_registry


@pytest.fixture(scope="module")
def image(
    registry: MlflowRegistry, churn: LoggedModel, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Built]:
    """The example repository against the registry: resolved, compiled, its churn image's
    Dockerfile generated and its install steps executed into a virtualenv."""
    scratch = tmp_path_factory.mktemp("image")
    repo = _repo(scratch / "repo", registry.url)
    assert main(["images", "resolve", "--root", str(repo)]) == 0
    assert main(["compile", "--no-cache", "--root", str(repo)]) == 0
    contexts = scratch / "contexts"
    assert (
        main(
            [
                *("images", "build", "--dockerfile-only", "--mlflow", str(mlflow_bin())),
                *("--output", str(contexts), "--root", str(repo)),
            ]
        )
        == 0
    )
    tag = load_lock(repo).environments["prod"].models[churn.uri].image.rsplit(":", 1)[1]
    return repo, build_venv(contexts / tag, scratch / "venv", log=scratch / "build.log")


def test_the_generated_build_installs_the_runtimes_pins(image: tuple[Path, Built]) -> None:
    _, built = image
    assert built.skipped == [
        "apt-get -y update && apt-get install -y --no-install-recommends nginx",
        "rm -rf /var/lib/apt/lists/*",
    ]
    assert built.ran[0] == "pip install mlflow==3.6.0"  # MLflow's generator, unpinned
    pins = dict(p.split("==") for p in SERVER_REQUIREMENTS["3.6"])
    assert installed(built, *pins) == pins  # the model's requirements step brought them back
    assert installed(built, "mlflow", "scikit-learn") == {
        "mlflow": "3.6.0",
        "scikit-learn": "1.9.1",
    }


def _model_container(repo: Path) -> dict[str, object]:
    path = repo / "rendered" / "prod" / "churn" / "deployment-churn-v1.yaml"
    pod = yaml.safe_load(path.read_text())["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "model")


def _direct_predictions(registry: MlflowRegistry, uri: str) -> object:
    """What the model answers loaded by MLflow itself (the tests' MLflow environment)."""
    code = (
        "import json, sys, mlflow, numpy as np;"
        "m = mlflow.pyfunc.load_model(sys.argv[1]);"
        "print(json.dumps(np.asarray(m.predict(np.array(json.loads(sys.argv[2])))).tolist()))"
    )
    done = subprocess.run(
        [str(mlflow_bin("python")), "-c", code, uri, json.dumps(IRIS)],
        env={**registry.env, "MLFLOW_TRACKING_URI": registry.url},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_rendered_command_serves_from_the_built_environment(
    image: tuple[Path, Built], registry: MlflowRegistry, churn: LoggedModel, tmp_path: Path
) -> None:
    repo, built = image
    lock = load_lock(repo)
    assert _model_container(repo)["image"] == lock.environments["prod"].models[churn.uri].image
    command, env, port = _rendered_server(repo, built, registry, tmp_path / "tmp")
    assert env["MODEL_URI"] == churn.uri
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/ping", timeout_s=180, process=server)
        answer = httpx.post(f"{url}/invocations", json={"inputs": IRIS}, timeout=60)
    finally:
        stop(server)
    text = log.read_text(errors="replace")
    assert answer.status_code == 200, text[-3000:]
    assert answer.json() == {"predictions": _direct_predictions(registry, churn.uri)}
    assert f"Uvicorn running on http://127.0.0.1:{port}" in text


def _rendered_server(
    repo: Path, built: Built, registry: MlflowRegistry, scratch: Path, **env: str
) -> tuple[list[str], dict[str, str], int]:
    """The rendered model container's argv and env, on a free loopback port, from `built`."""
    model = _model_container(repo)
    port = free_port()
    command = argv(model)
    command[command.index("--port") + 1] = str(port)  # a shared machine: not the pod's 8080
    command[command.index("--host") + 1] = "127.0.0.1"
    process_env_ = process_env(model, registry, scratch, PATH=f"{built.bin}:/usr/bin:/bin", **env)
    return command, {**process_env_, **built.env}, port


def test_mlflow_alone_resolves_a_starlette_its_scoring_server_crashes_on(
    image: tuple[Path, Built], registry: MlflowRegistry, tmp_path: Path
) -> None:
    """Without the pins: what `pip install mlflow==3.6.0` resolves today (the generated
    Dockerfile's first step), laid over the built environment, and the rendered command."""
    repo, built = image
    report = tmp_path / "report.json"
    pip = [str(built.bin / "python"), "-m", "pip"]
    subprocess.run(
        [
            *pip,
            "install",
            "--dry-run",
            "--quiet",
            "--ignore-installed",
            "--report",
            str(report),
            "mlflow==3.6.0",
        ],
        capture_output=True,
        timeout=600,
        check=True,
    )
    picked = {
        i["metadata"]["name"].lower(): i["metadata"]["version"]
        for i in json.loads(report.read_text())["install"]
    }
    assert int(picked["starlette"].split(".")[0]) >= 1, picked["starlette"]
    unpinned = tmp_path / "unpinned"
    subprocess.run(
        [
            *pip,
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(unpinned),
            f"starlette=={picked['starlette']}",
            f"fastapi=={picked['fastapi']}",
        ],
        capture_output=True,
        timeout=600,
        check=True,
    )
    command, env, _ = _rendered_server(
        repo, built, registry, tmp_path / "tmp", PYTHONPATH=str(unpinned)
    )
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "AttributeError: 'FastAPI' object has no attribute 'route'" in done.stderr, done.stderr[
        -3000:
    ]
