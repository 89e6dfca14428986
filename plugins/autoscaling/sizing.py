"""The arithmetic from an endpoint's concurrency range to one served version's scaling bounds.

Rules (the README's "Autoscaling" section explains why):
- A served version's concurrency range is its traffic share of the endpoint's range, rounded up:
  max_share = ceil(max * p / 100); min_share = ceil(min * p / 100) (0 stays 0).
- A 0% version (staged, or drained after a rollout) must still be ready to take traffic the
  moment the route shifts: it keeps one replica (minReplicaCount 1) and its ceiling is that of a
  1% version. Its floor is 0 in-flight requests, so the scaler never asks for more than one
  replica unless traffic really arrives.
- Schedule floors are shared the same way (with the 1% rule for the ceiling) and never exceed
  the version's ceiling.
- minReplicaCount is 0 only when the version's floor is 0, it has traffic and no schedule;
  otherwise at least 1 (the environment's `minReplicas` for a version with traffic) and at least
  ceil(min_share / per_replica_max) — the fewest replicas that can hold the floor even when
  every replica takes the most it may.
- maxReplicaCount = ceil(max_share / per_replica_min): the most replicas the ceiling can need
  when every replica takes the least it may, capped by `replica_cap` when given (the
  environment's capacity guards, for bounds that are a runtime's defaults); never below
  minReplicaCount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from plugins.autoscaling.defaults import PerReplica


@dataclass(frozen=True)
class ServedBounds:
    """Concurrency range of one served version and the replica bounds KEDA is given."""

    concurrency_min: int
    concurrency_max: int
    min_replicas: int
    max_replicas: int


def share_up(value: int, percent: int) -> int:
    """ceil(value * percent / 100) in integers (no float rounding surprises)."""
    return -(-value * percent // 100)


def ceiling_percent(percent: int) -> int:
    """The share used for ceilings and schedule floors: a 0% version is sized as a 1% one."""
    return max(percent, 1)


def served_bounds(
    *,
    endpoint_min: int,
    endpoint_max: int,
    percent: int,
    per_replica: PerReplica,
    has_schedule: bool,
    replica_floor: int = 1,
    replica_cap: int | None = None,
) -> ServedBounds:
    concurrency_max = max(1, share_up(endpoint_max, ceiling_percent(percent)))
    concurrency_min = share_up(endpoint_min, percent)
    floor_replicas = math.ceil(concurrency_min / per_replica.max)
    scale_to_zero = concurrency_min == 0 and percent > 0 and not has_schedule
    # A version taking traffic keeps the environment's replica floor (2 survives a node drain);
    # a 0% one keeps one, ready for the route to shift.
    least = replica_floor if percent > 0 else 1
    min_replicas = floor_replicas if scale_to_zero else max(least, floor_replicas)
    needed = math.ceil(concurrency_max / per_replica.min)
    if replica_cap is not None:
        needed = min(needed, replica_cap)
    max_replicas = max(1, min_replicas, needed)
    return ServedBounds(concurrency_min, concurrency_max, min_replicas, max_replicas)


def schedule_floor(min_concurrency: int, percent: int, concurrency_max: int) -> int:
    """A schedule window's floor for one served version: its share, capped by its ceiling."""
    return min(concurrency_max, max(1, share_up(min_concurrency, ceiling_percent(percent))))
