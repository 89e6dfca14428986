"""Probe builders: one shape for every runtime, so timings are the only thing that differs."""

from __future__ import annotations

from typing import Any


def http_probe(
    path: str,
    port: str,
    *,
    period: int,
    failures: int,
    timeout: int = 3,
    initial_delay: int = 0,
) -> dict[str, Any]:
    """An HTTP GET probe on a named container port."""
    probe: dict[str, Any] = {"httpGet": {"path": path, "port": port}}
    return _timings(probe, period, failures, timeout, initial_delay)


def tcp_probe(
    port: str, *, period: int, failures: int, timeout: int = 3, initial_delay: int = 0
) -> dict[str, Any]:
    """A TCP connect probe (for containers whose health path we do not know)."""
    probe: dict[str, Any] = {"tcpSocket": {"port": port}}
    return _timings(probe, period, failures, timeout, initial_delay)


def startup_failures(budget_seconds: int, period: int) -> int:
    """Failure threshold giving a startup probe `budget_seconds` before the kubelet restarts."""
    return max(1, -(-budget_seconds // period))


def _timings(
    probe: dict[str, Any], period: int, failures: int, timeout: int, initial_delay: int
) -> dict[str, Any]:
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    probe["periodSeconds"] = period
    probe["timeoutSeconds"] = timeout
    probe["failureThreshold"] = failures
    return probe
