"""Production availability rules.

prod-min-zero-cold-start: an endpoint in production allowed to scale to zero. Nothing holds a
request while the first pod starts (KEDA has no activator, unlike Knative): the gateway answers
503 until a pod is ready — seconds for a small CPU model, minutes on GPUs (a 70B model pulls its
weights and warms CUDA graphs).

prod-single-replica: a served version taking traffic in production whose floor is one replica:
the PodDisruptionBudget lets that replica go on a node drain, and the version is down until its
replacement is ready.
"""

from __future__ import annotations

from collections.abc import Iterable

from compiler import hookimpl
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.review.lint import LintRule
from plugins.autoscaling.scaledobject import plan
from plugins.lint._common import at_field, ignore_hint

RULE = "prod-min-zero-cold-start"
SINGLE_REPLICA_RULE = "prod-single-replica"
PRODUCTION_PREFIX = "prod"
SLOW_RUNTIMES = frozenset({"vllm"})


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            RULE,
            Severity.WARNING,
            "an endpoint in a prod* environment with concurrency min 0 scales to zero; nothing "
            "holds requests while a pod starts, so they get 503 (minutes on GPUs)",
        ),
        LintRule(
            SINGLE_REPLICA_RULE,
            Severity.WARNING,
            "a served version with traffic in a prod* environment keeps a floor of one replica: "
            "a node drain takes it down",
        ),
    ]


def _slow_to_start(endpoint: EndpointContext) -> list[str]:
    slow = []
    for served in endpoint.served:
        llm = (served.spec.task or "").startswith("llm/") or served.runtime.name in SLOW_RUNTIMES
        if served.resources.gpu_count or llm:
            slow.append(served.spec.name)
    return slow


def _scale_to_zero(endpoint: EndpointContext) -> list[Diagnostic]:
    environment = endpoint.environment.name
    if endpoint.spec.scaling.concurrency.min != 0:
        return []
    slow = _slow_to_start(endpoint)
    wait = (
        f"{', '.join(slow)} runs on GPUs or is an LLM, so that takes minutes"
        if slow
        else "that takes the pod's whole start-up"
    )
    return [
        at_field(
            endpoint,
            ("scaling", "concurrency", "min"),
            f"scaling.concurrency.min is 0 in `{environment}`: after an idle period nothing holds "
            f"requests while the first pod starts, so the gateway answers 503 until it is ready "
            f"({wait}); keep a floor (min >= 1) in production" + ignore_hint(RULE),
            Severity.WARNING,
            RULE,
        )
    ]


def _single_replica(endpoint: EndpointContext) -> list[Diagnostic]:
    single = [
        served.spec.name
        for served in endpoint.served
        if served.traffic_percent > 0 and plan(endpoint, served)[1].min_replicas == 1
    ]
    if not single:
        return []
    environment = endpoint.environment.name
    return [
        at_field(
            endpoint,
            ("scaling", "concurrency", "min"),
            f"{', '.join(single)} keeps a floor of one replica in `{environment}`: a node drain "
            "takes it down until a replacement is ready; set `minReplicas: 2` in the "
            f"environment file of `{environment}`" + ignore_hint(SINGLE_REPLICA_RULE),
            Severity.WARNING,
            SINGLE_REPLICA_RULE,
        )
    ]


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    if not endpoint.environment.name.startswith(PRODUCTION_PREFIX):
        return []
    return [*_scale_to_zero(endpoint), *_single_replica(endpoint)]
