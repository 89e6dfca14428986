"""A git revision of the repository, materialized in a temporary directory.

`git archive REV | tar -x` into a temporary folder: the working tree, the index and HEAD are never
touched, and it works in a shallow clone as long as REV's commit has been fetched. Errors:

    UsageError (exit 2)
    └── GitRevisionError     not a git repository, unknown revision, root missing at REV
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from compiler.errors import UsageError

GIT_TIMEOUT_SECONDS = 120
RENDERED = "rendered"


class GitRevisionError(UsageError):
    """The base revision cannot be read from git (exit 2: the command line names a bad REV/root)."""


@dataclass(frozen=True)
class Revision:
    name: str
    """What the user asked for, e.g. origin/main."""
    commit: str
    """The full commit id it resolves to."""
    root: Path
    """The repository root (the `--root` folder) as of that commit, in a temporary directory."""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise GitRevisionError("knobless diff needs git, and `git` is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitRevisionError(
            f"git {args[0]} took longer than {GIT_TIMEOUT_SECONDS} s in {root}"
        ) from None


def _text(output: bytes) -> str:
    return output.decode("utf-8", errors="replace").strip()


def resolve_commit(root: Path, revision: str) -> str:
    """The commit id of `revision` in the repository containing `root`."""
    if not root.is_dir():
        raise GitRevisionError(f"--root {root}: no such directory")
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or _text(inside.stdout) != "true":
        raise GitRevisionError(
            f"{root} is not inside a git working tree; `knobless diff` compares against a git "
            "revision (run it in a clone of the repository, or pass --root)"
        )
    if revision.startswith("-"):  # never let a revision be read as an option of git
        raise GitRevisionError(f"`{revision}` is not a git revision")
    found = _git(
        root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"
    )
    if found.returncode != 0:
        shallow = _text(_git(root, "rev-parse", "--is-shallow-repository").stdout) == "true"
        hint = (
            "this is a shallow clone: fetch the base first, e.g. "
            "`git fetch --depth=1 origin main` (or check out with fetch-depth: 0)"
            if shallow
            else "check the name with `git log --oneline -1 REV`, or fetch it "
            "(`git fetch origin BRANCH`)"
        )
        raise GitRevisionError(f"unknown git revision `{revision}`: {hint}")
    return _text(found.stdout)


def _prefix(root: Path) -> str:
    """The path of `root` inside its repository (`` at the top, else `sub/dir/`)."""
    return _text(_git(root, "rev-parse", "--show-prefix").stdout)


def _toplevel(root: Path) -> Path:
    return Path(_text(_git(root, "rev-parse", "--show-toplevel").stdout))


@contextmanager
def materialize(root: Path, revision: str) -> Iterator[Revision]:
    """Yield `root` as of `revision`, extracted into a temporary directory removed afterwards."""
    commit = resolve_commit(root, revision)
    prefix = _prefix(root)
    if prefix and _git(root, "cat-file", "-e", f"{commit}:{prefix}").returncode != 0:
        raise GitRevisionError(
            f"`{prefix.rstrip('/')}` (the --root folder) does not exist at `{revision}`"
        )
    # rendered/ is re-rendered, never read: leaving it out saves most of the extraction.
    pathspecs = [prefix or ".", f":(exclude){prefix}{RENDERED}"]
    with tempfile.TemporaryDirectory(prefix="knobless-base-") as temporary:
        archive = ["archive", "--format=tar", commit, "--", *pathspecs]
        _extract(_toplevel(root), archive, Path(temporary))
        base_root = Path(temporary, prefix) if prefix else Path(temporary)
        base_root.mkdir(parents=True, exist_ok=True)
        yield Revision(revision, commit, base_root)


def _extract(root: Path, args: list[str], target: Path) -> None:
    """Stream `git archive` into `target` (no whole archive in memory)."""
    with subprocess.Popen(
        ["git", "-C", str(root), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        try:
            with tarfile.open(fileobj=process.stdout, mode="r|") as tar:
                # The "data" filter refuses absolute paths, links out of the tree, device files.
                tar.extractall(target, filter="data")
        except tarfile.TarError as error:
            process.kill()
            process.wait()
            raise GitRevisionError(
                f"cannot read the archive of `{args[2]}`: {_text(process.stderr.read()) or error}"
            ) from None
        error_text = process.stderr.read()
        if process.wait(timeout=GIT_TIMEOUT_SECONDS) != 0:
            raise GitRevisionError(f"git archive {args[2]} failed: {_text(error_text)}")
