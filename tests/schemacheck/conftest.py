"""One checker per test session; every disk cache (also the plugin's default) in a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.schemacheck import SchemaChecker


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validators")


@pytest.fixture(autouse=True)
def _private_default_cache(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    """The plugin uses the default cache directory: keep tests out of the user's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_dir / "xdg"))


@pytest.fixture(scope="session")
def checker(cache_dir: Path) -> SchemaChecker:
    return SchemaChecker("1.33", cache_dir=cache_dir)
