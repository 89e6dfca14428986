"""MLflow pyfunc scoring server: classic ML flavors on CPU.

The container fetches the model from the registry (tracking URI and token from the
environment), then execs uvicorn on MLflow's scoring app, one worker per requested CPU core:
what `mlflow models serve --env-manager local` runs (mlflow/pyfunc/backend.py `serve`,
mlflow/pyfunc/scoring_server `get_cmd`), minus the CLI itself. The CLI would be PID 1 and keeps
uvicorn as a child: a PID 1 without a SIGTERM handler ignores SIGTERM, so every pod ran until
SIGKILL at the end of its grace period, cutting requests. uvicorn as PID 1 handles SIGTERM: it
stops accepting, answers what is in flight, and exits.

The server's own argv is the container's `args` (`command` is the fetch-then-exec wrapper), so
it can be read off the rendered Deployment and run outside Kubernetes too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from plugins.runtimes.base import (
    HTTP_PORT_NAME,
    RuntimePod,
    ephemeral_storage,
    identity_env,
    mlflow_env,
    tmp_volume,
)
from plugins.workload.probes import http_probe, startup_failures

if TYPE_CHECKING:
    from compiler.context import EndpointContext, Resources, ServedContext

PORT = 8080
STARTUP_BUDGET_SECONDS = 300
"""Download from the registry plus unpickling; classic models are small."""
REQUEST_TIMEOUT_SECONDS = 60
"""MLflow's scoring timeout (MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT, its default): no request
runs longer, so shutdown waits that long for in-flight requests."""
DRAIN_SECONDS = 10
SCRATCH_GIB = 1
SCORING_APP = "mlflow.pyfunc.scoring_server.app:app"
MODEL_PATH_ENV = "__pyfunc_model_path__"
"""Where MLflow's scoring app loads the model from (mlflow.pyfunc.scoring_server._SERVER_MODEL_PATH)."""
FETCH_THEN_EXEC = f"""set -eu
model=$(mktemp -d)
mlflow artifacts download --artifact-uri "$MODEL_URI" --dst-path "$model" >/dev/null
export {MODEL_PATH_ENV}="$model"
exec "$@"
"""
"""`sh -c` wrapper: the model server (its argv in "$@") replaces the shell as PID 1."""


def workers(resources: Resources) -> int:
    """One worker per requested core, at least one (a 500m request still needs a worker)."""
    return max(1, math.ceil(resources.cpu_cores))


def default_per_replica(resources: Resources) -> tuple[int, int, int]:
    """(min, max, initial) in-flight requests per replica: each worker overlaps I/O with a
    CPU-bound predict, so about two requests per worker to start, at most eight."""
    count = workers(resources)
    return 1, 8 * count, 2 * count


def build(served: ServedContext, endpoint: EndpointContext) -> RuntimePod:
    environment = endpoint.environment
    assert served.spec.model is not None  # validation: mlflow needs a model
    tmp, tmp_mount = tmp_volume()  # the fetched model lands in /tmp: no size limit
    # The image built for this version's own dependencies (images.lock), else the generic one
    # (plugins.images warns, or fails the compile in a strict environment).
    image = served.image.reference if served.image else environment.runtimes.mlflow
    return RuntimePod(
        image=image,
        port=PORT,
        command=("/bin/sh", "-c", FETCH_THEN_EXEC, "mlflow-model-server"),
        args=(
            "uvicorn",
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
            "--workers",
            str(workers(served.resources)),
            "--timeout-graceful-shutdown",
            str(REQUEST_TIMEOUT_SECONDS),
            SCORING_APP,
        ),
        env=(
            *mlflow_env(environment),
            *identity_env(),
            {"name": "MODEL_URI", "value": served.spec.model},
            {
                "name": "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT",
                "value": str(REQUEST_TIMEOUT_SECONDS),
            },
            {"name": "MLFLOW_ENV_ROOT", "value": "/tmp/mlflow-env"},
        ),
        startup_probe=http_probe(
            "/ping", HTTP_PORT_NAME, period=5, failures=startup_failures(STARTUP_BUDGET_SECONDS, 5)
        ),
        readiness_probe=http_probe("/ping", HTTP_PORT_NAME, period=5, failures=2),
        liveness_probe=http_probe("/ping", HTTP_PORT_NAME, period=10, failures=3, timeout=5),
        mounts=(tmp_mount,),
        volumes=(tmp,),
        # The drain, then the longest request, then a margin before SIGKILL.
        termination_grace_seconds=DRAIN_SECONDS + REQUEST_TIMEOUT_SECONDS + 5,
        drain_seconds=DRAIN_SECONDS,
        min_ready_seconds=10,
        progress_deadline_seconds=STARTUP_BUDGET_SECONDS + 300,
        ephemeral_storage=ephemeral_storage(served, environment, SCRATCH_GIB),
    )
