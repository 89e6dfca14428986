"""The rendered MLflow model container, run as PID 1 of its own PID namespace (as in a pod:
`unshare --pid --fork --mount-proc`, root) with the real MLflow scoring server and a real
logged model: on SIGTERM it stops taking connections, answers the requests in flight, and exits
within the grace period. Beside it, the reproduction of what it replaces: `mlflow models serve`
as PID 1 ignores SIGTERM (a PID 1 without a handler does), so a pod ran until SIGKILL.

The one change from the rendered argv: `--host`/`--port` point at a free loopback port, since
the machine is shared (in a pod the port is the pod's own).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mlflow_support import (
    LoggedModel,
    MlflowRegistry,
    free_port,
    mlflow_bin,
    mlflow_registry,
    require_mlflow,
    stop,
    wait_http,
)

from .containers import argv, container, pod_spec, process_env, rendered_deployment

SECONDS_PER_REQUEST = 3.0
IN_FLIGHT = 4


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowRegistry]:
    require_mlflow()
    with mlflow_registry(tmp_path_factory.mktemp("mlflow")) as running:
        yield running


@pytest.fixture(scope="module")
def sleepy(registry: MlflowRegistry) -> LoggedModel:
    return registry.log_model("sleepy", "sleepy", {"seconds": SECONDS_PER_REQUEST})


def _on_port(arguments: list[str], port: int) -> list[str]:
    swapped = list(arguments)
    swapped[swapped.index("--port") + 1] = str(port)
    swapped[swapped.index("--host") + 1] = "127.0.0.1"
    return swapped


def _pid_one(unshare: subprocess.Popen[bytes]) -> int:
    """The host PID of the namespace's PID 1 (unshare's forked child)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children").read_text().split()
        if children:
            pid = int(children[0])
            status = Path(f"/proc/{pid}/status").read_text()
            nspid = next(line for line in status.splitlines() if line.startswith("NSpid:"))
            assert nspid.split()[1:] == [str(pid), "1"], nspid  # PID 1 in its namespace
            return pid
        time.sleep(0.05)
    raise AssertionError("unshare forked no child")


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _invoke(url: str, results: list[Any]) -> None:
    body = {"dataframe_split": {"columns": ["x"], "data": [[1.5]]}}
    try:
        answer = httpx.post(f"{url}/invocations", json=body, timeout=60)
        results.append((answer.status_code, answer.json()))
    except httpx.HTTPError as error:
        results.append(("error", repr(error)))


def _wait_until_nothing_new_is_served(url: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            httpx.get(url, timeout=2)
        except (httpx.ConnectError, httpx.ReadError, httpx.ReadTimeout):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{url} still answered {within_s} s after SIGTERM")
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("environment", "endpoint", "served", "workers"),
    [("prod", "churn-classifier", "v3", "1"), ("dev", "feed-ranker", "v12", "2")],
)
def test_sigterm_drains_in_flight_requests_and_exits(
    registry: MlflowRegistry,
    sleepy: LoggedModel,
    tmp_path: Path,
    environment: str,
    endpoint: str,
    served: str,
    workers: str,
) -> None:
    deployment = rendered_deployment(environment, endpoint, served)
    model = container(deployment, "model")
    assert model["args"][model["args"].index("--workers") + 1] == workers
    grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
    drain = model["lifecycle"]["preStop"]["sleep"]["seconds"]  # spent before SIGTERM is sent
    port = free_port()
    env = process_env(model, registry, tmp_path / "tmp", MODEL_URI=sleepy.uri)
    unshare = _start(_on_port(argv(model), port), env, tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/ping", timeout_s=120, process=unshare)
        pid_one = _pid_one(unshare)
        results: list[Any] = []
        clients = [threading.Thread(target=_invoke, args=(url, results)) for _ in range(IN_FLIGHT)]
        for client in clients:
            client.start()
        time.sleep(1.0)  # the requests are in the model's predict now
        sent = time.monotonic()
        os.kill(pid_one, signal.SIGTERM)
        # Nothing new is served soon after SIGTERM: refused with one worker; with several the
        # supervisor's socket may still accept while its workers drain, then reset or stay mute.
        # Each worker gets the signal from the supervisor, so on a loaded machine one may still
        # answer a moment: poll for up to 5 s, well inside the grace period.
        _wait_until_nothing_new_is_served(f"{url}/ping", within_s=5.0)
        returncode = unshare.wait(timeout=grace - drain)
        exited_after = time.monotonic() - sent
        for client in clients:
            client.join(timeout=10)
    finally:
        stop(unshare)
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert returncode == 0, log[-3000:]
    assert results == [(200, {"predictions": [{"x": 3.0}]})] * IN_FLIGHT, log[-3000:]
    # answered, then out: well inside the grace period, not at its end
    assert exited_after < SECONDS_PER_REQUEST + 5, exited_after


def test_the_mlflow_cli_as_pid_1_ignores_sigterm(
    registry: MlflowRegistry, sleepy: LoggedModel, tmp_path: Path
) -> None:
    """What the rendered command replaces (`mlflow models serve`), as PID 1: SIGTERM does
    nothing, so the kubelet's SIGKILL at the end of the grace period cut every request."""
    port = free_port()
    model = container(rendered_deployment("prod", "churn-classifier", "v3"), "model")
    env = process_env(model, registry, tmp_path / "tmp")
    command = [
        str(mlflow_bin()),
        "models",
        "serve",
        "--model-uri",
        sleepy.uri,
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    unshare = _start(command, env, tmp_path / "cli.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", timeout_s=120, process=unshare)
        os.kill(_pid_one(unshare), signal.SIGTERM)
        with pytest.raises(subprocess.TimeoutExpired):
            unshare.wait(timeout=5)
        assert httpx.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code == 200
    finally:
        stop(unshare)
