"""Every function in compiler/ stays short enough to read at a glance: at most 40 lines from its
`def` to its last line (docstring included). A longer one is split into named stage functions."""

from __future__ import annotations

import ast
from pathlib import Path

COMPILER = Path(__file__).resolve().parents[2] / "compiler"
LIMIT = 40


def long_functions(root: Path = COMPILER) -> dict[str, int]:
    """Every function over the limit, as `path::name` (path relative to `root`), with its
    length in lines."""
    found = {}
    for file in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LIMIT:
                    found[f"{file.relative_to(root).as_posix()}::{node.name}"] = length
    return found


def test_no_function_in_compiler_is_longer_than_the_limit() -> None:
    assert long_functions() == {}, f"split these into stage functions of at most {LIMIT} lines"


def test_the_scan_counts_from_def_to_last_line(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(LIMIT - 1))
    (tmp_path / "fits.py").write_text(f"def fits():\n{body}")
    (tmp_path / "long.py").write_text(f"def long():\n{body}    x = 0\n")
    assert long_functions(tmp_path) == {"long.py::long": LIMIT + 1}
