"""One checker per test session (its disk cache in a temporary directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.schemacheck import SchemaChecker


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validators")


@pytest.fixture(scope="session")
def checker(cache_dir: Path) -> SchemaChecker:
    return SchemaChecker("1.33", cache_dir=cache_dir)
