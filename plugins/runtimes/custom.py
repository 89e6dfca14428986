"""The team's own container (`image:` and `port:`): we know nothing of its paths, so probes
connect to its port; everything else (security, drain, sidecar) is as for any runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.runtimes.base import HTTP_PORT_NAME, RuntimePod, tmp_volume
from plugins.workload.probes import startup_failures, tcp_probe

if TYPE_CHECKING:
    from compiler.context import EndpointContext, Resources, ServedContext

STARTUP_BUDGET_SECONDS = 300


def default_per_replica(resources: Resources) -> tuple[int, int, int]:
    """(min, max, initial): unknown code, so start cautiously and let the scaler learn; the high
    ceiling lets I/O-bound services (agents waiting on other services) grow into hundreds."""
    return 1, 1000, 10


def build(served: ServedContext, endpoint: EndpointContext) -> RuntimePod:
    assert served.spec.image is not None and served.spec.port is not None
    tmp, tmp_mount = tmp_volume("1Gi")
    return RuntimePod(
        image=served.spec.image,
        port=served.spec.port,
        env=({"name": "HOME", "value": "/tmp"},),
        startup_probe=tcp_probe(
            HTTP_PORT_NAME, period=5, failures=startup_failures(STARTUP_BUDGET_SECONDS, 5)
        ),
        readiness_probe=tcp_probe(HTTP_PORT_NAME, period=5, failures=2),
        liveness_probe=tcp_probe(HTTP_PORT_NAME, period=10, failures=3),
        mounts=(tmp_mount,),
        volumes=(tmp,),
        termination_grace_seconds=60,
        drain_seconds=10,
        min_ready_seconds=10,
        progress_deadline_seconds=STARTUP_BUDGET_SECONDS + 300,
        run_as_user=None,  # the team's image declares its own non-root USER
    )
