"""The writer: deterministic bytes, exact tree contents, and an all-or-nothing swap."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from compiler.writer import HEADER, dump, read_tree, recover, write_tree


def test_dump_keeps_key_order_and_uses_blocks_for_multiline() -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
        "data": {"a": "1\n2\n"},
    }
    assert dump(body) == HEADER + (
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: |\n    1\n    2\n"
    )


def test_dump_is_plain_utf8_with_final_newline() -> None:
    out = dump({"kind": "X", "metadata": {"name": "caf\u00e9", "annotations": {"on": "true"}}})
    assert out.endswith(b"\n") and b"\r" not in out
    assert "café".encode() in out
    assert b"'on': 'true'" in out  # YAML 1.1 booleans stay strings


def test_write_tree_replaces_exactly(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dev/a/x.yaml": b"1", "dev/b/y.yaml": b"2"})
    difference = write_tree(tmp_path, {"dev/a/x.yaml": b"1", "dev/c/z.yaml": b"3"})
    assert read_tree(tmp_path / "rendered") == {"dev/a/x.yaml": b"1", "dev/c/z.yaml": b"3"}
    assert (difference.added, difference.removed, difference.changed) == (
        ("dev/c/z.yaml",),
        ("dev/b/y.yaml",),
        (),
    )
    assert not (tmp_path / "rendered" / "dev" / "b").exists()  # stale folders vanish
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rendered"]  # no staging left over


def test_write_tree_keeps_environments_not_compiled(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dev/a/x.yaml": b"1", "prod/a/x.yaml": b"p"})
    write_tree(tmp_path, {"dev/a/x.yaml": b"2"}, keep=["prod"])
    assert read_tree(tmp_path / "rendered") == {"dev/a/x.yaml": b"2", "prod/a/x.yaml": b"p"}


def test_unchanged_tree_is_not_touched(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dev/a/x.yaml": b"1"})
    inode = (tmp_path / "rendered").stat().st_ino
    assert write_tree(tmp_path, {"dev/a/x.yaml": b"1"}).empty
    assert (tmp_path / "rendered").stat().st_ino == inode


def test_failure_while_writing_leaves_rendered_as_it_was(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dev/a/x.yaml": b"old"})
    before = read_tree(tmp_path / "rendered")
    with pytest.raises(OSError):
        # "dev/a" as a file and a folder at once: the second write fails half-way through
        write_tree(tmp_path, {"dev/a/x.yaml": b"new", "dev/a/x.yaml/y": b"boom"})
    assert read_tree(tmp_path / "rendered") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rendered"]


def test_recover_puts_back_a_tree_retired_by_a_killed_swap(tmp_path: Path) -> None:
    # Without renameat2 the swap is two renames; a kill between them leaves only the old tree.
    (tmp_path / ".rendered.old-abc" / "dev").mkdir(parents=True)
    (tmp_path / ".rendered.old-abc" / "dev" / "x.yaml").write_bytes(b"old")
    (tmp_path / ".rendered.new-abc").mkdir()
    recover(tmp_path)
    assert read_tree(tmp_path / "rendered") == {"dev/x.yaml": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rendered"]


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from compiler.writer import write_tree
    root = Path(sys.argv[1])
    files = {f"dev/e{i}/deployment-{i}.yaml": b"new" * 200 for i in range(4000)}
    print("ready", flush=True)
    write_tree(root, files)
    """
)


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3])
def test_killed_compile_leaves_old_or_new_tree(tmp_path: Path, delay: float) -> None:
    old = {f"dev/e{i}/deployment-{i}.yaml": b"old" for i in range(50)}
    write_tree(tmp_path, old)
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path)], stdout=subprocess.PIPE
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    tree = read_tree(tmp_path / "rendered")
    new = {f"dev/e{i}/deployment-{i}.yaml": b"new" * 200 for i in range(4000)}
    assert tree in (old, new)
    write_tree(tmp_path, old)  # the next run cleans up whatever the killed one left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rendered"]
