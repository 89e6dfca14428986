"""Lint tests run the real lint stage (load, resolve, lint: `validate`'s) on scratch repositories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from compiler.diagnostics import Diagnostic
from compiler.parallel import validate_sources
from compiler.plugins import build_plugin_manager
from compiler.sources import load

Lint = Callable[..., list[str]]


def lint_findings(root: Path, *, strict: bool = False) -> list[Diagnostic]:
    """The lint stage as `validate` runs it (the same as a compile's)."""
    manager = build_plugin_manager(root=root, entry_points=False)
    return validate_sources(
        load(root, None), manager, selected=None, strict=strict, jobs=1
    ).findings


@pytest.fixture
def lint(repo: Path) -> Lint:
    """lint(strict=False) -> every finding on the scratch repository, formatted."""

    def run(*, strict: bool = False) -> list[str]:
        return [d.format() for d in lint_findings(repo, strict=strict)]

    return run


def write(repo: Path, relative: str, text: str) -> None:
    (repo / relative).write_text(text, encoding="utf-8")


def edit(repo: Path, relative: str, old: str, new: str) -> None:
    path = repo / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
