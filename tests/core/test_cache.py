"""compiler.cache: entries as dataclasses over an unchanged file format, and the one writer of
.knobless/."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from compiler.cache import (
    CACHE_DIR_ENV,
    Entry,
    EnvironmentCache,
    cache_dir,
    entry_of,
    load_cache,
    save_cache,
)
from compiler.diagnostics import Diagnostic, Severity
from compiler.summary import EndpointSummary, ServedSummary

SUMMARY = EndpointSummary(
    "fraud", "risk@example.com", "ml-fraud", (ServedSummary("v7", "mlflow", None, 100, 0),)
)
WARNING = Diagnostic("endpoints/fraud.yaml", 3, 5, "no owner", Severity.WARNING, "owner-set")


def test_an_entry_keeps_digests_of_the_files_outside_its_folder_only() -> None:
    files = {"dev/fraud/deployment-v7.yaml": b"a", "dev/platform/argocd/fraud.yaml": b"b"}
    entry = entry_of("dev", "fraud", "k1", files, [WARNING], SUMMARY)
    assert list(entry.foreign) == ["dev/platform/argocd/fraud.yaml"]
    assert entry.folder is None
    assert list(entry.warnings()) == [WARNING]
    assert entry.summary() == SUMMARY


def test_the_file_format_is_what_it_was(tmp_path: Path) -> None:
    entry = Entry.new("k1", {"dev/x.yaml": "d1"}, [WARNING], SUMMARY, (12, 34))
    cache = EnvironmentCache("fp", {"fraud": entry}, {"dev/platform/a.yaml": "d2"}, {}, (), "nd")
    save_cache(tmp_path, "dev", cache)
    raw = orjson.loads((tmp_path / ".knobless/cache/dev.json").read_bytes())
    assert raw == {
        "version": 2,
        "fingerprint": "fp",
        "endpoints": {
            "fraud": [
                "k1",
                [12, 34],
                {"dev/x.yaml": "d1"},
                [["endpoints/fraud.yaml", 3, 5, "no owner", "warning", "owner-set"]],
                ["fraud", "risk@example.com", "ml-fraud", [["v7", "mlflow", None, 100, 0]]],
            ]
        },
        "environment": {"dev/platform/a.yaml": "d2"},
        "folders": {},
        "environment_warnings": [],
        "names": "nd",
    }
    loaded = load_cache(tmp_path, "dev")
    assert loaded is not None and loaded.entries == {"fraud": entry}
    assert (tmp_path / ".knobless/.gitignore").read_text().endswith("*\n")
    assert [p.name for p in (tmp_path / ".knobless/cache").iterdir()] == ["dev.json"]


@pytest.mark.parametrize(
    "damage",
    [b"", b"[]", b'{"version": 2}', b'{"version": 2, "fingerprint": "f", "endpoints": {"a": [1]}}'],
)
def test_a_damaged_file_is_no_cache(tmp_path: Path, damage: bytes) -> None:
    folder = tmp_path / ".knobless/cache"
    folder.mkdir(parents=True)
    (folder / "dev.json").write_bytes(damage)
    assert load_cache(tmp_path, "dev") is None


def test_the_cache_can_move(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, "build/knobless-cache")
    assert cache_dir(tmp_path) == tmp_path / "build/knobless-cache"
    save_cache(tmp_path, "dev", EnvironmentCache("fp"))
    assert os.path.isfile(tmp_path / "build/knobless-cache/dev.json")
