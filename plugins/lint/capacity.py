"""per-replica-above-max, per-replica-max-unreachable, per-replica-gpu-impossible: per-replica
bounds that do not fit the endpoint's concurrency range or its GPUs.

At max concurrency every replica may take as little as `perReplica.min`, so the autoscaler may
need ceil(max / perReplica.min) replicas. The ceilings below are what one cluster can be
expected to schedule for one served version; past them, `max` is a number on paper only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from compiler import hookimpl
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.review.lint import LintRule
from plugins.lint._common import at_field

ABOVE_MAX = "per-replica-above-max"
UNREACHABLE = "per-replica-max-unreachable"
GPU = "per-replica-gpu-impossible"
MAX_REPLICAS = 1_000
"""Replicas of one served version beyond which max concurrency is not reachable in practice."""
MAX_GPUS = 512
"""GPUs of one served version at max concurrency beyond which no cluster of ours has room."""


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            ABOVE_MAX,
            Severity.WARNING,
            "perReplica.min is above concurrency.max: one replica is assumed to take more than "
            "the endpoint ever receives, so the bound can never be learned",
        ),
        LintRule(
            UNREACHABLE,
            Severity.ERROR,
            f"reaching concurrency.max at perReplica.min needs more than {MAX_REPLICAS:,} "
            "replicas of one served version",
        ),
        LintRule(
            GPU,
            Severity.ERROR,
            f"reaching concurrency.max at perReplica.min needs more than {MAX_GPUS} GPUs for one "
            "served version",
        ),
    ]


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    scaling = endpoint.spec.scaling
    per_replica = scaling.perReplica
    if per_replica is None:  # the runtime's own defaults are sized to fit
        return []
    concurrency = scaling.concurrency
    where = ("scaling", "perReplica", "min")
    if per_replica.min > concurrency.max:
        return [
            at_field(
                endpoint,
                where,
                f"scaling.perReplica.min ({per_replica.min}) is above scaling.concurrency.max "
                f"({concurrency.max}): a replica never sees that many requests; lower "
                "perReplica.min or raise concurrency.max",
                Severity.WARNING,
                ABOVE_MAX,
            )
        ]
    replicas = math.ceil(concurrency.max / per_replica.min)
    if replicas > MAX_REPLICAS:
        return [
            at_field(
                endpoint,
                where,
                f"scaling.perReplica.min ({per_replica.min}) makes concurrency.max "
                f"({concurrency.max}) unreachable: it may need {replicas:,} replicas, more than "
                f"{MAX_REPLICAS:,}; raise perReplica.min to at least "
                f"{math.ceil(concurrency.max / MAX_REPLICAS)} or lower concurrency.max",
                Severity.ERROR,
                UNREACHABLE,
            )
        ]
    problems = []
    for served in endpoint.served:
        gpus = replicas * served.resources.gpu_count
        if gpus > MAX_GPUS:
            fitting = max(1, MAX_GPUS // served.resources.gpu_count)
            problems.append(
                at_field(
                    endpoint,
                    where,
                    f"scaling.perReplica.min ({per_replica.min}) is impossible with "
                    f"{served.resources.gpu_count} GPUs per replica of `{served.spec.name}`: "
                    f"{replicas} replicas at max concurrency hold {gpus} GPUs, more than "
                    f"{MAX_GPUS}; raise perReplica.min to at least "
                    f"{math.ceil(concurrency.max / fitting)} or lower concurrency.max",
                    Severity.ERROR,
                    GPU,
                )
            )
    return problems
