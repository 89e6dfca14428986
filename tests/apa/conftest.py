"""Real parts for the scaler tests: a Prometheus server, a test exporter, scaler processes and a
gRPC client generated from our proto."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import grpc
import httpx
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plugins.apa.config import DEFAULT_QUERIES
from plugins.apa.proto import externalscaler_pb2 as pb
from plugins.apa.proto import externalscaler_pb2_grpc as pb_grpc

from .loadmodel import start_exporter

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = os.environ.get("KNOBLESS_PROMETHEUS", "/usr/bin/prometheus")
RATE = "[3s]"  # a 1 s scrape interval: three samples per rate window
TEST_CONFIG: dict[str, Any] = {
    "intervalSeconds": 1,
    "lagSeconds": 2,
    "queryTimeoutSeconds": 0.8,
    "firstAnswerWaitSeconds": 4,
    "catchupRounds": 10,
    # The scaler's own default templates, over a 3 s range for the 1 s scrape interval.
    "queries": {
        signal: DEFAULT_QUERIES[signal].replace("[30s]", RATE)
        for signal in ("concurrency", "requests", "latency", "cpu")
    },
    "vertical": {"intervalSeconds": 2, "hysteresisSamples": 2, "increaseSamples": 3},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prometheus_binary() -> str:
    if shutil.which(PROMETHEUS) or Path(PROMETHEUS).is_file():
        return PROMETHEUS
    message = (
        f"{PROMETHEUS} not found: install Debian's `prometheus` package "
        "(apt-get install prometheus)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class PrometheusServer:
    """The real `prometheus` binary on a loopback port, scraping the exporter every second."""

    def __init__(self, root: Path, exporter_port: int, port: int | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "model",
                    "scrape_interval": "1s",
                    "scrape_timeout": "900ms",
                    "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
                }
            ],
        }
        root.mkdir(parents=True, exist_ok=True)
        (root / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = prometheus_binary()
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={self.root / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "prometheus.log", "ab"),  # noqa: SIM115 - lives with the process
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=0.5).status_code == 200:
                    body = httpx.get(f"{self.url}/api/v1/query", params={"query": "up"}).json()
                    if body["data"]["result"]:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"prometheus did not start: {(self.root / 'prometheus.log').read_text()}"
        )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


class Exporter:
    def __init__(self) -> None:
        self.model, self.port, self.server = start_exporter()

    def set(self, namespace: str, service: str, **values: float) -> None:
        self.model.set(namespace, service, **values)


class ScalerClient:
    """A real gRPC client generated from plugins/apa/proto/externalscaler.proto."""

    def __init__(self, address: str, credentials: grpc.ChannelCredentials | None = None) -> None:
        if credentials is None:
            self.channel = grpc.insecure_channel(address)
        else:
            self.channel = grpc.secure_channel(address, credentials)
        self.stub = pb_grpc.ExternalScalerStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    def ref(self, name: str, namespace: str, metadata: Mapping[str, str]) -> pb.ScaledObjectRef:
        return pb.ScaledObjectRef(name=name, namespace=namespace, scalerMetadata=dict(metadata))

    def metrics(self, name: str, namespace: str, metadata: Mapping[str, str]) -> float:
        response = self.stub.GetMetrics(
            pb.GetMetricsRequest(
                scaledObjectRef=self.ref(name, namespace, metadata),
                metricName=f"apa-replicas-{name}",
            ),
            timeout=10,
        )
        assert len(response.metricValues) == 1
        return float(response.metricValues[0].metricValueFloat)

    def active(self, name: str, namespace: str, metadata: Mapping[str, str]) -> bool:
        return bool(self.stub.IsActive(self.ref(name, namespace, metadata), timeout=10).result)

    def close(self) -> None:
        self.channel.close()


class ScalerProcess:
    """`knobless scaler` as a real process."""

    def __init__(
        self,
        root: Path,
        prometheus_url: str,
        *,
        state: Path | None = None,
        queries: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        # What the rendered StatefulSet passes: the environment's templates as `--queries`.
        self.queries = None if queries is None else root / "queries.json"
        if self.queries is not None:
            self.queries.write_text(json.dumps(dict(queries or {})))
        self.port = free_port()
        self.metrics_port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.prometheus_url = prometheus_url
        self.state = state
        (root / "config.yaml").write_text(yaml.safe_dump(TEST_CONFIG))
        self.process: subprocess.Popen[bytes] | None = None
        self.client: ScalerClient | None = None
        self.tls: tuple[Path, Path, Path] | None = None  # cert, key, client CA
        self.credentials: grpc.ChannelCredentials | None = None  # the client's, with TLS

    def start(self) -> ScalerClient:
        self.spawn()
        return self.wait_ready()

    def spawn(self) -> None:
        command = [
            sys.executable,
            "-m",
            "compiler",
            "scaler",
            "--listen",
            self.address,
            "--prometheus",
            self.prometheus_url,
            "--config",
            str(self.root / "config.yaml"),
            "--metrics-listen",
            f"127.0.0.1:{self.metrics_port}",
        ]
        if self.state is not None:
            command += ["--state", str(self.state)]
        if self.queries is not None:
            command += ["--queries", str(self.queries)]
        if self.tls is not None:
            cert, key, client_ca = self.tls
            command += ["--tls-cert", str(cert), "--tls-key", str(key)]
            command += ["--tls-client-ca", str(client_ca)]
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "scaler.log", "ab"),  # noqa: SIM115 - lives with the process
        )

    def wait_ready(self) -> ScalerClient:
        assert self.process is not None
        self.client = ScalerClient(self.address, self.credentials)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scaler exited: {self.log()}")
            try:
                status = self.client.health.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                if status.status == health_pb2.HealthCheckResponse.SERVING:
                    return self.client
            except grpc.RpcError:
                time.sleep(0.1)
        raise RuntimeError(f"scaler did not start: {self.log()}")

    def metrics_text(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def healthz(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=5).text

    def log(self) -> str:
        path = self.root / "scaler.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> int:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        code = int(self.process.returncode)
        self.process = None
        return code


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    running = Exporter()
    # Seeded now, so Prometheus holds full rate windows by the time the fault test runs.
    running.set("t-fault", "f-v1", concurrency=30)
    yield running
    running.server.shutdown()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def prometheus(
    exporter: Exporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"), exporter.port)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def scalers(tmp_path: Path) -> Iterator[list[ScalerProcess]]:
    """Collects every scaler a test starts and stops them all at the end."""
    started: list[ScalerProcess] = []
    yield started
    for process in started:
        process.stop()


def wait_for(
    condition: Callable[[], T], timeout: float, interval: float = 0.2, what: str = "condition"
) -> T:
    """Poll `condition()` until it returns a truthy value; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
