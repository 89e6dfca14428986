"""The proving ground's servers, each a real process on 127.0.0.1 owned by a Python object:
the model replica (the rendered container as a process, in a CPU-limited cgroup), HAProxy with
its Prometheus exporter, prometheus-process-exporter, and Prometheus scraping them every second.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from bench.proving.cgroup import CpuGroup
from bench.proving.rendered import ModelContainer
from tests.mlflow_support import free_port, mlflow_bin, stop, wait_http

HAPROXY = os.environ.get("KNOBLESS_HAPROXY", "/usr/sbin/haproxy")
PROCESS_EXPORTER = os.environ.get(
    "KNOBLESS_PROCESS_EXPORTER", "/usr/bin/prometheus-process-exporter"
)
PROMETHEUS = os.environ.get("KNOBLESS_PROMETHEUS", "/usr/bin/prometheus")
SCRAPE = "1s"


def missing_binaries() -> list[str]:
    return [path for path in (HAPROXY, PROCESS_EXPORTER, PROMETHEUS) if not shutil.which(path)]


def _spawn(argv: list[str], log: Path, **kwargs: object) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(  # type: ignore[call-overload]
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )


@dataclass(frozen=True)
class Pod:
    """A replica's identity: a Deployment pod name (`<deployment>-<hash>-<5 chars>`) so the
    query templates map it to its Service exactly as they map a cluster's pods."""

    namespace: str
    deployment: str
    index: int
    port: int

    @property
    def name(self) -> str:
        return f"{self.deployment}-proving-r{self.index:04d}"

    @property
    def group(self) -> str:
        """process-exporter group name: `<namespace>.<pod>`."""
        return f"{self.namespace}.{self.name}"


class Replica:
    """The model container run as a process: command + args + env as rendered, the listen address
    moved to a loopback port, the tracking URI pointed at the local registry, in a cgroup with
    the container's CPU limit as CFS quota, pinned to `cpu` (apart from the load generator)."""

    def __init__(
        self, container: ModelContainer, pod: Pod, root: Path, tracking_uri: str, cpu: int
    ) -> None:
        self.container = container
        self.pod = pod
        self.root = root / pod.name
        self.tracking_uri = tracking_uri
        self.cpu = cpu
        self.group = CpuGroup(f"knobless-proving-{pod.name}", container.cpu_limit_cores)
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_after_s: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.pod.port}"

    def env(self) -> dict[str, str]:
        home = self.root / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHON"))}
        env.update(self.container.env)
        # The pod's writable /tmp (HOME, MLFLOW_ENV_ROOT point into it) is this replica's folder.
        for key, value in self.container.env.items():
            if value == "/tmp" or value.startswith("/tmp/"):
                env[key] = str(home) + value[len("/tmp") :]
        env["MLFLOW_TRACKING_URI"] = self.tracking_uri
        env["PATH"] = f"{mlflow_bin().parent}:{env.get('PATH', '/usr/bin:/bin')}"
        env["GIT_PYTHON_REFRESH"] = "quiet"
        return env

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "home").mkdir(exist_ok=True)
        self.group.create()
        argv = self.container.argv(host="127.0.0.1", port=self.pod.port)
        self.started_at = time.monotonic()
        self.process = _spawn(
            self.group.wrap(argv, self.cpu),
            self.root / "replica.log",
            env=self.env(),
            cwd=self.root,
        )

    def wait_ready(self, timeout_s: float = 180.0) -> float:
        """Seconds from start to the readiness probe's first 200."""
        assert self.process is not None
        try:
            wait_http(
                self.url + self.container.readiness_path, timeout_s=timeout_s, process=self.process
            )
        except (RuntimeError, TimeoutError) as error:
            log = (self.root / "replica.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"replica {self.pod.name} did not start: {error}\n{log}") from None
        self.ready_after_s = time.monotonic() - self.started_at
        return self.ready_after_s

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None
        self.group.remove()


class HAProxy:
    """HAProxy 2.6 in front of the replicas: one backend `<namespace>.<service>` (least
    connections, health-checked on the readiness path), its built-in Prometheus exporter on a
    port of its own, and the admin socket to put servers in and out of rotation."""

    def __init__(
        self, root: Path, backend: str, pods: list[Pod], check_path: str, group: CpuGroup, cpu: int
    ) -> None:
        self.root = root
        self.group = group
        self.cpu = cpu
        self.backend = backend
        self.pods = pods
        self.check_path = check_path
        self.port = free_port()
        self.metrics_port = free_port()
        self.socket = root / "haproxy.sock"
        self.process: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        servers = "\n".join(
            f"  server {pod.name} 127.0.0.1:{pod.port} check inter 500ms rise 1 fall 2"
            " maxconn 64 disabled"
            for pod in self.pods
        )
        return f"""global
  maxconn 4096
  nbthread 1
  stats socket {self.socket} mode 600 level admin
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout queue 60s
frontend gateway
  bind 127.0.0.1:{self.port}
  default_backend {self.backend}
frontend metrics
  bind 127.0.0.1:{self.metrics_port}
  http-request use-service prometheus-exporter if {{ path /metrics }}
backend {self.backend}
  balance leastconn
  option httpchk GET {self.check_path}
{servers}
"""

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "haproxy.cfg"
        path.write_text(self.config())
        check = subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy rejected {path}: {check.stdout}{check.stderr}")
        argv = self.group.wrap([HAPROXY, "-db", "-f", str(path)], self.cpu)
        self.process = _spawn(argv, self.root / "haproxy.log")
        wait_http(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout_s=10, process=self.process
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(str(self.socket))
            conn.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def enable(self, pod: Pod) -> None:
        self.command(f"enable server {self.backend}/{pod.name}")

    def disable(self, pod: Pod) -> None:
        self.command(f"disable server {self.backend}/{pod.name}")

    def up(self) -> int:
        """Servers in rotation and passing their health check."""
        lines = self.command(f"show servers state {self.backend}").splitlines()
        # Columns (HAProxy 2.6): ... srv_op_state is the 6th field; 2 = running.
        return sum(1 for line in lines[2:] if line.strip() and line.split()[5] == "2")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


class ProcessExporter:
    """prometheus-process-exporter with one group per replica (`<namespace>.<pod>`), matched on
    the replica's `--port` (its children, the uvicorn worker, count with it)."""

    def __init__(self, root: Path, pods: list[Pod]) -> None:
        self.root = root
        self.pods = pods
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        names = [
            {"name": pod.group, "cmdline": [rf"--port[ =]{pod.port}( |$)"]} for pod in self.pods
        ]
        path = self.root / "process-exporter.yml"
        path.write_text(yaml.safe_dump({"process_names": names}))
        self.process = _spawn(
            [
                PROCESS_EXPORTER,
                f"-config.path={path}",
                f"-web.listen-address=127.0.0.1:{self.port}",
                "-threads=false",
                "-gather-smaps=false",
            ],
            self.root / "process-exporter.log",
        )
        wait_http(f"http://127.0.0.1:{self.port}/metrics", timeout_s=10, process=self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


class Prometheus:
    """The real `prometheus` scraping HAProxy and the process exporter every second."""

    def __init__(self, root: Path, targets: dict[str, int]) -> None:
        self.root = root
        self.targets = targets
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": SCRAPE, "evaluation_interval": SCRAPE},
            "scrape_configs": [
                {
                    "job_name": job,
                    "scrape_interval": SCRAPE,
                    "scrape_timeout": "900ms",
                    "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
                }
                for job, port in sorted(self.targets.items())
            ],
        }
        path = self.root / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self.process = _spawn(
            [
                PROMETHEUS,
                f"--config.file={path}",
                f"--storage.tsdb.path={self.root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            self.root / "prometheus.log",
        )
        wait_http(f"{self.url}/-/ready", timeout_s=30, process=self.process)

    def query(self, expr: str) -> list[dict[str, object]]:
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5).json()
        result: list[dict[str, object]] = body["data"]["result"]
        return result

    def series(self, expr: str, start: float, end: float, step: float = 1.0) -> list[float]:
        """The first series' values of a range query (unix seconds), NaN-free."""
        params: dict[str, str | float] = {"query": expr, "start": start, "end": end, "step": step}
        body = httpx.get(f"{self.url}/api/v1/query_range", params=params, timeout=10).json()
        result = body["data"]["result"]
        if not result:
            return []
        values = (float(v) for _, v in result[0]["values"])
        return [v for v in values if v == v and abs(v) != float("inf")]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        if not result:
            return None
        return float(result[0]["value"][1])  # type: ignore[index]

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None
