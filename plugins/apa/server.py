"""Wiring of the scaler: the gRPC process (service, health) and its sampler process.

The gRPC process answers calls and nothing else; the sampler process (`worker.py`) queries
Prometheus, decides, writes the state file and serves /metrics, and publishes every answer into
a shared table (`answers.py`). Everything is constructed here and passed in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from plugins.apa.answers import AnswerTable
from plugins.apa.config import ScalerConfig
from plugins.apa.directory import Directory, Items, Slot
from plugins.apa.link import Channel
from plugins.apa.metadata import InvalidMetadata
from plugins.apa.proto import externalscaler_pb2_grpc as pb_grpc
from plugins.apa.service import ExternalScaler, Link
from plugins.apa.state import load
from plugins.apa.worker import WorkerSettings

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
    log_level: str = "INFO"


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


async def serve(options: ServerOptions, stop: asyncio.Event) -> int:
    """Run until `stop` is set, then shut down cleanly (state written last). Returns the exit
    code: 1 when the sampler process ended on its own."""
    saved = load(options.state_path) if options.state_path is not None else []
    table = AnswerTable.create()
    ours, theirs = socket.socketpair()
    worker = _spawn(theirs, table)
    theirs.close()
    link = Link(await Channel.open(ours))
    channel = link.channel

    def register(slot: Slot, new: bool, items: Items) -> None:
        if new:
            table.clear(slot.index)  # a reused slot: nothing from its previous owner
        channel.send("register", slot.index, slot.namespace, slot.name, items)

    directory = Directory(table.capacity, register)
    pump: asyncio.Task[None] | None = None
    server: grpc.aio.Server | None = None
    try:
        channel.send(
            "settings",
            WorkerSettings(
                prometheus_url=options.prometheus_url,
                config=options.config,
                state_path=options.state_path,
                metrics_listen=_split(options.metrics_listen) if options.metrics_listen else None,
                log_level=options.log_level,
                capacity=table.capacity,
            ),
        )
        now = time.time()
        restored = 0
        for entry in saved:
            try:
                slot = directory.lookup(
                    entry.namespace, entry.name, entry.metadata, now, announce=False
                )
            except InvalidMetadata:
                continue  # the compiler has changed since: KEDA's next call registers it
            table.clear(slot.index)
            channel.send("restore", slot.index, entry)
            restored += 1
        if options.state_path is not None:
            log.info("restored %d ScaledObjects from %s", restored, options.state_path)
        channel.send("start")
        started = await channel.recv()  # after the restores: answered from the first call on
        if started is None:
            raise OSError("the sampler process ended during start-up (see its log above)")
        if started[0] == "error":
            raise OSError(f"--metrics-listen {started[1]}")
        pump = asyncio.create_task(_pump(link, directory, stop))
        server = await _start_grpc(options, directory, table, link, stop)
        await stop.wait()
    finally:
        if server is not None:
            await server.stop(grace=2.0)
        channel.send("stop")
        await channel.drain()
        await _wait_ended(worker, pump)
        channel.close()
        table.close()
    return 1 if link.failed else 0


async def _start_grpc(
    options: ServerOptions,
    directory: Directory,
    table: AnswerTable,
    link: Link,
    stop: asyncio.Event,
) -> grpc.aio.Server:
    server = grpc.aio.server(
        options=[("grpc.so_reuseport", 0), ("grpc.max_concurrent_streams", 1000)]
    )
    pb_grpc.add_ExternalScalerServicer_to_server(
        ExternalScaler(directory, table, link, options.config.first_answer_wait_s, stop), server
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
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("scaler listening on %s (Prometheus %s)", options.listen, options.prometheus_url)
    evicting = asyncio.create_task(_evict_loop(directory, link, options.config, stop))

    async def stopping() -> None:
        await stop.wait()
        for name in ("", SERVICE_NAME):
            await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        evicting.cancel()

    _background.add(asyncio.create_task(stopping()))
    return server


_background: set[asyncio.Task[None]] = set()  # strong references to fire-and-forget tasks


def _spawn(sock: socket.socket, table: AnswerTable) -> subprocess.Popen[bytes]:
    """The sampler process: a fresh interpreter (exec, no fork of grpc's threads)."""
    root = str(Path(__file__).resolve().parents[2])  # importable from any working directory
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}"}
    fds = (sock.fileno(), table.fd)
    return subprocess.Popen(
        [sys.executable, "-m", "plugins.apa", *map(str, fds)],
        pass_fds=fds,
        env=env,
        stdin=subprocess.DEVNULL,
    )


async def _pump(link: Link, directory: Directory, stop: asyncio.Event) -> None:
    """Messages from the sampler process, until it ends."""
    while True:
        message = await link.channel.recv()
        if message is None or message[0] == "stopped":
            break
        kind = message[0]
        if kind in ("ticked", "answered"):
            link.notify(message[1])
        elif kind == "released":
            directory.release(message[1])
    if message is None and not stop.is_set():
        log.error("the sampler process ended unexpectedly; stopping (exit 1)")
        link.failed = True
        stop.set()


async def _wait_ended(worker: subprocess.Popen[bytes], pump: asyncio.Task[None] | None) -> None:
    """Let the sampler write its state and exit; kill it if it does not within 30 s."""
    try:
        if pump is not None:
            await asyncio.wait_for(asyncio.shield(pump), 30)
        await asyncio.wait_for(asyncio.to_thread(worker.wait), 30)
    except TimeoutError:
        log.error("the sampler process did not stop: killed")
        worker.kill()
        await asyncio.to_thread(worker.wait)


async def _evict_loop(
    directory: Directory, link: Link, config: ScalerConfig, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=60.0)
        except TimeoutError:
            idle = directory.take_idle(time.time() - config.evict_after_s)
            if idle:
                link.channel.send("forget", [(s.index, s.namespace, s.name) for s in idle])


def run(options: ServerOptions) -> int:
    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await serve(options, stop)

    return asyncio.run(main())
