"""Loading endpoint YAML safely, keeping the source position of every value.

PyYAML's C parser gives the event stream (with marks); we build plain data from it ourselves so
that duplicate keys are errors, aliases cannot expand into a bomb, nesting cannot recurse, and every
value's position is kept.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode

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
    specs: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """The validated models of this file's merges, by what the environment layers added
    (filled by compiler.resolve: environments that change nothing share one validation)."""

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


_Position = tuple[int, int]


class _Problem(Exception):
    """A document we refuse (found while building), with the position to report."""

    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


def _at(event: yaml.Event) -> _Position:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


@functools.lru_cache(maxsize=8192)
def _untagged_scalar(value: str, plain: bool) -> Any:
    """An untagged scalar as PyYAML's safe loader reads it (a pure function of its text, and
    specs repeat the same few hundred texts: remembered). Raises ConstructorError/ValueError."""
    tag = _RESOLVER.resolve(ScalarNode, value, (plain, not plain))
    return _CONSTRUCTOR.construct_object(ScalarNode(tag, value))


def _scalar(event: yaml.ScalarEvent) -> Any:
    if event.tag in (None, "!"):
        return _untagged_scalar(event.value, event.implicit[0])
    node = ScalarNode(event.tag, event.value, style=event.style)
    try:
        return SafeConstructor().construct_object(node)
    except (ConstructorError, ValueError, OverflowError):
        raise
    except Exception:
        # PyYAML's constructors fail in many ways on text that does not fit the tag
        # (`!!timestamp x` is an AttributeError deep inside PyYAML)
        raise ConstructorError(
            None, None, f"`{event.value[:40]}` is not a valid {event.tag}", None
        ) from None


_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = SafeConstructor()


@dataclass
class _Open:
    """A mapping or sequence being built."""

    data: dict[str, Any] | list[Any]
    path: FieldPath
    start: int
    """Index of its own entry in _Builder.order."""
    anchor: str | None
    key: str | None = None
    """In a mapping: the key whose value comes next (None: a key comes next)."""


class _Builder:
    """Builds data + positions from PyYAML's C event stream in one pass, failing on what YAML
    allows but we don't.

    No node tree is composed: the stream is flat, so absurd nesting is refused before it can
    recurse, and an alias is expanded from what its anchor built (counting every value it adds,
    so an alias bomb stops at MAX_NODES).
    """

    def __init__(self) -> None:
        self.values: dict[FieldPath, _Position] = {}
        self.keys: dict[FieldPath, _Position] = {}
        self.order: list[tuple[FieldPath, _Position]] = []
        """Every value built, in document order (alias expansions included): an anchor's values
        are a slice of it."""
        self.anchors: dict[str, tuple[FieldPath, int, int, Any]] = {}
        """Anchor -> (path, first and past-last index in `order`, data)."""
        self.open_anchors: dict[str, _Position] = {}
        self.stack: list[_Open] = []
        self.root: Any = None
        self.problem: _Problem | None = None

    # -- where the next value goes ----------------------------------------------------------------

    def _slot(self, event: yaml.NodeEvent) -> FieldPath | None:
        """The path of the value this event starts; None when it is a mapping key."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.data, list):
            return (*top.path, len(top.data))
        if top.key is None:
            return None
        return (*top.path, top.key)

    def _place(self, path: FieldPath, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top.data, list):
            top.data.append(value)
        else:
            assert top.key is not None
            top.data[top.key] = value
            top.key = None

    def _count(self, path: FieldPath, position: _Position) -> None:
        if len(self.order) >= MAX_NODES:
            raise _Problem(
                *position,
                f"the document expands to more than {MAX_NODES} values (an alias bomb?); "
                "write the spec out without deeply nested aliases",
            )
        self.order.append((path, position))
        self.values[path] = position

    # -- events ----------------------------------------------------------------------------------

    def start(self, event: yaml.CollectionStartEvent) -> None:
        position = _at(event)
        path = self._slot(event)
        if path is None:
            raise _Problem(*position, "a mapping key must be a plain string")
        tag = event.tag
        if tag not in (None, "!") and tag not in _COLLECTION_TAGS:
            raise _Problem(*position, f"the tag `{tag}` is not allowed; write plain YAML")
        start = len(self.order)
        self._count(path, position)
        data: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        if event.anchor is not None:
            self.open_anchors[event.anchor] = position
        self.stack.append(_Open(data, path, start, event.anchor))

    def end(self, event: yaml.CollectionEndEvent) -> None:
        done = self.stack.pop()
        self._place(done.path, done.data)
        if done.anchor is not None:
            del self.open_anchors[done.anchor]
            self.anchors[done.anchor] = (done.path, done.start, len(self.order), done.data)

    def scalar(self, event: yaml.ScalarEvent) -> None:
        position = _at(event)
        path = self._slot(event)
        if path is None:
            self._key(event, position)
            return
        try:
            value = _scalar(event)
        except ConstructorError as error:
            raise _Problem(*position, f"cannot read this value: {error.problem}") from None
        except (ValueError, OverflowError):
            raise _Problem(
                *position, f"cannot read `{event.value[:20]}...`: the number is too large"
            ) from None
        start = len(self.order)
        self._count(path, position)
        self._place(path, value)
        if event.anchor is not None:
            self.anchors[event.anchor] = (path, start, len(self.order), value)

    def _key(self, event: yaml.ScalarEvent, position: _Position) -> None:
        merge = "tag:yaml.org,2002:merge"
        if event.value == "<<" and (
            event.tag == merge or (event.tag is None and event.implicit[0])
        ):
            raise _Problem(*position, "YAML merge keys (<<) are not supported; write the keys out")
        try:
            value = _scalar(event)
        except (ConstructorError, ValueError, OverflowError):
            raise _Problem(
                *position, f"cannot read the key `{event.value[:40]}`; quote it"
            ) from None
        if not isinstance(value, str):
            raise _Problem(*position, f"the key `{event.value}` must be a string; quote it")
        top = self.stack[-1]
        assert isinstance(top.data, dict)
        path = (*top.path, value)
        if value in top.data:
            first = self.keys[path]
            raise _Problem(
                *position, f"duplicate key `{value}` (first set at line {first[0]}); keep one"
            )
        self.keys[path] = position
        top.key = value

    def alias(self, event: yaml.AliasEvent) -> None:
        position = _at(event)
        path = self._slot(event)
        if path is None:
            raise _Problem(*position, "a mapping key must be a plain string")
        anchor = event.anchor
        assert anchor is not None  # an alias always names its anchor
        if anchor in self.open_anchors:
            raise _Problem(
                *position,
                f"the alias `*{anchor}` is inside its own anchor (a recursive structure); "
                "write the spec out",
            )
        anchored, first, past, data = self.anchors[anchor]
        if len(self.order) + past - first > MAX_NODES:
            # report the value that crosses the limit, as expanding it value by value would
            raise _Problem(
                *self.order[first + MAX_NODES - len(self.order)][1],
                f"the document expands to more than {MAX_NODES} values (an alias bomb?); "
                "write the spec out without deeply nested aliases",
            )
        cut = len(anchored)
        for inner, where in self.order[first:past]:
            copied = (*path, *inner[cut:])
            self.order.append((copied, where))
            self.values[copied] = where
            if inner != anchored and inner in self.keys:
                self.keys[copied] = self.keys[inner]
        self._place(path, copy.deepcopy(data))


def _build(text: str, display: str) -> LoadedYaml:
    """One pass over the event stream. Precedence of what is reported, as a composer would:
    a syntax error or absurd nesting anywhere, then an undefined or duplicate anchor, then a
    second document, then anything refused while building the first document."""
    builder = _Builder()
    loader = yaml.CSafeLoader(text)
    try:
        scan = _scan(loader.get_event, builder, display)
    except yaml.YAMLError as error:
        raise _yaml_problem(display, text, error) from None
    finally:
        loader.dispose()
    _raise_refused(display, scan, builder.problem)
    return LoadedYaml(display, builder.root, builder.values, builder.keys)


@dataclass(frozen=True)
class _Scan:
    """What one pass over the event stream found besides the document itself."""

    documents: int
    second: _Position | None
    """Where the second document starts, if there is one."""
    composer_error: _Problem | None
    """The first undefined or duplicate anchor."""


def _scan(next_event: Callable[[], Any], builder: _Builder, display: str) -> _Scan:
    """Feed the first document's events to the builder (until it refuses one); raises only for
    absurd nesting (and the parser's YAMLError)."""
    composer_error: _Problem | None = None
    documents, depth, second = 0, 0, None
    seen_anchors: dict[str, _Position] = {}
    while True:
        event: Any = next_event()
        kind = type(event)  # exact types: the C parser makes only these
        step: Callable[[Any], None]  # the builder's handler of this kind of event
        closing = kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent
        if kind is yaml.ScalarEvent:
            step = builder.scalar
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(display, event)
            step = builder.start
        elif closing:
            depth -= 1
            step = builder.end
        elif kind is yaml.AliasEvent:
            step = builder.alias
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            continue
        elif kind is yaml.StreamEndEvent or event is None:
            return _Scan(documents, second, composer_error)
        else:
            continue
        if composer_error is None and not closing and event.anchor is not None:
            composer_error = _anchor_problem(event, seen_anchors)
        if documents > 1:
            second = second or _at(event)
        elif builder.problem is None and composer_error is None:
            try:
                step(event)
            except _Problem as problem:
                builder.problem = problem


def _too_deep(display: str, event: yaml.Event) -> InputError:
    line, col = _at(event)
    message = f"nested more than {MAX_DEPTH} levels deep; a spec is a few levels"
    return InputError([Diagnostic(display, line, col, message)])


def _raise_refused(display: str, scan: _Scan, refused: _Problem | None) -> None:
    """The first problem of the pass, in the composer's order of precedence."""
    if scan.composer_error is not None:
        error = scan.composer_error
        raise InputError([Diagnostic(display, error.line, error.col, error.message)])
    if scan.documents == 0:
        message = "file is empty; an endpoint needs at least name, owner, served and scaling"
        raise InputError([Diagnostic(display, 1, 1, message)])
    if scan.second is not None:
        message = "one endpoint per file: remove the second YAML document"
        raise InputError([Diagnostic(display, *scan.second, message)])
    if refused is not None:
        raise InputError([Diagnostic(display, refused.line, refused.col, refused.message)])


def _anchor_problem(event: yaml.NodeEvent, seen: dict[str, _Position]) -> _Problem | None:
    """An alias naming no anchor before it, or an anchor defined twice (a composer's errors)."""
    if type(event) is yaml.AliasEvent:
        if event.anchor not in seen:
            return _Problem(
                *_at(event),
                f"invalid YAML: the alias `*{event.anchor}` names no anchor defined before it",
            )
        return None
    if event.anchor is None:
        return None
    if event.anchor in seen:
        return _Problem(
            *_at(event),
            f"invalid YAML: the anchor `&{event.anchor}` is defined twice (first at line "
            f"{seen[event.anchor][0]}); rename one",
        )
    seen[event.anchor] = _at(event)
    return None


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


def load_yaml(text: str, display: str) -> LoadedYaml:
    """Parse one YAML document into data with positions. Raises InputError on any problem."""
    return _build(text, display)


def load_yaml_file(file: Path, display: str) -> LoadedYaml:
    return load_yaml(read_text(file, display), display)
