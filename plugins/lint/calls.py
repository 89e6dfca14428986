"""env-direct-service: an env value naming an in-cluster Service the endpoint's NetworkPolicy
does not let its pods reach — most often another endpoint's Service, whose pods admit only the
gateway. Endpoint-to-endpoint calls go through the gateway: `{name: ..., endpoint: other}`.
"""

from __future__ import annotations

from collections.abc import Iterable

from compiler import hookimpl
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.review.lint import LintRule
from plugins.lint._common import at_field, ignore_hint
from plugins.networkpolicy import egress_namespaces, in_cluster_target

RULE = "env-direct-service"


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            RULE,
            Severity.ERROR,
            "an env value names a `*.svc` address the endpoint's NetworkPolicy blocks (another "
            "endpoint's Service admits only the gateway: use `endpoint: <name>`)",
        )
    ]


def _advice(endpoint: EndpointContext, namespace: str) -> str:
    prefix = endpoint.environment.namespacePrefix
    if prefix and namespace.startswith(prefix) and namespace != endpoint.namespace:
        other = namespace[len(prefix) :]
        return (
            f"`{namespace}` is endpoint `{other}`'s namespace, whose pods admit only the gateway: "
            f"call it through the gateway with `{{name: ..., endpoint: {other}}}`"
        )
    return (
        f"allow it in the environment's `egress` (`{{namespace: {namespace}, ports: [...]}}`) or "
        "call it through the gateway"
    )


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    allowed = egress_namespaces(endpoint) | {endpoint.namespace}
    problems = []
    for i, served in enumerate(endpoint.served):
        for j, variable in enumerate(served.spec.env):
            target = in_cluster_target(variable.value) if variable.value else None
            if target is None or target[0] in allowed:
                continue
            problems.append(
                at_field(
                    endpoint,
                    ("served", i, "env", j, "value"),
                    f"served[{i}].env[{j}] ({variable.name}) points at `{variable.value}`, which "
                    f"this endpoint's NetworkPolicy blocks: {_advice(endpoint, target[0])}"
                    + ignore_hint(RULE),
                    Severity.ERROR,
                    RULE,
                )
            )
    return problems
