"""Lint tests run the real pipeline (load, resolve) on scratch repositories, then `run_lint`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from compiler.context import EnvironmentContext
from compiler.diagnostics import Diagnostic
from compiler.pipeline import load, resolve
from compiler.plugins import build_plugin_manager
from compiler.review.lint import run_lint

Lint = Callable[..., list[str]]


def lint_findings(root: Path, *, strict: bool = False) -> list[Diagnostic]:
    manager = build_plugin_manager(root=root, entry_points=False)
    sources = load(root, None)
    resolved = resolve(sources, manager)
    contexts = {
        name: EnvironmentContext(env, source.path)
        for name, (env, source) in sources.environments.items()
    }
    return run_lint(
        manager,
        resolved,
        contexts,
        strict=strict,
        endpoint_names=sorted(sources.endpoints),
        environment_sources={name: source for name, (_, source) in sources.environments.items()},
    )


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
