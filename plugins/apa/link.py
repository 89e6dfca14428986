"""Messages between the gRPC process and its sampler process: pickled tuples over a socketpair.

Both ends are this program (the sampler is our own child, started with the socket inherited),
so pickle is safe here. Messages are small and rare next to the calls: a registration per new
ScaledObject, a notification per tick.

gRPC -> sampler: ("register", slot, namespace, name, items), ("restore", slot, Saved),
  ("invalid", key), ("forget", [(slot, namespace, name)]), ("start",), ("stop",)
sampler -> gRPC: ("ready",) or ("error", text) once started, ("ticked", health_text) after every
  horizontal tick, ("answered", health_text) after a registration, ("released", [slot])
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import socket
from typing import Any

Message = tuple[Any, ...]


class Channel:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, sock: socket.socket) -> Channel:
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    def send(self, *message: Any) -> None:
        """Queue a message (never blocks; the event loop writes it)."""
        if self._writer.is_closing():
            return  # the peer is gone; whoever reads the channel sees the end and stops
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._writer.write(len(data).to_bytes(4, "big") + data)

    async def recv(self) -> Message | None:
        """The next message; None once the peer has closed its end (or died)."""
        try:
            header = await self._reader.readexactly(4)
            body = await self._reader.readexactly(int.from_bytes(header, "big"))
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        message: Message = pickle.loads(body)
        return message

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()

    def close(self) -> None:
        self._writer.close()
