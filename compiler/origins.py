"""Origins computed on first read: a dict that fills itself when anything looks at it."""

from __future__ import annotations

from _collections_abc import dict_items, dict_keys, dict_values
from collections.abc import Callable, Iterator
from typing import Any

from compiler.context import Origin

FieldPath = tuple[str | int, ...]


class LazyOrigins(dict[FieldPath, Origin]):
    """Origins worked out on first read.

    Only diagnostics (and `knobless explain`) read origins; computing a file position for every
    value of every endpoint in every environment was half of a `validate`'s time. Any read fills
    the dict, after which it is a plain dict; pickling gives a plain dict.
    """

    __slots__ = ("_pending",)

    def __init__(self, compute: Callable[[], dict[FieldPath, Origin]]) -> None:
        super().__init__()
        self._pending: list[Callable[[], dict[FieldPath, Origin]]] | None = [compute]

    def defer(self, compute: Callable[[], dict[FieldPath, Origin]]) -> None:
        """Add entries (overriding earlier ones) when the dict is filled."""
        if self._pending is None:
            super().update(compute())
        else:
            self._pending.append(compute)

    def _fill(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            for compute in pending:
                super().update(compute())

    def __getitem__(self, key: FieldPath) -> Origin:
        self._fill()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._fill()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[FieldPath]:
        self._fill()
        return super().__iter__()

    def __len__(self) -> int:
        self._fill()
        return super().__len__()

    def __eq__(self, other: object) -> bool:
        self._fill()
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        self._fill()
        return super().__ne__(other)

    __hash__ = None  # dict's, restated: defining __eq__ would otherwise need it

    def __repr__(self) -> str:
        self._fill()
        return super().__repr__()

    def __setitem__(self, key: FieldPath, value: Origin) -> None:
        self._fill()
        super().__setitem__(key, value)

    def __delitem__(self, key: FieldPath) -> None:
        self._fill()
        super().__delitem__(key)

    def get(self, key: FieldPath, default: Any = None) -> Any:
        self._fill()
        return super().get(key, default)

    def keys(self) -> dict_keys[FieldPath, Origin]:
        self._fill()
        return super().keys()

    def values(self) -> dict_values[FieldPath, Origin]:
        self._fill()
        return super().values()

    def items(self) -> dict_items[FieldPath, Origin]:
        self._fill()
        return super().items()

    def copy(self) -> dict[FieldPath, Origin]:
        self._fill()
        return dict(super().items())

    def __reduce__(self) -> tuple[type[dict[FieldPath, Origin]], tuple[dict[FieldPath, Origin]]]:
        return dict, (self.copy(),)

    def pop(self, key: FieldPath, *default: Any) -> Any:
        self._fill()
        return super().pop(key, *default)

    def popitem(self) -> tuple[FieldPath, Origin]:
        self._fill()
        return super().popitem()

    def setdefault(self, key: FieldPath, default: Origin) -> Origin:
        self._fill()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._fill()
        super().update(*args, **kwargs)

    def clear(self) -> None:
        self._fill()
        super().clear()

    def __or__(self, other: Any) -> dict[FieldPath, Origin]:  # type: ignore[override]
        return self.copy() | other

    def __ror__(self, other: Any) -> dict[FieldPath, Origin]:  # type: ignore[override]
        return dict(other) | self.copy()

    def __ior__(self, other: Any) -> LazyOrigins:  # type: ignore[override]
        self.update(other)
        return self
