"""Options and helpers shared by sub-commands."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from compiler.errors import UsageError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


EXIT_CODES = """\
exit codes:
  0   success
  1   invalid input (every problem listed as path:line:col), or stale output with --check
  2   usage error (unknown option or environment, missing argument)
  70  internal error: a bug in knobless or a plugin (KNOBLESS_DEBUG=1 shows the traceback)
"""


def add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="repository root holding endpoints/ and environments/ (default: current directory)",
    )


def repository_root(args: argparse.Namespace) -> Path:
    root: Path = args.root
    if not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    return root.resolve()


class ProgressBar:
    """A rich progress bar on a terminal, shown only once work has run for a second; never in CI."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty() and not os.environ.get("CI")
        self.started = time.monotonic()
        self.bar: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.started < 1.0:
            return
        if self.bar is None:
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.stop()
