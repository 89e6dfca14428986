"""MLflow pyfunc scoring server: classic ML flavors on CPU.

`mlflow models serve` fetches the model from the registry itself (tracking URI and token from
the environment), and runs one async (uvicorn) worker per requested CPU core.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from plugins.runtimes.base import HTTP_PORT_NAME, RuntimePod, mlflow_env, tmp_volume
from plugins.workload.probes import http_probe, startup_failures

if TYPE_CHECKING:
    from compiler.context import EndpointContext, Resources, ServedContext

PORT = 8080
STARTUP_BUDGET_SECONDS = 300
"""Download from the registry plus unpickling; classic models are small."""


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
        command=("mlflow", "models", "serve"),
        args=(
            "--model-uri",
            served.spec.model,
            "--env-manager",
            "local",
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
            "--workers",
            str(workers(served.resources)),
        ),
        env=(*mlflow_env(environment), {"name": "MLFLOW_ENV_ROOT", "value": "/tmp/mlflow-env"}),
        startup_probe=http_probe(
            "/ping", HTTP_PORT_NAME, period=5, failures=startup_failures(STARTUP_BUDGET_SECONDS, 5)
        ),
        readiness_probe=http_probe("/ping", HTTP_PORT_NAME, period=5, failures=2),
        liveness_probe=http_probe("/ping", HTTP_PORT_NAME, period=10, failures=3, timeout=5),
        mounts=(tmp_mount,),
        volumes=(tmp,),
        termination_grace_seconds=45,
        drain_seconds=10,
        min_ready_seconds=10,
        progress_deadline_seconds=STARTUP_BUDGET_SECONDS + 300,
    )
