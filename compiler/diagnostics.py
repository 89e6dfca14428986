"""Diagnostics: one problem at one place in one file, printed as `path:line:col: severity: message`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem found in a user's file. `line` and `col` are 1-based; 0 means "whole file"."""

    path: str
    line: int
    col: int
    message: str
    severity: Severity = Severity.ERROR
    rule: str | None = None

    def format(self) -> str:
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{self.path}:{self.line}:{self.col}: {self.severity.value}: {self.message}{rule}"


def summary(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = len(diagnostics) - errors
    parts = [f"{errors} error{'s' if errors != 1 else ''}"]
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)
