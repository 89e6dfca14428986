"""ScaledObjects the scaler has been asked about, learned from the calls' scalerMetadata.

KEDA sends the trigger metadata with every call; it is parsed once per distinct map and cached
by (namespace, name). An invalid map is cached as its error, so a broken ScaledObject costs
little and never disturbs the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from plugins.apa.decision import Bounds, HorizontalWindow, VerticalState
from plugins.apa.metadata import InvalidMetadata, TriggerMetadata
from plugins.apa.prometheus import Key
from plugins.apa.state import Saved

Items = tuple[tuple[str, str], ...]


class Entry:
    """One ScaledObject: its contract, window, learned state and current answer."""

    __slots__ = (
        "active",
        "bounds",
        "items",
        "key",
        "last_call",
        "metadata",
        "metric_name",
        "name",
        "namespace",
        "needs_backfill",
        "value",
        "vertical",
        "window",
        "wire",
    )

    def __init__(self, namespace: str, name: str, items: Items, metadata: TriggerMetadata) -> None:
        self.namespace = namespace
        self.name = name
        self.metric_name = f"apa-replicas-{name}"
        self.vertical = VerticalState.initial(Bounds.from_metadata(metadata))
        self.value: float | None = None  # replicas needed; None = nothing known yet
        self.active: bool | None = None
        self.needs_backfill = True
        self.last_call = 0.0
        self.wire: set[bytes] = set()  # serialized refs known to carry exactly this metadata
        self._apply(items, metadata)

    def _apply(self, items: Items, metadata: TriggerMetadata) -> None:
        self.items = items
        self.metadata = metadata
        self.bounds = Bounds.from_metadata(metadata)
        self.key: Key = (
            metadata.selector("namespace", self.namespace),
            metadata.selector("service", self.name),
        )
        self.window = HorizontalWindow(metadata.window_seconds)
        self.needs_backfill = True

    def update(self, items: Items, metadata: TriggerMetadata) -> None:
        """New metadata (the user changed the spec): keep what was learned, refill the window."""
        self._apply(items, metadata)
        self.vertical = replace(
            self.vertical, target=self.bounds.clamp_target(self.vertical.target)
        )

    @property
    def target(self) -> float:
        return self.vertical.target

    def saved(self) -> Saved:
        return Saved(
            self.namespace, self.name, dict(self.items), self.vertical, self.value, self.active
        )


def _items(metadata: Mapping[str, str]) -> Items:
    return tuple(sorted(metadata.items()))


class Registry:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}
        self._invalid: dict[tuple[str, str], tuple[Items, InvalidMetadata]] = {}
        self.by_key: dict[Key, list[Entry]] = {}
        self.changed = False  # set when the set of entries changes (state to write)
        # Serialized ScaledObjectRef (deterministic bytes: name, namespace, sorted metadata) ->
        # entry. One C-level serialization and a dict lookup per call instead of walking the
        # metadata map: most of the per-call cost at 10,000 objects.
        self._wire: dict[bytes, Entry] = {}
        self._wire_invalid: dict[bytes, InvalidMetadata] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def get(self, namespace: str, name: str) -> Entry | None:
        return self._entries.get((namespace, name))

    def lookup_wire(
        self, wire: bytes, namespace: str, name: str, metadata: Mapping[str, str], now: float
    ) -> Entry:
        """`lookup`, keyed first by the call's serialized ScaledObjectRef."""
        entry = self._wire.get(wire)
        if entry is not None:
            entry.last_call = now
            return entry
        failed = self._wire_invalid.get(wire)
        if failed is not None:
            raise failed
        try:
            entry = self.lookup(namespace, name, metadata, now)
        except InvalidMetadata as error:
            if len(self._wire_invalid) > 10_000:  # bounded: metadata could churn forever
                self._wire_invalid.clear()
            self._wire_invalid[wire] = error
            raise
        entry.wire.add(wire)
        self._wire[wire] = entry
        return entry

    def _forget_wire(self, entry: Entry) -> None:
        for wire in entry.wire:
            self._wire.pop(wire, None)
        entry.wire.clear()

    def lookup(self, namespace: str, name: str, metadata: Mapping[str, str], now: float) -> Entry:
        """The entry for this ScaledObject; raises InvalidMetadata naming the bad key."""
        ref = (namespace, name)
        items = _items(metadata)
        entry = self._entries.get(ref)
        if entry is not None and entry.items == items:
            entry.last_call = now
            return entry
        failed = self._invalid.get(ref)
        if failed is not None and failed[0] == items:
            raise failed[1]
        try:
            parsed = TriggerMetadata.from_metadata(namespace, metadata)
        except InvalidMetadata as error:
            self._invalid[ref] = (items, error)
            raise
        self._invalid.pop(ref, None)
        if entry is None:
            entry = Entry(namespace, name, items, parsed)
            self._entries[ref] = entry
        else:
            self._unindex(entry)
            self._forget_wire(entry)
            entry.update(items, parsed)
        self.by_key.setdefault(entry.key, []).append(entry)
        entry.last_call = now
        self.changed = True
        return entry

    def restore(self, saved: Saved, now: float) -> Entry | None:
        """Re-register a ScaledObject from the state file (None if its metadata is now invalid)."""
        try:
            entry = self.lookup(saved.namespace, saved.name, saved.metadata, now)
        except InvalidMetadata:
            return None
        entry.vertical = replace(
            saved.vertical, target=entry.bounds.clamp_target(saved.vertical.target)
        )
        entry.value = saved.value
        entry.active = saved.active
        return entry

    def evict_idle(self, older_than: float) -> int:
        """Forget ScaledObjects not asked about since `older_than` (deleted ones)."""
        stale = [ref for ref, e in self._entries.items() if e.last_call < older_than]
        for ref in stale:
            entry = self._entries.pop(ref)
            self._unindex(entry)
            self._forget_wire(entry)
        self._invalid = {r: v for r, v in self._invalid.items() if r in self._entries}
        self._wire_invalid.clear()
        if stale:
            self.changed = True
        return len(stale)

    def _unindex(self, entry: Entry) -> None:
        siblings = self.by_key.get(entry.key, [])
        if entry in siblings:
            siblings.remove(entry)
        if not siblings:
            self.by_key.pop(entry.key, None)
