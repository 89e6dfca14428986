"""Golden files: every example endpoint in every example environment, one file per object.

Regenerate after an intended change, then review the diff in git:

    KNOBLESS_UPDATE_GOLDEN=1 /work/venv/bin/python -m pytest tests/render/test_golden.py -q
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

from .helpers import dump, pairs, render, resolve

PROJECT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("KNOBLESS_UPDATE_GOLDEN") == "1"


def rendered_files(root: Path) -> dict[str, str]:
    files = {}
    for environment, endpoint in pairs(root):
        for manifest in render(resolve(root, environment, endpoint)):
            files[f"{environment}/{endpoint}/{manifest.filename}"] = dump(manifest.body)
    return files


def golden_files() -> dict[str, str]:
    return {
        path.relative_to(GOLDEN).as_posix(): path.read_text()
        for path in sorted(GOLDEN.rglob("*.yaml"))
    }


def differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    report = []
    for path in sorted(expected.keys() | actual.keys()):
        if path not in actual:
            report.append(f"missing from the render (stale golden file): {path}")
        elif path not in expected:
            report.append(f"new file, no golden yet: {path}")
        elif expected[path] != actual[path]:
            diff = difflib.unified_diff(
                expected[path].splitlines(keepends=True),
                actual[path].splitlines(keepends=True),
                f"golden/{path}",
                f"rendered/{path}",
            )
            report.append("".join(diff))
    return report


def test_examples_match_golden_files() -> None:
    actual = rendered_files(PROJECT)
    if UPDATE:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for path, text in actual.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_text(text)
    report = differences(golden_files(), actual)
    assert not report, (
        f"{len(report)} golden file(s) differ; if intended, regenerate with "
        "KNOBLESS_UPDATE_GOLDEN=1 and review the git diff:\n\n" + "\n".join(report)
    )


def test_difference_report_names_each_file() -> None:
    report = differences(
        {"dev/a/x.yaml": "a: 1\n", "dev/a/gone.yaml": "b: 1\n"},
        {"dev/a/x.yaml": "a: 2\n", "dev/a/new.yaml": "c: 1\n"},
    )
    assert report[0] == "missing from the render (stale golden file): dev/a/gone.yaml"
    assert report[1] == "new file, no golden yet: dev/a/new.yaml"
    assert report[2].splitlines()[:2] == ["--- golden/dev/a/x.yaml", "+++ rendered/dev/a/x.yaml"]
    assert "-a: 1" in report[2] and "+a: 2" in report[2]
