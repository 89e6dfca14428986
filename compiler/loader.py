"""Loading endpoint YAML safely, keeping the source position of every value.

PyYAML's C composer builds the node tree (with marks); we construct plain data ourselves so that
duplicate keys are errors, aliases cannot expand into a bomb, and every value's position is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from compiler.diagnostics import Diagnostic
from compiler.errors import InputError

MAX_FILE_BYTES = 1024 * 1024
"""An endpoint file is a few hundred bytes; anything past 1 MiB is a mistake, not a spec."""
MAX_DEPTH = 64
"""Nesting levels: a spec has under ten; PyYAML's composer recurses (and crashes) on thousands."""
MAX_NODES = 20_000
"""Values after alias expansion: a real spec has under a few hundred (alias bombs have billions)."""

FieldPath = tuple[str | int, ...]
_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


@dataclass(frozen=True)
class LoadedYaml:
    """One YAML document as plain data, with the position of every value and every key."""

    path: str
    """Path relative to the repository root, as printed in diagnostics."""
    data: Any
    values: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    """Position (1-based line, col) of each value, by field path; () is the document."""
    keys: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    """Position of each mapping key, by the path of its value."""

    def position(self, path: FieldPath, *, key: bool = False) -> tuple[int, int]:
        """Position of a field (its key when `key`), or of its nearest ancestor."""
        probe = path
        while probe:
            table = self.keys if key else self.values
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
            key = False
        return self.values.get((), (1, 1))


class _Builder:
    """Turns a composed node tree into data + positions, failing on what YAML allows but we don't."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.values: dict[FieldPath, tuple[int, int]] = {}
        self.keys: dict[FieldPath, tuple[int, int]] = {}
        self.nodes = 0
        self.scalars = SafeConstructor()

    def fail(self, node: Node, message: str) -> InputError:
        mark = node.start_mark
        return InputError([Diagnostic(self.path, mark.line + 1, mark.column + 1, message)])

    def build(self, node: Node, path: FieldPath) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(
                node,
                f"the document expands to more than {MAX_NODES} values (an alias bomb?); "
                "write the spec out without deeply nested aliases",
            )
        self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if not isinstance(node, ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise self.fail(node, f"the tag `{node.tag}` is not allowed; write plain YAML")
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        try:
            return self.scalars.construct_object(node)
        except ConstructorError as error:
            raise self.fail(node, f"cannot read this value: {error.problem}") from None
        except (ValueError, OverflowError):
            raise self.fail(
                node, f"cannot read `{node.value[:20]}...`: the number is too large"
            ) from None

    def _mapping(self, node: MappingNode, path: FieldPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "a mapping key must be a plain string")
            key = self.build_key(key_node)
            if key in result:
                first = self.keys[(*path, key)]
                raise self.fail(
                    key_node, f"duplicate key `{key}` (first set at line {first[0]}); keep one"
                )
            self.keys[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*path, key))
        return result

    def build_key(self, node: ScalarNode) -> str:
        if node.value == "<<" and node.tag == "tag:yaml.org,2002:merge":
            raise self.fail(node, "YAML merge keys (<<) are not supported; write the keys out")
        try:
            value = self.scalars.construct_object(node)
        except (ConstructorError, ValueError, OverflowError):
            raise self.fail(node, f"cannot read the key `{node.value[:40]}`; quote it") from None
        if not isinstance(value, str):
            raise self.fail(node, f"the key `{node.value}` must be a string; quote it")
        return value


def _yaml_problem(path: str, text: str, error: yaml.YAMLError) -> InputError:
    if isinstance(error, yaml.reader.ReaderError):
        position = error.position
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
        character = error.character if isinstance(error.character, str) else chr(error.character)
        return InputError(
            [
                Diagnostic(
                    path,
                    line,
                    col,
                    f"invalid YAML: the control character U+{ord(character):04X} is not allowed; "
                    "remove it",
                )
            ]
        )
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(error, "problem", None) or str(error)
    if (mark is not None and text[mark.index : mark.index + 1] == "\t") or "\\t" in problem:
        problem = "a tab character cannot indent YAML; indent with spaces"
    return InputError([Diagnostic(path, line, col, f"invalid YAML: {problem}")])


def read_text(file: Path, display: str, *, limit: int = MAX_FILE_BYTES) -> str:
    """A file's text, or an InputError saying why it is not a text file we accept."""
    try:
        size = file.stat().st_size
        if size > limit:
            raise InputError(
                [
                    Diagnostic(
                        display,
                        0,
                        0,
                        f"file is {size / 1_048_576:.1f} MiB; specs are limited to "
                        f"{limit // 1024} KiB — is this the right file?",
                    )
                ]
            )
        raw = file.read_bytes()
    except OSError as error:
        raise InputError([Diagnostic(display, 0, 0, f"cannot read: {error.strerror}")]) from None
    if b"\x00" in raw:
        raise InputError(
            [Diagnostic(display, 0, 0, "binary file (contains NUL bytes); expected YAML text")]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            [
                Diagnostic(
                    display, 0, 0, f"not UTF-8 text (byte {error.start}); save the file as UTF-8"
                )
            ]
        ) from None
    return text.removeprefix("\ufeff")


def _check_depth(text: str, display: str) -> None:
    """Refuse absurd nesting before composing: the event stream is flat, so this cannot recurse."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line, col = (
                    (event.start_mark.line, event.start_mark.column) if event.start_mark else (0, 0)
                )
                raise InputError(
                    [
                        Diagnostic(
                            display,
                            line + 1,
                            col + 1,
                            f"nested more than {MAX_DEPTH} levels deep; a spec is a few levels",
                        )
                    ]
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(text: str, display: str) -> LoadedYaml:
    """Parse one YAML document into data with positions. Raises InputError on any problem."""
    try:
        _check_depth(text, display)
        nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError as error:
        raise _yaml_problem(display, text, error) from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise InputError(
            [
                Diagnostic(
                    display,
                    1,
                    1,
                    "file is empty; an endpoint needs at least name, owner, served and scaling",
                )
            ]
        )
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise InputError(
            [
                Diagnostic(
                    display,
                    mark.line + 1,
                    mark.column + 1,
                    "one endpoint per file: remove the second YAML document",
                )
            ]
        )
    builder = _Builder(display)
    data = builder.build(nodes[0], ())
    return LoadedYaml(display, data, builder.values, builder.keys)


def load_yaml_file(file: Path, display: str) -> LoadedYaml:
    return load_yaml(read_text(file, display), display)
