"""What Envoy Gateway's series cannot tell the scaler (`prometheus.gateway: envoy-gateway`).

envoy-split-unmeasured: a split endpoint without `gateway.mergeBackends`. Envoy Gateway builds
one cluster per route rule, so the versions sharing the split rule have no concurrency or
latency of their own: the scaler answers their floor whatever the load and reports them
degraded. The EnvoyProxy's `mergeBackends: {}` gives each Service its own cluster.

envoy-no-wake-from-zero: an endpoint that may scale to zero. Envoy Gateway answers requests for a
Service without a ready endpoint itself (503 since v1.6, 500 before) without any cluster, so no
series counts them and nothing wakes the version: it stays at zero until a schedule opens.

Neither fires when the environment sets its own template for the signal (`prometheus.queries`).
"""

from __future__ import annotations

from collections.abc import Iterable

from compiler import hookimpl
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.review.lint import LintRule
from plugins.lint._common import at_field, ignore_hint

SPLIT_RULE = "envoy-split-unmeasured"
ZERO_RULE = "envoy-no-wake-from-zero"
GATEWAY = "envoy-gateway"


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            SPLIT_RULE,
            Severity.WARNING,
            "on Envoy Gateway without `gateway.mergeBackends`, the versions of a split endpoint "
            "share one Envoy cluster: no per-version concurrency, so the scaler answers their "
            "floor (and reports them degraded)",
        ),
        LintRule(
            ZERO_RULE,
            Severity.ERROR,
            "on Envoy Gateway, requests to a version with no ready pod are answered by the "
            "proxy and counted for no cluster: a version at zero is never woken by its traffic",
        ),
    ]


def _split(endpoint: EndpointContext) -> list[Diagnostic]:
    sharing = [s.spec.name for s in endpoint.served if s.traffic_percent > 0]
    environment = endpoint.environment
    if len(sharing) < 2 or environment.gateway.mergeBackends:
        return []
    return [
        at_field(
            endpoint,
            ("traffic",),
            f"{', '.join(sharing)} split one HTTPRoute rule, which Envoy Gateway serves through "
            f"one Envoy cluster in `{environment.name}`: the scaler sees no concurrency per "
            "version, answers their floor whatever the load and reports them degraded; set "
            "`spec.mergeBackends: {}` on the Gateway's EnvoyProxy (Envoy Gateway >= 1.9) and "
            f"`gateway+: {{ mergeBackends: true }}` in the environment file of `{environment.name}`"
            + ignore_hint(SPLIT_RULE),
            Severity.WARNING,
            SPLIT_RULE,
        )
    ]


def _zero(endpoint: EndpointContext) -> list[Diagnostic]:
    if endpoint.spec.scaling.concurrency.min != 0:
        return []
    environment = endpoint.environment.name
    until = " until a schedule window opens" if endpoint.spec.scaling.schedule else ""
    return [
        at_field(
            endpoint,
            ("scaling", "concurrency", "min"),
            f"scaling.concurrency.min is 0 in `{environment}`, whose gateway is Envoy Gateway: "
            "it answers requests to a version with no ready pod itself and counts them for no "
            f"cluster, so once at zero the version stays there{until}, answering 503; keep a "
            "floor (min >= 1) or set a `requests` template that counts them "
            "(`prometheus.queries`)" + ignore_hint(ZERO_RULE),
            Severity.ERROR,
            ZERO_RULE,
        )
    ]


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    prometheus = endpoint.environment.prometheus
    if prometheus.gateway != GATEWAY:
        return []
    found = [] if "concurrency" in prometheus.queries else _split(endpoint)
    return found + ([] if "requests" in prometheus.queries else _zero(endpoint))
