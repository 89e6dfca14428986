"""Per-replica concurrency defaults by runtime: the one table users never have to fill in.

A replica's capacity differs by orders of magnitude between runtimes: an MLflow pyfunc server
runs a worker pool of about two requests per CPU core, a vLLM server batches tens to hundreds of
sequences, Triton batches dynamically per GPU, and an agent that mostly waits on other services
holds hundreds of requests. The scaler learns the real figure at run time; these numbers are its
starting point (`initial`) and its bounds (`min`, `max`) when the endpoint sets no `perReplica`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from compiler.context import ServedContext


@dataclass(frozen=True)
class PerReplica:
    """Bounds and starting point of the concurrency one replica is assumed to take."""

    min: int
    initial: int
    max: int


# runtime -> (min, initial, max) per unit, and the unit the figures scale with.
# "core": per requested CPU core (worker pools); "gpu": per GPU (Triton instance groups);
# "replica": flat (a vLLM engine batches across its tensor-parallel GPUs as one).
RUNTIME_TABLE: dict[str, tuple[tuple[int, int, int], str]] = {
    "mlflow": ((1, 2, 8), "core"),
    "triton": ((16, 32, 64), "gpu"),
    "vllm": ((32, 64, 256), "replica"),
    "custom": ((50, 200, 1000), "replica"),
}
FALLBACK: tuple[int, int, int] = (1, 8, 1000)
"""A runtime this table does not know (a plugin's own): start low, let the scaler learn widely."""


def _units(unit: str, served: ServedContext) -> Decimal:
    if unit == "core":
        return served.resources.cpu_cores
    if unit == "gpu":
        return Decimal(max(1, served.resources.gpu_count))
    return Decimal(1)


def runtime_per_replica(served: ServedContext) -> PerReplica:
    """The runtime's default per-replica range for this served version's resources."""
    row = RUNTIME_TABLE.get(served.runtime.name)
    if row is None:
        low, initial, high = FALLBACK
        return PerReplica(low, initial, high)
    (low, initial, high), unit = row
    units = _units(unit, served)
    # Never below the per-unit figure: half a core still runs a worker pool of two.
    return PerReplica(
        min=max(low, math.ceil(low * units)),
        initial=max(initial, math.ceil(initial * units)),
        max=max(high, math.ceil(high * units)),
    )


def per_replica(served: ServedContext, spec_min: int | None, spec_max: int | None) -> PerReplica:
    """The endpoint's `perReplica` when set, the runtime's defaults otherwise.

    `initial` is always the runtime's starting point, clamped into the range in force.
    """
    defaults = runtime_per_replica(served)
    low = defaults.min if spec_min is None else spec_min
    high = defaults.max if spec_max is None else spec_max
    return PerReplica(min=low, initial=min(max(defaults.initial, low), high), max=high)
