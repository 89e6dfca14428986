"""traffic-unknown-served, traffic-zero-served: traffic to nowhere, versions nothing reaches."""

from __future__ import annotations

from collections.abc import Iterable

from compiler import hookimpl
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.review.lint import LintRule
from plugins.lint._common import at_field, did_you_mean, ignore_hint

UNKNOWN = "traffic-unknown-served"
ZERO = "traffic-zero-served"


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            UNKNOWN,
            Severity.ERROR,
            "`traffic` sends requests to a served version that does not exist",
        ),
        LintRule(
            ZERO,
            Severity.WARNING,
            "a served version gets 0% of traffic: it holds a replica (and its cost) that no "
            "request reaches",
        ),
    ]


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    traffic = endpoint.spec.traffic or {}
    served = [s.name for s in endpoint.spec.served]
    problems = []
    for name, percent in traffic.items():
        if name not in served:
            problems.append(
                at_field(
                    endpoint,
                    ("traffic", name),
                    f"traffic.{name}: sends {percent}% to `{name}`, which is not served"
                    f"{did_you_mean(name, served)} (served: {', '.join(served)})",
                    Severity.ERROR,
                    UNKNOWN,
                )
            )
        elif percent == 0 and len(served) > 1:
            problems.append(
                at_field(
                    endpoint,
                    ("traffic", name),
                    f"traffic.{name}: `{name}` gets 0% of traffic but keeps a replica running; "
                    "remove it from `served` or give it a share" + ignore_hint(ZERO),
                    Severity.WARNING,
                    ZERO,
                )
            )
    return problems
