"""The APA scaler under KEDA-like load, beside a no-op grpcio asyncio server, in one run.

    python bench/scaler.py [--objects 10000] [--seconds 10] [--callers 16 64]

1. A synthetic Prometheus (a loopback HTTP server in this process) answers every range query
   with one series per ScaledObject. The real scaler (`knobless scaler`, a subprocess) registers
   `--objects` ScaledObjects (GetMetricSpec with KEDA-style metadata), samples every second.
2. GetMetrics from one asyncio gRPC channel with N concurrent callers for `--seconds`, cycling
   through the objects; then the same client against a no-op ExternalScaler (a subprocess that
   returns a constant). Prints rps, p50/p99/p99.9, the servers' RSS (the scaler's: its gRPC
   process plus its sampler process, summed; peaks summed too), and the ratios.
3. One horizontal tick's processing for `--objects` endpoints in this process (parse the
   query_range response, feed every window, recompute every answer): CPU time, warm and backfill.

Targets (issue 4): >= 0.5x the no-op throughput, p99 within 2x, RSS < 300 MB, tick < 200 ms CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import grpc
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from plugins.apa.config import ScalerConfig  # noqa: E402
from plugins.apa.decision import rate_range  # noqa: E402
from plugins.apa.metadata import TriggerMetadata  # noqa: E402
from plugins.apa.prometheus import PrometheusClient  # noqa: E402
from plugins.apa.proto import externalscaler_pb2 as pb  # noqa: E402
from plugins.apa.proto import externalscaler_pb2_grpc as pb_grpc  # noqa: E402
from plugins.apa.registry import Registry  # noqa: E402
from plugins.apa.sampler import Sampler, tune_gc  # noqa: E402
from plugins.apa.telemetry import Telemetry  # noqa: E402

NAMESPACE = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def name(i: int) -> str:
    return f"so-{i:05d}-v1"


def metadata(i: int) -> dict[str, str]:
    m = TriggerMetadata(
        endpoint=f"so-{i:05d}",
        served="v1",
        namespace=NAMESPACE,
        runtime="mlflow",
        concurrency_min=0 if i % 3 else 4,
        concurrency_max=200,
        per_replica_min=1,
        per_replica_max=32,
        per_replica_initial=8,
        selectors=(("container", "model"), ("namespace", NAMESPACE), ("service", name(i))),
    )
    return {"scalerAddress": "apa-0.apa.knobless-system:9090", **m.to_metadata()}


def matrix(objects: int, start: float, end: float, step: float) -> bytes:
    """A query_range response: one series per object, a point per step."""
    count = max(1, round((end - start) / step) + 1)
    times = [start + k * step for k in range(count)]
    parts = []
    for i in range(objects):
        values = ",".join(f'[{t:.3f},"{(i % 97) * 0.37 + (t % 7):.4f}"]' for t in times)
        parts.append(
            f'{{"metric":{{"namespace":"{NAMESPACE}","service":"{name(i)}"}},"values":[{values}]}}'
        )
    body = '{"status":"success","data":{"resultType":"matrix","result":[' + ",".join(parts)
    return (body + "]}}").encode()


def synthetic_prometheus(
    objects: int, port: int = 0, *, background: bool = True
) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            body = matrix(
                objects,
                float(query["start"][0]),
                float(query["end"][0]),
                float(query["step"][0]),
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    if background:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    else:
        server.serve_forever()
    return server, f"http://127.0.0.1:{server.server_port}"


class NoopScaler(pb_grpc.ExternalScalerServicer):
    async def GetMetrics(self, request, context):
        return pb.GetMetricsResponse(
            metricValues=[pb.MetricValue(metricName=request.metricName, metricValueFloat=1.0)]
        )

    async def GetMetricSpec(self, request, context):
        return pb.GetMetricSpecResponse(
            metricSpecs=[pb.MetricSpec(metricName="noop", targetSizeFloat=1.0)]
        )


def run_noop_server(port: int) -> None:
    async def main() -> None:
        server = grpc.aio.server()
        pb_grpc.add_ExternalScalerServicer_to_server(NoopScaler(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()

    asyncio.run(main())


def _tree(pid: int) -> list[int]:
    """The process and its descendants (the scaler runs its sampler as a child process)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            pids.extend(_tree(int(child)))
    return pids


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB of a process and its children, summed: pages the processes
    share (the interpreter, libraries) count once per process, so this overstates a little."""
    current = peak = 0.0
    for member in _tree(pid):
        fields = {}
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        current += int(fields["VmRSS"].split()[0]) / 1024
        peak += int(fields["VmHWM"].split()[0]) / 1024
    return current, peak


def pss_mb(pid: int) -> float:
    """Proportional set size in MB of a process and its children, summed: each shared page
    counted once over the processes (what a container's memory accounting sees)."""
    total = 0
    for member in _tree(pid):
        for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children."""
    total = 0
    for member in _tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def requests(objects: int) -> list[pb.GetMetricsRequest]:
    return [
        pb.GetMetricsRequest(
            scaledObjectRef=pb.ScaledObjectRef(
                name=name(i), namespace=NAMESPACE, scalerMetadata=metadata(i)
            ),
            metricName=f"apa-replicas-{name(i)}",
        )
        for i in range(objects)
    ]


async def load(address: str, reqs: list[pb.GetMetricsRequest], callers: int, seconds: float):
    latencies: list[float] = []
    errors = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.ExternalScalerStub(channel)
        await stub.GetMetrics(reqs[0], timeout=10)
        deadline = time.perf_counter() + seconds

        async def caller(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    await stub.GetMetrics(reqs[i % len(reqs)], timeout=10)
                    latencies.append(time.perf_counter() - started)
                except grpc.RpcError:
                    errors += 1
                i += callers

        began = time.perf_counter()
        await asyncio.gather(*(caller(k) for k in range(callers)))
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, math.ceil(q * len(latencies)) - 1)] * 1000

    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "p999_ms": pct(0.999),
        "errors": errors,
    }


def wait_grpc(address: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(address) as channel:
                grpc.channel_ready_future(channel).result(timeout=1)
                return
        except grpc.FutureTimeoutError:
            time.sleep(0.2)
    raise RuntimeError(f"{address} did not start")


FIRST_WINDOW_S = 600.0


async def register(address: str, reqs: list[pb.GetMetricsRequest]) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.ExternalScalerStub(channel)
        for start in range(0, len(reqs), 500):
            await asyncio.gather(
                *(
                    stub.GetMetricSpec(r.scaledObjectRef, timeout=30)
                    for r in reqs[start : start + 500]
                )
            )
        # Every answer exists once a tick has backfilled the new objects; the first window
        # (20 points for every series) took 132 s at 10,000 series, so wait well past that.
        deadline = time.monotonic() + FIRST_WINDOW_S
        while time.monotonic() < deadline:
            try:
                await stub.GetMetrics(reqs[-1], timeout=30)
                return
            except grpc.RpcError:
                await asyncio.sleep(0.5)


def tick_cpu(objects: int) -> tuple[float, float]:
    """CPU seconds of one horizontal tick over `objects` endpoints, response bodies prebuilt:
    (first tick: every object's window and look-back, the instants the sampler asks for; steady:
    median of 10 one-point ticks). The garbage collector is tuned as the server tunes it."""
    tune_gc()
    second = math.floor(time.time())
    config = ScalerConfig()
    bodies: dict[tuple[float, float], bytes] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        return httpx.Response(200, content=bodies[(float(q["start"]), float(q["end"]))])

    async def main() -> tuple[float, float]:
        client = PrometheusClient(
            "http://prometheus", timeout_s=10, transport=httpx.MockTransport(handler)
        )
        registry = Registry(rate_range(config.queries["requests"]))  # as the scaler runs
        for i in range(objects):
            registry.lookup(NAMESPACE, name(i), metadata(i), 0.0)
        sampler = Sampler(registry, client, config, Telemetry())
        # The first tick fills each window and what its guard, estimate and backlog allowance
        # look back before it (20 + 272 s by default), then 10 steady ticks.
        span = max(e.metadata.window_seconds + e.window.lookback_s for e in registry)
        results = []
        for k in range(11):
            t = sampler.aligned(second + k)
            start = t - math.ceil(span) + 1 if k == 0 else t
            bodies[(start, t)] = matrix(objects, start, t, 1.0)
            began = time.process_time()
            await sampler.horizontal_tick(second + k)
            results.append(time.process_time() - began)
        await client.aclose()
        assert all(e.value is not None for e in registry)
        return results[0], statistics.median(results[1:])

    return asyncio.run(main())


def measure(label: str, address: str, pid: int, reqs, callers_list, seconds):
    rows = {}
    for callers in callers_list:
        began, cpu = time.perf_counter(), cpu_s(pid)
        result = asyncio.run(load(address, reqs, callers, seconds))
        result["cpu_cores"] = (cpu_s(pid) - cpu) / (time.perf_counter() - began)
        result["rss_mb"], result["peak_rss_mb"] = rss_mb(pid)
        result["pss_mb"] = pss_mb(pid)
        rows[callers] = result
        print(
            f"{label:8s} callers={callers:3d} rps={result['rps']:7.0f} "
            f"p50={result['p50_ms']:6.2f}ms p99={result['p99_ms']:6.2f}ms "
            f"p99.9={result['p999_ms']:6.2f}ms errors={result['errors']} "
            f"cpu={result['cpu_cores']:.2f} cores rss={result['rss_mb']:.0f}MB "
            f"peak={result['peak_rss_mb']:.0f}MB pss={result['pss_mb']:.0f}MB",
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callers", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--noop-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--prometheus-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.noop_server:
        run_noop_server(args.noop_server)
        return 0
    if args.prometheus_server:
        synthetic_prometheus(args.objects, args.prometheus_server, background=False)
        return 0

    backfill, steady = tick_cpu(args.objects)
    print(
        f"tick    objects={args.objects} cpu steady={steady * 1000:.0f}ms "
        f"backfill(window + look-back)={backfill * 1000:.0f}ms",
        flush=True,
    )
    reqs = requests(args.objects)
    # The synthetic Prometheus runs in its own process: it must not steal the client's GIL.
    prometheus_port = free_port()
    prometheus = subprocess.Popen(
        [sys.executable, __file__, "--prometheus-server", str(prometheus_port),
         "--objects", str(args.objects)],
        cwd=REPO,
    )  # fmt: skip
    url = f"http://127.0.0.1:{prometheus_port}"
    results = {}
    port = free_port()
    scaler = subprocess.Popen(
        [sys.executable, "-m", "compiler", "scaler", "--listen", f"127.0.0.1:{port}",
         "--prometheus", url, "--log-level", "WARNING"],
        cwd=REPO,
    )  # fmt: skip
    try:
        wait_grpc(f"127.0.0.1:{port}")
        began = time.perf_counter()
        asyncio.run(register(f"127.0.0.1:{port}", reqs))
        print(f"registered {args.objects} ScaledObjects in {time.perf_counter() - began:.1f}s")
        results["scaler"] = measure(
            "scaler", f"127.0.0.1:{port}", scaler.pid, reqs, args.callers, args.seconds
        )
    finally:
        scaler.terminate()
        scaler.wait(30)
        prometheus.terminate()
        prometheus.wait(30)
    port = free_port()
    noop = subprocess.Popen([sys.executable, __file__, "--noop-server", str(port)], cwd=REPO)
    try:
        wait_grpc(f"127.0.0.1:{port}")
        results["noop"] = measure(
            "noop", f"127.0.0.1:{port}", noop.pid, reqs, args.callers, args.seconds
        )
    finally:
        noop.terminate()
        noop.wait(30)
    for callers in args.callers:
        s, n = results["scaler"][callers], results["noop"][callers]
        print(
            f"ratio   callers={callers:3d} throughput={s['rps'] / n['rps']:.2f}x (target >= 0.5) "
            f"p99={s['p99_ms'] / n['p99_ms']:.2f}x (target <= 2) "
            f"p99.9={s['p999_ms'] / n['p999_ms']:.2f}x"
        )
    peak = max(r["peak_rss_mb"] for r in results["scaler"].values())
    pss = max(r["pss_mb"] for r in results["scaler"].values())
    print(
        f"scaler peak RSS {peak:.0f} MB (both processes summed; target < 300), PSS {pss:.0f} MB; "
        f"tick steady {steady * 1000:.0f} ms CPU (target < 200)"
    )
    if args.json:
        print(json.dumps({"tick_cpu_s": {"steady": steady, "backfill": backfill}, **results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
