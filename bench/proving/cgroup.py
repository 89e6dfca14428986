"""A CPU limit like a pod's: a cgroup v1 `cpu` group with a CFS quota (cpu.cfs_quota_us over
cpu.cfs_period_us), the mechanism the kubelet uses for `resources.limits.cpu`.

Needs root and the v1 `cpu` controller mounted at /sys/fs/cgroup/cpu (as on this machine and CI).
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from pathlib import Path

CPU_ROOT = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000
"""The kubelet's CFS period (100 ms)."""
PRIORITY_SHARES = 262_144
"""cpu.shares of the proving ground's groups (the kernel's maximum; a process of the root group
weighs 1024): on a machine shared with other work, the replica gets its core whenever it asks,
as on a node whose CPU requests are not overcommitted. The quota still caps it."""


def missing_reason() -> str | None:
    """Why no CPU-limited cgroup can be made here (None when it can)."""
    if not (CPU_ROOT / "cpu.cfs_quota_us").exists():
        return f"no cgroup v1 cpu controller at {CPU_ROOT} (cpu.cfs_quota_us missing)"
    if not os.access(CPU_ROOT, os.W_OK):
        return f"{CPU_ROOT} is not writable: run as root"
    return None


class CpuGroup:
    """`/sys/fs/cgroup/cpu/<name>` limited to `cores` CPUs; processes join by pid."""

    def __init__(self, name: str, cores: float | None, shares: int = PRIORITY_SHARES) -> None:
        self.path = CPU_ROOT / name
        self.cores = cores
        self.shares = shares

    def create(self) -> CpuGroup:
        self.path.mkdir(exist_ok=True)
        (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        quota = -1 if self.cores is None else round(self.cores * PERIOD_US)
        (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        (self.path / "cpu.shares").write_text(str(self.shares))
        return self

    def wrap(self, argv: list[str], cpu: int) -> list[str]:
        """`argv` started inside this group (joined before exec, so children are born in it),
        pinned to `cpu`."""
        join = f'echo $$ > {self.procs_file} && exec taskset -c {cpu} "$@"'
        return ["sh", "-c", join, "sh", *argv]

    @property
    def procs_file(self) -> Path:
        return self.path / "cgroup.procs"

    def throttled(self) -> tuple[int, float]:
        """(periods throttled, seconds throttled) so far, from cpu.stat."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return int(stat["nr_throttled"]), int(stat["throttled_time"]) / 1e9

    def remove(self) -> None:
        """Move stragglers to the root group, then remove the group (rmdir needs it empty)."""
        if not self.path.exists():
            return
        for _ in range(50):
            pids = self.procs_file.read_text().split()
            for pid in pids:
                with suppress(OSError):
                    (CPU_ROOT / "cgroup.procs").write_text(pid)
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)
