"""per-replica-above-max, per-replica-max-unreachable, per-replica-gpu-impossible: per-replica
bounds that do not fit the endpoint's concurrency range or the environment's capacity guards.

Each served version takes its traffic share of `concurrency.max` (as rendered: a 0% version is
sized as a 1% one), and at that share every replica may take as little as `perReplica.min`, so
the version may need ceil(share / perReplica.min) replicas. The environment's `capacity` says how
many replicas and GPUs one version may need, and whether going past is a warning or an error:
the platform team's call, not a number fixed here. Bounds that are a runtime's defaults are not
checked: the rendered ceiling is capped at the guards instead (plugins.autoscaling.defaults).

A finding names the environment and points at the value set by the most specific layer (an
environment override before the endpoint file), since that layer is the one that made it true.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from compiler import hookimpl
from compiler.context import EndpointContext, Origin, ServedContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.review.lint import LintRule
from plugins.autoscaling.defaults import per_replica
from plugins.autoscaling.sizing import ServedBounds, served_bounds

ABOVE_MAX = "per-replica-above-max"
UNREACHABLE = "per-replica-max-unreachable"
GPU = "per-replica-gpu-impossible"

FieldPath = tuple[str | int, ...]
CONCURRENCY_MAX: FieldPath = ("scaling", "concurrency", "max")
PER_REPLICA_MIN: FieldPath = ("scaling", "perReplica", "min")
LAYER_RANK = {"override": 3, "patch": 2, "endpoint": 1, "defaults": 0}
"""Most specific first: which layer a finding about several values points at."""


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
            Severity.WARNING,
            "a served version at its traffic share of concurrency.max and perReplica.min needs "
            "more replicas than the environment's capacity.maxReplicas (an error where "
            "capacity.severity is error)",
        ),
        LintRule(
            GPU,
            Severity.WARNING,
            "a served version at its traffic share of concurrency.max and perReplica.min holds "
            "more GPUs than the environment's capacity.maxGpus (an error where capacity.severity "
            "is error)",
        ),
    ]


def _shown(endpoint: EndpointContext, path: FieldPath, value: int) -> str:
    """A value with where it came from: `3,000 (override, environments/prod.jsonnet:9:50)`."""
    origin = endpoint.locate(path)
    layer = "endpoint file" if origin.layer == "endpoint" else origin.layer
    return f"{value:,} ({layer}, {origin.path}:{origin.line}:{origin.col})"


def _most_specific(endpoint: EndpointContext, paths: Iterable[FieldPath]) -> Origin:
    origins = [endpoint.locate(path) for path in paths]
    return max(origins, key=lambda o: LAYER_RANK.get(o.layer, -1))  # first on a tie


def _finding(
    endpoint: EndpointContext,
    served: ServedContext,
    message: str,
    severity: Severity,
    rule: str,
) -> Diagnostic:
    involved = [CONCURRENCY_MAX, PER_REPLICA_MIN]
    if endpoint.spec.traffic is not None:
        involved.append(("traffic", served.spec.name))
    origin = _most_specific(endpoint, involved)
    return Diagnostic(origin.path, origin.line, origin.col, message, severity, rule)


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    scaling = endpoint.spec.scaling
    if scaling.perReplica is None:  # runtime defaults: the rendered ceiling is capped instead
        return []
    concurrency = scaling.concurrency
    env = endpoint.environment.name
    if scaling.perReplica.min > concurrency.max:
        origin = _most_specific(endpoint, [PER_REPLICA_MIN, CONCURRENCY_MAX])
        return [
            Diagnostic(
                origin.path,
                origin.line,
                origin.col,
                f"scaling.perReplica.min ({scaling.perReplica.min}) is above "
                f"scaling.concurrency.max ({concurrency.max}) in `{env}`: a replica never sees "
                "that many requests; lower perReplica.min or raise concurrency.max",
                Severity.WARNING,
                ABOVE_MAX,
            )
        ]
    return [problem for served in endpoint.served for problem in _served_findings(endpoint, served)]


def _served_findings(endpoint: EndpointContext, served: ServedContext) -> list[Diagnostic]:
    scaling = endpoint.spec.scaling
    guards = endpoint.environment.capacity
    severity = Severity(guards.severity)
    replica = per_replica(endpoint, served)
    bounds: ServedBounds = served_bounds(
        endpoint_min=scaling.concurrency.min,
        endpoint_max=scaling.concurrency.max,
        percent=served.traffic_percent,
        per_replica=replica,
        has_schedule=bool(scaling.schedule),
    )
    share = bounds.concurrency_max
    replicas = bounds.max_replicas
    where = (
        f"in `{endpoint.environment.name}`, served `{served.spec.name}` takes "
        f"{served.traffic_percent}% of concurrency.max "
        f"{_shown(endpoint, CONCURRENCY_MAX, scaling.concurrency.max)}: {share:,} in flight, "
        f"at perReplica.min {_shown(endpoint, PER_REPLICA_MIN, replica.min)}"
    )
    if replicas > guards.maxReplicas:
        return [
            _finding(
                endpoint,
                served,
                f"{where}: it may need {replicas:,} replicas, more than the environment's "
                f"capacity.maxReplicas ({guards.maxReplicas:,}); raise perReplica.min to at "
                f"least {math.ceil(share / guards.maxReplicas)}, lower concurrency.max, or have "
                "the platform team raise capacity.maxReplicas",
                severity,
                UNREACHABLE,
            )
        ]
    gpus = replicas * served.resources.gpu_count
    if gpus > guards.maxGpus:
        fitting = max(1, guards.maxGpus // served.resources.gpu_count)
        return [
            _finding(
                endpoint,
                served,
                f"{where}: {replicas:,} replicas of {served.resources.gpu_count} GPUs hold "
                f"{gpus:,} GPUs, more than the environment's capacity.maxGpus "
                f"({guards.maxGpus:,}); raise perReplica.min to at least "
                f"{math.ceil(share / fitting)}, lower concurrency.max, or have the platform team "
                "raise capacity.maxGpus",
                severity,
                GPU,
            )
        ]
    return []
