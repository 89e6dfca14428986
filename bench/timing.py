"""Timing a command the way every benchmark here does: a fresh process, wall time, its own
peak memory."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    seconds: float
    """Wall time."""
    cpu_seconds: float
    """User + system CPU of the child and the processes it waited for (its workers): steadier
    than wall time on a shared machine, where waiting for a core counts as wall time."""
    rss: int
    """Peak RSS in MiB of the child alone (wait4)."""
    said: str
    """Its last stderr line."""


def measure(
    command: list[str],
    cwd: Path,
    *,
    ok: Collection[int] = (0,),
    env: Mapping[str, str] | None = None,
) -> Measured:
    """Run `command` in a fresh process. CI=1 keeps progress bars out; `env` is laid over this
    process's environment; an exit code not in `ok` stops the benchmark."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env={**os.environ, **(env or {}), "CI": "1"},
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        errors.seek(0)
        text = errors.read().decode()
    if os.waitstatus_to_exitcode(status) not in ok:
        raise SystemExit(f"{' '.join(command)} failed:\n{text}")
    last = text.strip().splitlines()[-1] if text.strip() else ""
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(elapsed, cpu, usage.ru_maxrss // 1024, last)


def timed(command: list[str], cwd: Path, *, ok: Collection[int] = (0,)) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MiB and the last stderr line (see measure)."""
    run = measure(command, cwd, ok=ok)
    return run.seconds, run.rss, run.said
