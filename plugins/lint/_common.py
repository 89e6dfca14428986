"""What the lint rule modules share: placing a finding at the field it is about."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity

FieldPath = tuple[str | int, ...]


def at_field(
    endpoint: EndpointContext, path: FieldPath, message: str, severity: Severity, rule: str
) -> Diagnostic:
    """A finding at the file, line and column that set `path` (the endpoint file or a layer of the
    environment)."""
    origin = endpoint.locate(path)
    return Diagnostic(origin.path, origin.line, origin.col, message, severity, rule)


def at_position(
    position: tuple[str, int, int], message: str, severity: Severity, rule: str
) -> Diagnostic:
    path, line, col = position
    return Diagnostic(path, line, col, message, severity, rule)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def ignore_hint(rule: str) -> str:
    return f'; if intended, say why: lint: {{ignore: {{{rule}: "..."}}}}'
