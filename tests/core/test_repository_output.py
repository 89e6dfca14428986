"""The committed rendered/ is the real `knobless compile` output of this repository's endpoints/
and environments/: the golden of whole compiles (a refactor must leave it byte-identical)."""

from __future__ import annotations

from pathlib import Path

from compiler.pipeline import compile_repository
from compiler.writer import read_tree

PROJECT = Path(__file__).resolve().parents[2]


def test_rendered_is_what_compile_produces() -> None:
    produced = compile_repository(PROJECT).files
    committed = read_tree(PROJECT / "rendered")
    report = [f"missing from rendered/: {p}" for p in sorted(produced.keys() - committed.keys())]
    report += [f"extra in rendered/: {p}" for p in sorted(committed.keys() - produced.keys())]
    report += [
        f"differs: {p}"
        for p in sorted(produced.keys() & committed.keys())
        if produced[p] != committed[p]
    ]
    assert report == [], "run `knobless compile` and commit rendered/:\n" + "\n".join(report)
    assert len(produced) > 100
