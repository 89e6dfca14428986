"""Timing a command the way every benchmark here does: a fresh process, wall time, its own
peak memory."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Collection, Mapping
from pathlib import Path


def timed(
    command: list[str],
    cwd: Path,
    *,
    ok: Collection[int] = (0,),
    env: Mapping[str, str] | None = None,
) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MiB of that child alone (wait4), and its last stderr line.
    CI=1 keeps progress bars out; `env` is laid over this process's environment; an exit code
    not in `ok` stops the benchmark."""
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
    return elapsed, usage.ru_maxrss // 1024, last
