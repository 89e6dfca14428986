"""The gRPC process's view of the ScaledObjects: which slot of the answer table answers a call.

KEDA sends the trigger metadata with every call; it is validated once per distinct map and
cached by the call's serialized ScaledObjectRef (deterministic bytes: name, namespace, sorted
metadata), so the same map always gives the same key and a new key for a known ScaledObject
means its metadata changed. An invalid map is cached as its error, so a broken ScaledObject
costs little and never disturbs the others. What the sampler needs (the metadata, parsed again
there) travels once, on registration; this process keeps no copy of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from plugins.apa.metadata import InvalidMetadata, TriggerMetadata

Items = tuple[tuple[str, str], ...]


class TableFull(Exception):
    """Every slot of the answer table is taken."""


class Slot:
    """One ScaledObject known to the gRPC process."""

    __slots__ = ("index", "last_call", "metric_name", "name", "namespace", "wire")

    def __init__(self, index: int, namespace: str, name: str) -> None:
        self.index = index
        self.namespace = namespace
        self.name = name
        self.metric_name = f"apa-replicas-{name}"
        self.last_call = 0.0
        self.wire: set[bytes] = set()  # serialized refs known to carry exactly this metadata


class Directory:
    def __init__(self, capacity: int, on_register: Callable[[Slot, bool, Items], None]) -> None:
        """`on_register(slot, new, items)` runs for every new ScaledObject or changed metadata
        (`items`: the metadata map, sorted)."""
        self._capacity = capacity
        self._on_register = on_register
        self._slots: dict[tuple[str, str], Slot] = {}
        self._invalid: dict[tuple[str, str], tuple[Items, InvalidMetadata]] = {}
        # Digest of the serialized ScaledObjectRef (deterministic bytes: name, namespace, sorted
        # metadata) -> slot. One C-level serialization, a hash and a dict lookup per call
        # instead of walking the metadata map.
        self._wire: dict[bytes, Slot] = {}
        self._wire_invalid: dict[bytes, InvalidMetadata] = {}
        self._free: list[int] = []
        self._next = 0

    def __len__(self) -> int:
        return len(self._slots)

    def lookup_wire(
        self, wire: bytes, namespace: str, name: str, metadata: Mapping[str, str], now: float
    ) -> Slot:
        """`lookup`, keyed first by the call's serialized ScaledObjectRef."""
        slot = self._wire.get(wire)
        if slot is not None:
            slot.last_call = now
            return slot
        failed = self._wire_invalid.get(wire)
        if failed is not None:
            raise failed
        try:
            slot = self.lookup(namespace, name, metadata, now)
        except InvalidMetadata as error:
            if len(self._wire_invalid) > 10_000:  # bounded: metadata could churn forever
                self._wire_invalid.clear()
            self._wire_invalid[wire] = error
            raise
        slot.wire.add(wire)
        self._wire[wire] = slot
        return slot

    def lookup(
        self,
        namespace: str,
        name: str,
        metadata: Mapping[str, str],
        now: float,
        *,
        announce: bool = True,
    ) -> Slot:
        """The slot of this ScaledObject; raises InvalidMetadata naming the bad key, TableFull.
        `announce=False` skips `on_register` (a restore sends its own message)."""
        ref = (namespace, name)
        items = tuple(sorted(metadata.items()))
        failed = self._invalid.get(ref)
        if failed is not None and failed[0] == items:
            raise failed[1]
        try:
            TriggerMetadata.from_metadata(namespace, metadata)
        except InvalidMetadata as error:
            self._invalid[ref] = (items, error)
            raise
        self._invalid.pop(ref, None)
        slot = self._slots.get(ref)
        new = slot is None
        if slot is None:
            slot = Slot(self._allocate(), namespace, name)
            self._slots[ref] = slot
        else:  # the user changed the spec: same slot, the sampler keeps what it learned
            self._forget_wire(slot)
        slot.last_call = now
        if announce:
            self._on_register(slot, new, items)
        return slot

    def _allocate(self) -> int:
        if self._free:
            return self._free.pop()
        if self._next >= self._capacity:
            raise TableFull(f"more than {self._capacity} ScaledObjects on one scaler")
        self._next += 1
        return self._next - 1

    def _forget_wire(self, slot: Slot) -> None:
        for wire in slot.wire:
            self._wire.pop(wire, None)
        slot.wire.clear()

    def take_idle(self, older_than: float) -> list[Slot]:
        """Remove and return the ScaledObjects not asked about since `older_than` (deleted
        ones). Their slots stay taken until `release`: the sampler may still be writing them."""
        stale = [ref for ref, s in self._slots.items() if s.last_call < older_than]
        removed = []
        for ref in stale:
            slot = self._slots.pop(ref)
            self._forget_wire(slot)
            removed.append(slot)
        self._invalid = {r: v for r, v in self._invalid.items() if r in self._slots}
        self._wire_invalid.clear()
        return removed

    def release(self, indexes: list[int]) -> None:
        """The sampler has stopped writing these slots: they can be reused."""
        self._free.extend(indexes)
