"""The proving ground assembled: registry + model, replicas, HAProxy, process-exporter,
Prometheus and the scaler, started in order and stopped in reverse (one `ExitStack`)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.proving import cgroup
from bench.proving.cgroup import CpuGroup
from bench.proving.keda import Scaler
from bench.proving.rendered import ModelContainer, Trigger, model_container, queries, trigger
from bench.proving.servers import (
    HAProxy,
    Pod,
    ProcessExporter,
    Prometheus,
    Replica,
    missing_binaries,
)
from tests.mlflow_support import MlflowRegistry, free_port, mlflow_registry
from tests.mlflow_support import missing_reason as mlflow_missing

SITE = Path(__file__).resolve().parent / "site"
ENVIRONMENT = "local"
ENDPOINT = "digits"
SERVED = "v1"
MODEL = {"trees": 50}
"""The digits random forest: 50 full-depth trees cost a few ms of CPU per prediction."""
REPLICA_CPUS = (0, 1)
"""Replica i is pinned to CPU REPLICA_CPUS[i]; the load generator to LOAD_CPU."""
LOAD_CPU = 1
SCALER_CONFIG: dict[str, Any] = {"intervalSeconds": 1, "lagSeconds": 2}
"""The scaler's loop timings: its defaults but for the query timeout (a busy 2-core machine)."""


def missing_reason() -> str | None:
    """Why the proving ground cannot run here (None when it can)."""
    reasons = [r for r in (cgroup.missing_reason(), mlflow_missing()) if r]
    missing = missing_binaries()
    if missing:
        reasons.append(f"not installed: {', '.join(missing)} (make system-deps)")
    return "; ".join(reasons) or None


@dataclass
class Ground:
    root: Path
    registry: MlflowRegistry
    container: ModelContainer
    trigger: Trigger
    replicas: list[Replica]
    haproxy: HAProxy
    prometheus: Prometheus
    scaler: Scaler
    body: Path
    client: CpuGroup
    running: list[Replica] = field(default_factory=list)

    @property
    def invocations(self) -> str:
        return f"{self.haproxy.url}/invocations"

    def scale_to(self, count: int) -> None:
        """spec.replicas = count: start pods (in rotation once ready) or stop the newest."""
        while len(self.running) < count:
            replica = self.replicas[len(self.running)]
            replica.start()
            replica.wait_ready()
            self.haproxy.enable(replica.pod)
            self.running.append(replica)
        while len(self.running) > count:
            replica = self.running.pop()
            self.haproxy.disable(replica.pod)
            replica.stop()

    def load(self, phases: list[tuple[float, float]], out: Path, seed: int = 1) -> dict[str, Any]:
        """Run the load generator (its own process, pinned to LOAD_CPU) and return its result."""
        argv = [
            sys.executable,
            "-m",
            "bench.proving.load",
            "--url",
            self.invocations,
            "--body",
            str(self.body),
            "--out",
            str(out),
            "--seed",
            str(seed),
        ]
        for rate, seconds in phases:
            argv += ["--phase", f"{rate}:{seconds}"]
        subprocess.run(self.client.wrap(argv, LOAD_CPU), check=True, cwd=SITE.parents[2])
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def digits_body(path: Path, rows: int = 1, seed: int = 0) -> Path:
    """A request of `rows` 8x8 digit images (pixel values 0..16, as load_digits has them)."""
    rng = random.Random(seed)
    inputs = [[float(rng.randint(0, 16)) for _ in range(64)] for _ in range(rows)]
    path.write_text(json.dumps({"inputs": inputs}))
    return path


@contextmanager
def proving_ground(
    root: Path,
    *,
    replicas: int = 2,
    metadata: Mapping[str, str] | None = None,
    scaler_config: Mapping[str, Any] | None = None,
    model: Mapping[str, Any] | None = None,
) -> Iterator[Ground]:
    """Everything running, one replica ready and in rotation, the scaler serving."""
    reason = missing_reason()
    if reason:
        raise RuntimeError(reason)
    rendered = SITE / "rendered" / ENVIRONMENT
    container = model_container(rendered / ENDPOINT / f"deployment-{ENDPOINT}-{SERVED}.yaml")
    found = trigger(rendered / ENDPOINT / f"scaledobject-{ENDPOINT}-{SERVED}.yaml")
    if metadata:
        found = Trigger(**{**found.__dict__, "metadata": {**found.metadata, **metadata}})
    namespace = found.metadata["selector.namespace"]
    service = found.metadata["selector.service"]
    pods = [Pod(namespace, service, i + 1, free_port()) for i in range(replicas)]
    with ExitStack() as stack:
        registry = stack.enter_context(mlflow_registry(root / "mlflow"))
        logged = registry.log_model("digits", ENDPOINT, dict(model or MODEL))
        # The rendered container names the model in its args or (fetch-then-exec form) its env.
        assert logged.uri in (*container.args, *container.env.values()), (logged.uri, container)
        # The gateway and the load generator share the core the first replica does not use.
        client = CpuGroup("knobless-proving-client", None).create()
        stack.callback(client.remove)
        haproxy = HAProxy(
            root / "haproxy",
            f"{namespace}.{service}",
            pods,
            container.readiness_path,
            client,
            LOAD_CPU,
        )
        haproxy.start()
        stack.callback(haproxy.stop)
        exporter = ProcessExporter(root / "exporter", pods)
        exporter.start()
        stack.callback(exporter.stop)
        prometheus = Prometheus(
            root / "prometheus", {"haproxy": haproxy.metrics_port, "process": exporter.port}
        )
        prometheus.start()
        stack.callback(prometheus.stop)
        members = [
            Replica(container, pod, root / "replicas", registry.url, REPLICA_CPUS[i % 2])
            for i, pod in enumerate(pods)
        ]
        for member in members:
            stack.callback(member.stop)
        scaler = Scaler(
            root / "scaler",
            prometheus.url,
            queries(rendered / "platform"),
            {**SCALER_CONFIG, **(scaler_config or {})},
        )
        ground = Ground(
            root,
            registry,
            container,
            found,
            members,
            haproxy,
            prometheus,
            scaler,
            digits_body(root / "body.json"),
            client,
        )
        ground.scale_to(1)
        scaler.start()
        stack.callback(scaler.stop)
        yield ground


def wait_until(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"{what} not seen within {timeout_s:.0f} s")


__all__ = ["Ground", "missing_reason", "proving_ground", "wait_until"]
