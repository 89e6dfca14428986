"""Fixtures shared by every test: a copy of this repository's endpoints/ and environments/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A scratch repository with the example endpoints and environments (no rendered/ yet)."""
    for folder in ("endpoints", "environments"):
        shutil.copytree(PROJECT / folder, tmp_path / folder)
    return tmp_path
