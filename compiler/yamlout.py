"""Fast YAML output, byte-identical to PyYAML's, for the manifests the compiler writes.

PyYAML's C emitter is fast but its representer runs in Python and dominates a large compile.
Rendered manifests are plain trees of mappings, lists and a small vocabulary of repeated scalars,
so this writer walks the tree itself and asks PyYAML only once per distinct scalar how it would
write it (memoized per writer). Anything outside the cases handled here falls back to PyYAML for
the whole document, and a property test holds the two to the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

WIDTH = 4096
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
_SAFE_PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./-]*")
"""Strings of these characters are written plain unless the resolver reads them as another type."""


class _Dumper(yaml.CSafeDumper):
    """PyYAML's C dumper; multi-line strings as literal blocks so embedded configs stay readable."""


def _represent_str(dumper: _Dumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def pyyaml_dump(data: Any) -> str:
    """The reference output."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=WIDTH,
    )


class _Fallback(Exception):
    """A case the fast path does not handle: use PyYAML for this document."""


class YamlWriter:
    """Writes block-style YAML exactly as `pyyaml_dump` would. Holds a scalar cache: make one per
    compile, not per process."""

    def __init__(self) -> None:
        self._values: dict[tuple[type, Any], tuple[str, tuple[str, ...] | None]] = {}
        self._keys: dict[str, str] = {}
        self._resolver = yaml.resolver.Resolver()

    def _plain(self, text: str) -> bool:
        """True when PyYAML would surely write `text` unquoted (skips asking it)."""
        return (
            _SAFE_PLAIN.fullmatch(text) is not None
            and self._resolver.resolve(yaml.ScalarNode, text, (True, False))
            == "tag:yaml.org,2002:str"
        )

    def dump(self, data: Mapping[str, Any]) -> str:
        if not isinstance(data, dict) or not data:
            return pyyaml_dump(data)
        lines: list[str] = []
        try:
            self._mapping(data, 0, lines, "")
        except _Fallback:
            return pyyaml_dump(data)
        lines.append("")
        return "\n".join(lines)

    # -- scalars ---------------------------------------------------------------------------------

    def _key(self, key: Any) -> str:
        if not isinstance(key, str):
            raise _Fallback
        text = self._keys.get(key)
        if text is None:
            if self._plain(key):
                self._keys[key] = key
                return key
            out = pyyaml_dump({key: 0})
            if not out.endswith(": 0\n") or out.count("\n") != 1 or out.startswith("?"):
                raise _Fallback
            text = self._keys[key] = out[: -len(": 0\n")]
        return text

    def _scalar(self, value: Any) -> tuple[str, tuple[str, ...] | None]:
        """(inline text, block lines) — block lines are set for literal block scalars."""
        cache_key = (type(value), repr(value) if isinstance(value, float) else value)
        found = self._values.get(cache_key)
        if found is None:
            if isinstance(value, str) and self._plain(value):
                found = self._values[cache_key] = (value, None)
                return found
            if isinstance(value, str) and any(c in value for c in _OTHER_BREAKS):
                raise _Fallback  # quoted line continuations depend on the depth
            out = pyyaml_dump({"k": value})
            first, _, rest = out.partition("\n")
            text = first[3:]
            if not first.startswith("k: "):
                raise _Fallback
            if text.startswith("|"):
                block = rest.split("\n")[:-1]  # the content lines, still indented by 2
                if any(line and not line.startswith("  ") for line in block):
                    raise _Fallback
                found = (text, tuple(line[2:] for line in block))
            elif rest:
                raise _Fallback  # folded over several lines
            else:
                found = (text, None)
            self._values[cache_key] = found
        return found

    # -- structure -------------------------------------------------------------------------------

    def _inline_or_block(self, value: Any, indent: int, lines: list[str], head: str) -> None:
        """Write `head` followed by a scalar or empty collection; literal blocks below it."""
        if isinstance(value, dict | list):
            lines.append(head + (" {}" if isinstance(value, dict) else " []"))
            return
        text, block = self._scalar(value)
        lines.append(f"{head} {text}")
        if block is not None:
            pad = " " * (indent + 2)
            lines.extend(pad + line if line else "" for line in block)

    def _mapping(self, data: dict[str, Any], indent: int, lines: list[str], first: str) -> None:
        pad = " " * indent
        for position, (key, value) in enumerate(data.items()):
            head = (first if position == 0 else pad) + self._key(key) + ":"
            if isinstance(value, dict) and value:
                lines.append(head)
                self._mapping(value, indent + 2, lines, " " * (indent + 2))
            elif isinstance(value, list) and value:
                lines.append(head)
                self._sequence(value, indent, lines, pad)
            else:
                self._inline_or_block(value, indent, lines, head)

    def _sequence(self, data: list[Any], indent: int, lines: list[str], first: str) -> None:
        pad = " " * indent
        for position, item in enumerate(data):
            head = (first if position == 0 else pad) + "-"
            if isinstance(item, dict) and item:
                self._mapping(item, indent + 2, lines, head + " ")
            elif isinstance(item, list) and item:
                self._sequence(item, indent + 2, lines, head + " ")
            else:
                self._inline_or_block(item, indent, lines, head)
