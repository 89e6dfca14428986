"""The sampler process: Prometheus queries, windows, vertical decisions, state file, /metrics.

Started by the gRPC process (`server.py`) as `python -m plugins.apa SOCKET_FD TABLE_FD`
(`__main__.py`) with a socketpair end and the answer table inherited. A tick over 10,000 ScaledObjects takes
about 100 ms of CPU every second and a vertical round more; in the gRPC process that time held
every call queued behind it (p99 4x a no-op server's). Here it only shares the cores, and the
gRPC process reads the answers from shared memory (`answers.py`).

It never imports grpc: a fresh interpreter (not a fork of one running grpc's threads), and a
smaller one. It ends when told to, or when the gRPC process is gone (end of the socket), writing
the state file last either way.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from plugins.apa.answers import AnswerTable
from plugins.apa.config import ScalerConfig
from plugins.apa.decision import rate_range
from plugins.apa.link import Channel
from plugins.apa.metadata import InvalidMetadata
from plugins.apa.prometheus import PrometheusClient
from plugins.apa.registry import Entry, Registry
from plugins.apa.sampler import Sampler, tune_gc
from plugins.apa.state import Saved
from plugins.apa.telemetry import Telemetry, serve_http

log = logging.getLogger("knobless.scaler")


@dataclass(frozen=True)
class WorkerSettings:
    """The first message the gRPC process sends."""

    prometheus_url: str
    config: ScalerConfig
    state_path: Path | None
    metrics_listen: tuple[str, int] | None
    log_level: str
    capacity: int


class Worker:
    def __init__(self, channel: Channel, table: AnswerTable, settings: WorkerSettings) -> None:
        self.channel = channel
        self.table = table
        self.telemetry = Telemetry()
        self.registry = Registry(rate_range(settings.config.queries["requests"]))
        self.client = PrometheusClient(
            settings.prometheus_url, timeout_s=settings.config.query_timeout_s
        )
        self.sampler = Sampler(
            self.registry,
            self.client,
            settings.config,
            self.telemetry,
            state_path=settings.state_path,
            on_tick=self._ticked,
        )
        registry = self.registry
        self.telemetry.watch(lambda: [(e.namespace, e.name, e.target, e.value) for e in registry])

    def _publish(self, entry: Entry) -> None:
        if entry.slot >= 0:
            self.table.set(entry.slot, entry.value, entry.active)

    def _ticked(self) -> None:
        table_set = self.table.set
        for entry in self.registry:
            if entry.slot >= 0:
                table_set(entry.slot, entry.value, entry.active)
        self.channel.send("ticked", self.telemetry.health_text())

    def handle(self, message: tuple[object, ...]) -> bool:
        """Apply one message from the gRPC process; False when told to stop."""
        kind = message[0]
        now = time.time()
        if kind == "register":
            _, slot, namespace, name, items = message
            try:
                entry = self.registry.lookup(str(namespace), str(name), dict(items), now)  # type: ignore[call-overload]
            except InvalidMetadata as error:  # validated by the gRPC process: a bug if seen
                log.error("%s/%s: %s", namespace, name, error)
                return True
            entry.slot = int(slot)  # type: ignore[call-overload]
            self.sampler.answer_now(entry)
            self._publish(entry)
            self.channel.send("answered", self.telemetry.health_text())
        elif kind == "restore":
            _, slot, saved = message
            assert isinstance(saved, Saved)
            restored = self.registry.restore(saved, now)
            if restored is not None:
                restored.slot = int(slot)  # type: ignore[call-overload]
                self._publish(restored)
        elif kind == "invalid":
            self.telemetry.invalid_metadata.labels(str(message[1])).inc()
        elif kind == "forget":
            released = []
            for slot, namespace, name in message[1]:  # type: ignore[attr-defined]
                self.registry.remove(namespace, name)
                released.append(slot)
            self.log_forgotten(len(released))
            self.channel.send("released", released)
        elif kind == "stop":
            return False
        return True

    @staticmethod
    def log_forgotten(count: int) -> None:
        if count:
            log.info("forgot %d ScaledObjects KEDA stopped asking about", count)

    async def serve(self, metrics_listen: tuple[str, int] | None) -> int:
        # Before "ready": the start-up messages (restores), then the metrics port.
        while True:
            message = await self.channel.recv()
            if message is None:
                return 1
            if message[0] == "start":
                break
            self.handle(message)
        http = None
        if metrics_listen is not None:
            try:
                http, _ = serve_http(self.telemetry, *metrics_listen)
            except OSError as error:
                self.channel.send(
                    "error", f"{metrics_listen[0]}:{metrics_listen[1]}: {error.strerror}"
                )
                await self.channel.drain()
                return 1
        self.channel.send("ready")
        stop = asyncio.Event()
        sampling = asyncio.create_task(self.sampler.run(stop))
        try:
            while True:
                message = await self.channel.recv()
                if message is None or not self.handle(message):
                    break
        finally:
            stop.set()
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
            await self.sampler.stop_vertical()
            self.sampler.save_state()  # last: nothing moves after this
            await self.client.aclose()
            if http is not None:
                http.shutdown()
                http.server_close()
            self.channel.send("stopped")
            await self.channel.drain()
        return 0


async def _main(sock: socket.socket, table_fd: int) -> int:
    channel = await Channel.open(sock)
    first = await channel.recv()
    if first is None:
        return 1
    settings = first[1]
    assert isinstance(settings, WorkerSettings)
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per query per second
    tune_gc()
    table = AnswerTable(table_fd, settings.capacity)
    return await Worker(channel, table, settings).serve(settings.metrics_listen)


def main(argv: list[str]) -> int:
    # Ctrl-C (or a SIGTERM to the whole group) reaches this process too: the gRPC process
    # decides when it stops, after its calls have drained; its end closes the socket anyway.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket(fileno=int(argv[0]))
    return asyncio.run(_main(sock, int(argv[1])))
