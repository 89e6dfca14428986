"""compiler.sources, the load stage: endpoint files read once, vouched for by their stamp
afterwards, and checked against their digest when read late."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compiler.errors import InputError
from compiler.sources import read_endpoint


def _age(file: Path, seconds: int = 60) -> None:
    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 1_000_000_000))


def test_unchanged_endpoint_files_are_not_read_again(repo: Path) -> None:
    file = repo / "endpoints" / "doc-embedder.yaml"
    _age(file)
    first = read_endpoint(repo, file)
    assert first.stamp is not None
    known = {first.display: (first.stamp, first.digest)}
    again = read_endpoint(repo, file, known)
    assert again._text is None and again.digest == first.digest  # vouched for by its stamp
    assert again.text == first.text  # read on first use, and checked against the digest
    file.write_text(file.read_text().replace("max: 800", "max: 900"))  # a new mtime
    edited = read_endpoint(repo, file, known)
    assert edited._text is not None and edited.digest != first.digest
    # A file modified within the last 2 s is never vouched for, nor stamped: a second change in
    # the same timestamp tick would keep the stamp.
    assert edited.stamp is None
    assert read_endpoint(repo, file, {first.display: (file_stamp(file), first.digest)})._text


def file_stamp(file: Path) -> tuple[int, int, int]:
    stat = file.stat()
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def test_a_file_changed_during_the_compile_is_an_error(repo: Path) -> None:
    file = repo / "endpoints" / "doc-embedder.yaml"
    _age(file)
    first = read_endpoint(repo, file)
    assert first.stamp is not None
    vouched = read_endpoint(repo, file, {first.display: (first.stamp, first.digest)})
    stat = file.stat()
    file.write_text(file.read_text().replace("max: 800", "max: 900"))
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime: a liar
    with pytest.raises(InputError) as raised:
        vouched.text  # noqa: B018
    (problem,) = raised.value.diagnostics
    assert problem.format() == (
        "endpoints/doc-embedder.yaml:0:0: error: changed during the compile; run it again"
    )
