"""The real `knobless scaler`, polled the way KEDA's operator polls an external scaler.

KEDA's scale loop calls IsActive and GetMetrics every `pollingInterval` with the ScaledObject's
trigger metadata, verbatim; the HPA then reads the metric through KEDA's metrics server. Here a
thread does the same over a real gRPC channel and logs every answer with the learned target
(the scaler's `knobless_apa_target` gauge); the decision reasons come from the scaler's log.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plugins.apa.proto import externalscaler_pb2 as pb
from plugins.apa.proto import externalscaler_pb2_grpc as pb_grpc
from tests.mlflow_support import free_port

REPO = Path(__file__).resolve().parents[2]
REASON = re.compile(r"(?P<ns>[^ /]+)/(?P<name>[^ ]+) at (?P<at>\d+): (?P<reason>.+)$")


class Scaler:
    """`knobless scaler` as a process: the environment's queries (`--queries`, as the rendered
    ConfigMap mounts them), a `--config` for loop timings, DEBUG logs (holds carry reasons)."""

    def __init__(
        self,
        root: Path,
        prometheus_url: str,
        queries: Mapping[str, str],
        config: Mapping[str, object],
    ) -> None:
        self.root = root
        self.prometheus_url = prometheus_url
        self.queries = dict(queries)
        self.config = dict(config)
        self.address = f"127.0.0.1:{free_port()}"
        self.metrics_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "queries.json").write_text(json.dumps(self.queries, indent=2))
        (self.root / "config.yaml").write_text(yaml.safe_dump(self.config))
        with (self.root / "scaler.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "compiler",
                    "scaler",
                    "--listen",
                    self.address,
                    "--prometheus",
                    self.prometheus_url,
                    "--queries",
                    str(self.root / "queries.json"),
                    "--config",
                    str(self.root / "config.yaml"),
                    "--metrics-listen",
                    f"127.0.0.1:{self.metrics_port}",
                    "--log-level",
                    "DEBUG",
                ],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        channel = grpc.insecure_channel(self.address)
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scaler exited: {self.log()[-3000:]}")
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                if status.status == health_pb2.HealthCheckResponse.SERVING:
                    channel.close()
                    return
            except grpc.RpcError:
                time.sleep(0.2)
        raise RuntimeError(f"scaler did not start: {self.log()[-3000:]}")

    def log(self) -> str:
        path = self.root / "scaler.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def reasons(self, namespace: str, name: str) -> list[tuple[int, str]]:
        """Every vertical decision logged for one ScaledObject: (boundary, reason)."""
        found = []
        for line in self.log().splitlines():
            match = REASON.search(line)
            if match and (match["ns"], match["name"]) == (namespace, name):
                found.append((int(match["at"]), match["reason"]))
        return found

    def target(self, namespace: str, name: str) -> float | None:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        label = f'knobless_apa_target{{namespace="{namespace}",scaledobject="{name}"}}'
        for line in text.splitlines():
            if line.startswith(label):
                return float(line.split()[-1])
        return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@dataclass
class Answer:
    at: float  # monotonic seconds since the poller started
    replicas_needed: float
    active: bool
    target: float | None


@dataclass
class KedaPoller:
    """GetMetricSpec once, then IsActive + GetMetrics every `interval_s`, like KEDA's loop."""

    scaler: Scaler
    name: str
    namespace: str
    metadata: Mapping[str, str]
    interval_s: float
    on_answer: Callable[[Answer], None] | None = None
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="keda-poller", daemon=True)
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def ref(self) -> pb.ScaledObjectRef:
        return pb.ScaledObjectRef(
            name=self.name, namespace=self.namespace, scalerMetadata=dict(self.metadata)
        )

    def start(self) -> KedaPoller:
        self._channel = grpc.insecure_channel(self.scaler.address)
        self._stub = pb_grpc.ExternalScalerStub(self._channel)
        spec = self._stub.GetMetricSpec(self.ref(), timeout=10)
        assert spec.metricSpecs[0].targetSizeFloat == 1.0, spec
        self.started = time.monotonic()
        self._thread.start()
        return self

    def poll(self) -> Answer:
        active = self._stub.IsActive(self.ref(), timeout=10).result
        metrics = self._stub.GetMetrics(
            pb.GetMetricsRequest(
                scaledObjectRef=self.ref(), metricName=f"apa-replicas-{self.name}"
            ),
            timeout=10,
        )
        answer = Answer(
            at=time.monotonic() - self.started,
            replicas_needed=float(metrics.metricValues[0].metricValueFloat),
            active=bool(active),
            target=self.scaler.target(self.namespace, self.name),
        )
        self.answers.append(answer)
        return answer

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                answer = self.poll()
                if self.on_answer is not None:
                    self.on_answer(answer)
            except grpc.RpcError as error:  # KEDA logs and retries at the next interval
                self.errors.append(f"{time.monotonic() - self.started:.0f}s: {error.code()}")
            next_at += self.interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)
        self._channel.close()
