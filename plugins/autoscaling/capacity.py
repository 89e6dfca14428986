"""How many scaler shards an environment needs, and the compile-time checks of the scaler setup.

KEDA v2.20 calls an external scaler three times (GetMetricSpec, GetMetrics, IsActive) per
ScaledObject every `pollingInterval` from its scale loop, and three times again on every HPA sync
(15 s, cluster-wide) while the target has replicas. One scaler process answers about 3,500
calls/s on 2 cores (a no-op grpcio server on loopback, measured: bench/scaler.py); a shard is
planned at half of that, leaving room for Prometheus ticks, bursts and a neighbour's restart.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from compiler.diagnostics import Diagnostic, Severity
from compiler.models.environment import Environment
from plugins.apa.queries import DEFAULT_QUERIES

RPCS_PER_EVALUATION = 3
HPA_SYNC_SECONDS = 15
SHARD_CALLS_PER_SECOND = 3500
SHARD_HEADROOM = 0.5
SHARDS_RULE = "scaler-shards"
QUERIES_RULE = "scaler-queries"

Locate = Callable[[tuple[str | int, ...]], tuple[str, int, int]]


def calls_per_second(scaled_objects: int, polling_interval: int) -> float:
    """KEDA's steady call rate to the scalers, counting every ScaledObject as scaled up."""
    per_object = RPCS_PER_EVALUATION / polling_interval + RPCS_PER_EVALUATION / HPA_SYNC_SECONDS
    return scaled_objects * per_object


def shards_needed(scaled_objects: int, polling_interval: int) -> int:
    budget = SHARD_HEADROOM * SHARD_CALLS_PER_SECOND
    return max(1, math.ceil(calls_per_second(scaled_objects, polling_interval) / budget - 1e-9))


def check_scaler(environment: Environment, scaled_objects: int, locate: Locate) -> list[Diagnostic]:
    """The environment's scaler setup against the `scaled_objects` it renders in total."""
    scaler = environment.scaler
    problems = []
    needed = shards_needed(scaled_objects, scaler.pollingInterval)
    if scaler.shards < needed:
        calls = calls_per_second(scaled_objects, scaler.pollingInterval)
        problems.append(
            Diagnostic(
                *locate(("scaler", "shards")),
                f"scaler.shards is {scaler.shards}, but {scaled_objects:,} ScaledObjects polled "
                f"every {scaler.pollingInterval} s cost KEDA about {calls:,.0f} calls/s and one "
                f"shard is planned for {SHARD_HEADROOM * SHARD_CALLS_PER_SECOND:,.0f}: set "
                f"scaler.shards to at least {needed} (or raise scaler.pollingInterval)",
                Severity.WARNING,
                SHARDS_RULE,
            )
        )
    for name in sorted(environment.prometheus.queries):
        if name not in DEFAULT_QUERIES:
            problems.append(
                Diagnostic(
                    *locate(("prometheus", "queries", name)),
                    f"prometheus.queries.{name}: unknown signal; the scaler would refuse to start "
                    f"(known: {', '.join(sorted(DEFAULT_QUERIES))})",
                    Severity.ERROR,
                    QUERIES_RULE,
                )
            )
    return problems
