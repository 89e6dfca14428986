"""The answer table the sampler process writes and the gRPC process reads: shared memory.

The gRPC process does nothing but answer calls; the sampler (Prometheus queries, windows,
vertical decisions) runs in a process of its own, so a tick never holds the gRPC event loop or
its GIL. Each ScaledObject owns a slot (assigned by the gRPC process): two float64s, the replicas
needed and the activity (NaN = not known yet). Reading one is an index into a memoryview: no
message, no lock, nothing per tick on the gRPC side. An aligned float64 is written and read whole
on the platforms we run on (x86-64, arm64), so a reader sees the old or the new answer, never a
mix; a slot's two values may come from consecutive ticks for the instant between two writes,
which is what a call landing mid-tick saw before.

The table is a memfd (Linux): created by the gRPC process, inherited by the sampler process,
sparse (only the pages of used slots take memory).
"""

from __future__ import annotations

import math
import mmap
import os

CAPACITY = 1 << 20
"""Slots per table: 16 MiB of address space, 160 KB resident for 10,000 ScaledObjects."""

_NAN = math.nan


class AnswerTable:
    __slots__ = ("_map", "_view", "capacity", "fd")

    def __init__(self, fd: int, capacity: int = CAPACITY) -> None:
        self.fd = fd
        self.capacity = capacity
        self._map = mmap.mmap(fd, capacity * 16)
        self._view = memoryview(self._map).cast("d")

    @classmethod
    def create(cls, capacity: int = CAPACITY) -> AnswerTable:
        fd = os.memfd_create("knobless-apa-answers", 0)  # inheritable by pass_fds only
        os.ftruncate(fd, capacity * 16)
        return cls(fd, capacity)

    def value(self, slot: int) -> float:
        """Replicas needed; NaN while unknown (test with `v != v`, the cheapest NaN check)."""
        return self._view[slot << 1]

    def active(self, slot: int) -> bool | None:
        active = self._view[(slot << 1) + 1]
        return None if active != active else active != 0.0

    def set(self, slot: int, value: float | None, active: bool | None) -> None:
        view = self._view
        view[slot << 1] = _NAN if value is None else value
        view[(slot << 1) + 1] = _NAN if active is None else float(active)

    def clear(self, slot: int) -> None:
        self.set(slot, None, None)

    def close(self) -> None:
        self._view.release()
        self._map.close()
        os.close(self.fd)
