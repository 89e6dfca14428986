"""A few file changes applied to rendered/ in place, all or nothing: the writer of incremental
compiles (a full compile swaps in a whole new tree instead, see compiler.writer).

New contents are staged in a journal folder beside rendered/, and every file about to be
replaced or deleted is hard-linked there first. Only then is the plan written (the journal is
"armed") and applied, with SIGINT and SIGTERM held back. A run killed while armed leaves the
journal behind, and the next knobless run that writes rendered/ (or `recover`) rolls every change
back from it before anything else: rendered/ is again exactly as it was. Applying a plan is a
rename per file, so the window in which a SIGKILL can leave work for recovery is short (about a
millisecond for one endpoint's files).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import orjson

JOURNAL_PREFIX = ".rendered.journal-"
PLAN = "plan.json"
_NEW = "new"
_OLD = "old"


class Journal:
    """with Journal(root) as journal:
            journal.put("dev/fraud/deployment-v1.yaml", data)
            journal.delete("dev/old-model")         # a file or a whole folder
            journal.commit()

    Paths are relative to rendered/. Leaving the block without commit changes nothing.
    """

    def __init__(self, root: Path) -> None:
        recover(root)
        self.rendered = root / "rendered"
        self.folder = Path(tempfile.mkdtemp(prefix=JOURNAL_PREFIX, dir=root))
        self.puts: dict[str, bytes] = {}
        self.deletes: set[str] = set()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def put(self, path: str, data: bytes) -> None:
        self.puts[path] = data

    def delete(self, path: str) -> None:
        self.deletes.add(path)

    @property
    def empty(self) -> bool:
        return not (self.puts or self.deletes)

    def commit(self) -> None:
        if self.empty:
            return
        new, old = self.folder / _NEW, self.folder / _OLD
        for path, data in self.puts.items():
            staged = new / path
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(data)
        for path in self.puts:
            _backup(self.rendered / path, old / path)
        plan = {"puts": sorted(self.puts), "deletes": sorted(self.deletes)}
        _write_atomically(self.folder / PLAN, orjson.dumps(plan))
        with _signals_held():
            try:
                self._apply(plan["puts"], plan["deletes"])
            except BaseException:
                _roll_back(self.rendered, self.folder, plan["puts"], plan["deletes"])
                raise
            (self.folder / PLAN).unlink()  # disarmed: the change is complete

    def _apply(self, puts: list[str], deletes: list[str]) -> None:
        new, old = self.folder / _NEW, self.folder / _OLD
        for path in deletes:  # first: a put may land in a folder a delete empties
            target = self.rendered / path
            if target.is_dir() and not target.is_symlink():
                (old / path).parent.mkdir(parents=True, exist_ok=True)
                target.rename(old / path)
            elif target.exists() or target.is_symlink():
                _backup(target, old / path)
                target.unlink()
        for path in puts:
            target = self.rendered / path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(new / path, target)
        _remove_empty_parents(self.rendered, deletes)


def recover(root: Path) -> None:
    """Roll back what a killed incremental compile left half applied."""
    rendered = root / "rendered"
    for folder in sorted(root.glob(JOURNAL_PREFIX + "*")):
        plan_file = folder / PLAN
        if plan_file.exists():
            plan = orjson.loads(plan_file.read_bytes())
            _roll_back(rendered, folder, plan["puts"], plan["deletes"])
        shutil.rmtree(folder, ignore_errors=True)


def _roll_back(rendered: Path, folder: Path, puts: list[str], deletes: list[str]) -> None:
    old = folder / _OLD
    for path in puts:
        target, saved = rendered / path, old / path
        if saved.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(saved, target)
        elif target.exists():
            target.unlink()  # a file the killed run added
    _remove_empty_parents(rendered, puts)
    for path in deletes:
        target, saved = rendered / path, old / path
        if saved.is_dir() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            saved.rename(target)
        elif saved.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(saved, target)


def _backup(target: Path, saved: Path) -> None:
    if not (target.exists() or target.is_symlink()) or saved.exists():
        return
    saved.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(target, saved, follow_symlinks=False)
    except OSError:  # no hard links here: a copy does as well
        shutil.copy2(target, saved, follow_symlinks=False)


def _remove_empty_parents(rendered: Path, paths: list[str]) -> None:
    """Folders left empty (an endpoint removed), deepest first, never rendered/ itself."""
    folders = {p.rpartition("/")[0] for p in paths}
    for folder in sorted(folders, key=lambda f: -f.count("/")):
        while folder:
            try:
                (rendered / folder).rmdir()
            except OSError:
                break  # not empty (or gone)
            folder = folder.rpartition("/")[0]


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C or a polite kill during the renames waits until they are done."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):  # not the main thread / no pthreads
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def changed(rendered: Path, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files whose content on disk differs (or that are missing)."""
    different = {}
    for path, data in files.items():
        try:
            same = (rendered / path).read_bytes() == data
        except OSError:
            same = False
        if not same:
            different[path] = data
    return different
