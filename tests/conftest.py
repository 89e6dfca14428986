"""Fixtures shared by every test: a copy of this repository's endpoints/ and environments/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Machines here are shared and noisy: no per-example deadlines. In CI the examples are derandomized
# so a landing never depends on luck; locally every run explores new inputs.
settings.register_profile("knobless", deadline=None, derandomize=bool(os.environ.get("CI")))
settings.load_profile("knobless")

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A scratch repository with the example endpoints and environments (no rendered/ yet)."""
    for folder in ("endpoints", "environments"):
        shutil.copytree(PROJECT / folder, tmp_path / folder)
    return tmp_path
