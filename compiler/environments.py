"""Evaluating `environments/<env>.jsonnet` into validated Environment models.

Jsonnet values carry no source positions, so a value's position is found by looking for its key in
the environment file and the files it imports (best effort; the file itself when not found).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _jsonnet
from pydantic import ValidationError

from compiler.diagnostics import Diagnostic
from compiler.errors import InputError
from compiler.images.lock import LockedEnvironment
from compiler.loader import FieldPath, read_text
from compiler.models.environment import Environment
from compiler.validation import pydantic_diagnostics

_JSONNET_POSITION = re.compile(
    r"(?P<file>[^\s:()]+\.(?:jsonnet|libsonnet|json)):\(?(?P<line>\d+):(?P<col>\d+)\)?"
    r"(-\(?\d+(:\d+)?\)?)?"
)


@dataclass(frozen=True)
class EnvironmentSource:
    """An evaluated environment file, before validation."""

    path: str
    """Relative path of the .jsonnet file."""
    data: Any
    texts: dict[str, str] = field(default_factory=dict)
    """Source text of the file and of everything it imported, by relative path (file first)."""
    locked: LockedEnvironment | None = None
    """This environment's part of images.lock (None: nothing locked for it)."""
    _positions: dict[FieldPath, tuple[str, int, int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def position(self, path: FieldPath) -> tuple[str, int, int]:
        """Best-effort position of a field: the first file (the environment file, then its
        imports) where all its keys appear in order; else the deepest parent found; else the file."""
        known = self._positions.get(path)
        if known is not None:
            return known
        keys = [str(p) for p in path if isinstance(p, str)]
        best: tuple[int, str, int, int] | None = None
        for file, text in self.texts.items():
            depth, found = _find_keys(text, keys)
            if found is not None and depth == len(keys):
                best = (depth, file, *found)
                break
            if found is not None and (best is None or depth > best[0]):
                best = (depth, file, *found)
        result = (best[1], best[2], best[3]) if best else (self.path, 0, 0)
        self._positions[path] = result
        return result


def _find_keys(text: str, keys: list[str]) -> tuple[int, tuple[int, int] | None]:
    """Find `k1` ... then `k2` ... in order: how many were found, and where the last one is."""
    offset = 0
    found: tuple[int, int] | None = None
    for depth, key in enumerate(keys):
        pattern = re.compile(r"(?<![\w-])['\"]?" + re.escape(key) + r"['\"]?\s*\+?:")
        match = pattern.search(text, offset)
        if match is None:
            return depth, found
        offset = match.end()
        line = text.count("\n", 0, match.start()) + 1
        col = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        found = (line, col)
    return len(keys), found


def _jsonnet_error(error: RuntimeError, fallback: str) -> InputError:
    message = str(error).strip()
    first_line = message.splitlines()[0]
    for prefix in ("RUNTIME ERROR: ", "STATIC ERROR: "):
        first_line = first_line.removeprefix(prefix)
    match = _JSONNET_POSITION.search(message)
    if match is None:
        return InputError([Diagnostic(fallback, 0, 0, f"jsonnet: {first_line}")])
    text = _JSONNET_POSITION.sub("", first_line, count=1).strip(": ")
    return InputError(
        [
            Diagnostic(
                match["file"],
                int(match["line"]),
                int(match["col"]),
                f"jsonnet: {text or first_line}",
            )
        ]
    )


Evaluations = MutableMapping[str, tuple[dict[str, str], Any]]
"""Earlier evaluations by environment file: the digest of every file each one read, and its
value. Jsonnet is pure (no external variables or native functions are given to it), so the same
texts evaluate to the same value: the compile cache keeps these to skip the evaluator, which
costs ~50 ms per file for its standard library alone."""


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _remembered(root: Path, display: str, memo: Evaluations) -> EnvironmentSource | None:
    digests, data = memo.get(display, ({}, None))
    if display not in digests:
        return None
    texts = {}
    for path, known in digests.items():
        try:
            texts[path] = read_text(root / path, path)
        except InputError:
            return None
        if _digest(texts[path]) != known:
            return None
    return EnvironmentSource(display, data, {display: texts.pop(display), **texts})


def evaluate(root: Path, file: Path, memo: Evaluations | None = None) -> EnvironmentSource:
    """Evaluate one environment file with imports resolved next to the importing file (or
    recall the value from `memo` when no file it read has changed, and remember it there)."""
    display = file.relative_to(root).as_posix()
    if memo is not None and (known := _remembered(root, display, memo)) is not None:
        return known
    texts: dict[str, str] = {display: read_text(file, display)}

    def import_callback(directory: str, name: str) -> tuple[str, bytes]:
        target = (root / directory / name).resolve()
        try:
            relative = target.relative_to(root.resolve()).as_posix()
        except ValueError:
            raise RuntimeError(f"import {name!r} is outside the repository") from None
        if relative not in texts:
            texts[relative] = read_text(target, relative)
        return relative, texts[relative].encode()

    try:
        output = _jsonnet.evaluate_snippet(display, texts[display], import_callback=import_callback)
    except RuntimeError as error:
        raise _jsonnet_error(error, display) from None
    data = json.loads(output)
    if memo is not None:
        memo[display] = ({path: _digest(text) for path, text in texts.items()}, data)
    return EnvironmentSource(display, data, texts)


def validate(source: EnvironmentSource, expected_name: str) -> Environment:
    """The Environment model, or InputError with every problem positioned in the jsonnet sources."""
    if not isinstance(source.data, dict):
        raise InputError(
            [Diagnostic(source.path, 0, 0, "an environment must evaluate to an object")]
        )
    try:
        environment = Environment.model_validate(source.data)
    except ValidationError as error:
        raise InputError(
            pydantic_diagnostics(
                error, Environment, lambda loc, key: source.position(loc), data=source.data
            )
        ) from None
    if environment.name != expected_name:
        file, line, col = source.position(("name",))
        raise InputError(
            [
                Diagnostic(
                    file,
                    line,
                    col,
                    f"environment name `{environment.name}` differs from its file name "
                    f"`{expected_name}.jsonnet`; rename one of them",
                )
            ]
        )
    return environment


def load_environment(
    root: Path, file: Path, memo: Evaluations | None = None
) -> tuple[Environment, EnvironmentSource]:
    source = evaluate(root, file, memo)
    return validate(source, file.stem), source
