"""Printing results for people: diagnostics, errors and summaries, on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from compiler.diagnostics import Diagnostic, summary
from compiler.errors import InputError, KnoblessError


def print_diagnostics(diagnostics: Sequence[Diagnostic], stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    for diagnostic in sorted(diagnostics):
        print(diagnostic.format(), file=out)
    if diagnostics:
        print(summary(list(diagnostics)), file=out)


def print_error(error: KnoblessError, stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    if isinstance(error, InputError):
        print_diagnostics(error.diagnostics, out)
    else:
        print(f"knobless: error: {error}", file=out)
