"""The sampler's ScaledObjects: contract, window, learned state and current answer of each.

The gRPC process (`directory.py`) validates the metadata KEDA sends and registers each distinct
map here once, with the slot of the answer table it reads the answers from. `lookup` parses it
again (once per distinct map) and caches by (namespace, name).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace

from plugins.apa.decision import Bounds, HorizontalWindow, VerticalState
from plugins.apa.metadata import InvalidMetadata, TriggerMetadata
from plugins.apa.prometheus import Key
from plugins.apa.state import Saved

Items = str
"""The metadata map as compact JSON, keys sorted."""


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
        "rate_range_s",
        "slot",
        "value",
        "vertical",
        "window",
    )

    def __init__(
        self,
        namespace: str,
        name: str,
        items: Items,
        metadata: TriggerMetadata,
        rate_range_s: float | None = None,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.metric_name = f"apa-replicas-{name}"
        self.vertical = VerticalState.initial(Bounds.from_metadata(metadata))
        self.value: float | None = None  # replicas needed; None = nothing known yet
        self.active: bool | None = None
        self.needs_backfill = True
        self.last_call = 0.0
        self.slot = -1  # where the answers are published (answers.AnswerTable); -1: nowhere
        self.rate_range_s = rate_range_s
        self._apply(items, metadata)

    def _apply(self, items: Items, metadata: TriggerMetadata) -> None:
        self.items = items
        self.metadata = metadata
        self.bounds = Bounds.from_metadata(metadata)
        self.key: Key = (
            metadata.selector("namespace", self.namespace),
            metadata.selector("service", self.name),
        )
        self.window = HorizontalWindow(metadata.window_seconds, self.rate_range_s)
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
            self.namespace,
            self.name,
            json.loads(self.items),
            self.vertical,
            self.value,
            self.active,
        )


def _items(metadata: Mapping[str, str]) -> Items:
    # The map as one compact string (sorted keys): what change detection and the state file
    # need, in one object instead of fifteen pairs of strings (10 MB at 10,000 objects).
    return json.dumps(dict(sorted(metadata.items())), separators=(",", ":"))


class Registry:
    def __init__(self, rate_range_s: float | None = None) -> None:
        """`rate_range_s`: the range of the `rate()` in the configured `requests` query
        (`decision.rate_range`), which every window's arrival estimate needs, as in the
        simulator; None turns the estimate off."""
        self.rate_range_s = rate_range_s
        self._entries: dict[tuple[str, str], Entry] = {}
        self._invalid: dict[tuple[str, str], tuple[Items, InvalidMetadata]] = {}
        self.by_key: dict[Key, list[Entry]] = {}
        self.changed = False  # set when the set of entries changes (state to write)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def get(self, namespace: str, name: str) -> Entry | None:
        return self._entries.get((namespace, name))

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
            entry = Entry(namespace, name, items, parsed, self.rate_range_s)
            self._entries[ref] = entry
        else:
            self._unindex(entry)
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

    def remove(self, namespace: str, name: str) -> None:
        """Forget a ScaledObject (KEDA stopped asking about it: deleted)."""
        entry = self._entries.pop((namespace, name), None)
        if entry is not None:
            self._unindex(entry)
            self.changed = True
        self._invalid.pop((namespace, name), None)

    def _unindex(self, entry: Entry) -> None:
        siblings = self.by_key.get(entry.key, [])
        if entry in siblings:
            siblings.remove(entry)
        if not siblings:
            self.by_key.pop(entry.key, None)
