"""Real MLflow parts for tests and benchmarks: a tracking server with a model registry on loopback
and tiny real models logged into it.

MLflow runs from its own virtualenv (`make mlflow-venv`, path in KNOBLESS_MLFLOW_VENV), apart from
knobless' environment, as a model image is apart from the scaler in a cluster. Every process is
started here and stopped when the caller is done; nothing outlives a test session.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
REQUIREMENTS = HERE / "requirements.txt"
LOG_MODEL = HERE / "log_model.py"


def mlflow_venv() -> Path:
    """The MLflow virtualenv: KNOBLESS_MLFLOW_VENV, else .venv-mlflow at the project root."""
    return Path(os.environ.get("KNOBLESS_MLFLOW_VENV", PROJECT / ".venv-mlflow"))


def mlflow_bin(name: str = "mlflow") -> Path:
    return mlflow_venv() / "bin" / name


def missing_reason() -> str | None:
    """Why the MLflow parts cannot run here (None when they can)."""
    if not mlflow_bin().exists():
        return (
            f"{mlflow_bin()} not found: run `make mlflow-venv` (pip installs "
            f"{REQUIREMENTS.relative_to(PROJECT)} into {mlflow_venv()})"
        )
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str, *, timeout_s: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until `url` answers 200 (or the process dies, or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout_s:.0f} s")


def stop(process: subprocess.Popen[bytes], *, grace_s: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, 15)
        process.wait(timeout=grace_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait()


@dataclass
class LoggedModel:
    name: str
    version: int
    uri: str
    run_id: str


@dataclass
class MlflowRegistry:
    """A running `mlflow server` (sqlite backend, proxied artifacts) in `root`."""

    url: str
    root: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    def log_model(
        self, kind: str, name: str, params: Mapping[str, Any] | None = None
    ) -> LoggedModel:
        """Train a tiny `kind` model (sklearn, digits, xgboost, onnx) and register it as `name`."""
        done = subprocess.run(
            [
                str(mlflow_bin("python")),
                str(LOG_MODEL),
                "--kind",
                kind,
                "--name",
                name,
                "--params",
                json.dumps(dict(params or {})),
            ],
            env={**self.env, "MLFLOW_TRACKING_URI": self.url},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"logging a {kind} model failed:\n{done.stderr[-4000:]}")
        return LoggedModel(**json.loads(done.stdout.strip().splitlines()[-1]))


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHON"))}
    env["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
    env["GIT_PYTHON_REFRESH"] = "quiet"  # MLflow probes git for run tags; none is needed
    return env


@contextmanager
def mlflow_registry(root: Path, *, timeout_s: float = 120.0) -> Iterator[MlflowRegistry]:
    """Start `mlflow server` on a free loopback port with its store under `root`."""
    reason = missing_reason()
    if reason:
        raise RuntimeError(reason)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = _clean_env()
    log = (root / "mlflow-server.log").open("wb")
    process = subprocess.Popen(
        [
            str(mlflow_bin()),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/health", timeout_s=timeout_s, process=process)
        except (RuntimeError, TimeoutError) as error:
            tail = (root / "mlflow-server.log").read_text(errors="replace")[-4000:]
            raise RuntimeError(f"mlflow server did not start: {error}\n{tail}") from None
        yield MlflowRegistry(url=url, root=root, process=process, env=env)
    finally:
        stop(process)
        log.close()


def require_mlflow() -> None:
    """Fail (in CI) or skip (elsewhere) when the MLflow venv is missing, like Prometheus."""
    import pytest

    reason = missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


__all__ = [
    "LoggedModel",
    "MlflowRegistry",
    "free_port",
    "missing_reason",
    "mlflow_bin",
    "mlflow_registry",
    "mlflow_venv",
    "require_mlflow",
    "stop",
    "wait_http",
]
