"""Wiring of one scaler process: registry, sampler, gRPC service, health and metrics.

Everything is constructed here and passed in; nothing lives at module level.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from plugins.apa.config import ScalerConfig
from plugins.apa.prometheus import PrometheusClient
from plugins.apa.proto import externalscaler_pb2_grpc as pb_grpc
from plugins.apa.registry import Registry
from plugins.apa.sampler import Sampler
from plugins.apa.service import ExternalScaler
from plugins.apa.state import load
from plugins.apa.telemetry import Telemetry, serve_http

log = logging.getLogger("knobless.scaler")
SERVICE_NAME = "externalscaler.ExternalScaler"


@dataclass(frozen=True)
class TLSFiles:
    cert: Path
    key: Path
    client_ca: Path | None = None


@dataclass(frozen=True)
class ServerOptions:
    listen: str
    prometheus_url: str
    config: ScalerConfig
    state_path: Path | None = None
    tls: TLSFiles | None = None
    metrics_listen: str | None = None


def _credentials(tls: TLSFiles) -> grpc.ServerCredentials:
    ca = tls.client_ca.read_bytes() if tls.client_ca else None
    return grpc.ssl_server_credentials(
        [(tls.key.read_bytes(), tls.cert.read_bytes())],
        root_certificates=ca,
        require_client_auth=ca is not None,  # mTLS: KEDA presents its client certificate
    )


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def tune_gc() -> None:
    """Every tick allocates an object or two per ScaledObject; with CPython's default threshold
    (700) that triggers collections scanning the long-lived registry: measured, over half of a
    10,000-object tick. Ticks build no reference cycles, so collect far less often."""
    gc.set_threshold(50_000, 20, 100)


async def serve(options: ServerOptions, stop: asyncio.Event) -> None:
    """Run until `stop` is set, then shut down cleanly (state written last)."""
    tune_gc()
    telemetry = Telemetry()
    registry = Registry()
    client = PrometheusClient(options.prometheus_url, timeout_s=options.config.query_timeout_s)
    sampler = Sampler(registry, client, options.config, telemetry, state_path=options.state_path)
    if options.state_path is not None:
        now = time.time()
        restored = [registry.restore(saved, now) for saved in load(options.state_path)]
        log.info(
            "restored %d ScaledObjects from %s", sum(1 for r in restored if r), options.state_path
        )
    telemetry.watch(lambda: [(e.namespace, e.name, e.target, e.value) for e in registry])

    server = grpc.aio.server(
        options=[("grpc.so_reuseport", 0), ("grpc.max_concurrent_streams", 1000)]
    )
    pb_grpc.add_ExternalScalerServicer_to_server(
        ExternalScaler(registry, sampler, telemetry, stop), server
    )
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    try:
        if options.tls is not None:
            port = server.add_secure_port(options.listen, _credentials(options.tls))
        else:
            port = server.add_insecure_port(options.listen)
    except RuntimeError as error:  # grpc reports a failed bind as RuntimeError
        raise OSError(f"--listen {options.listen}: cannot listen: {error}") from None
    if port == 0:
        raise OSError(f"--listen {options.listen}: cannot listen")
    http = None
    if options.metrics_listen:
        try:
            http, _ = serve_http(telemetry, *_split(options.metrics_listen))
        except OSError as error:
            raise OSError(f"--metrics-listen {options.metrics_listen}: {error.strerror}") from None
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("scaler listening on %s (Prometheus %s)", options.listen, options.prometheus_url)
    sampling = asyncio.create_task(sampler.run(stop))
    evicting = asyncio.create_task(_evict_loop(sampler, stop))
    try:
        await stop.wait()
    finally:
        for name in ("", SERVICE_NAME):
            await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await server.stop(grace=2.0)
        for task in (sampling, evicting):
            task.cancel()
        await asyncio.gather(sampling, evicting, return_exceptions=True)
        sampler.save_state()
        await client.aclose()
        if http is not None:
            http.shutdown()
            http.server_close()


async def _evict_loop(sampler: Sampler, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=60.0)
        except TimeoutError:
            sampler.evict()


def run(options: ServerOptions) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(options, stop)

    asyncio.run(main())
    return 0
