"""owner-not-email: the owner must be an address someone can be reached at."""

from __future__ import annotations

import re
from collections.abc import Iterable

from compiler import hookimpl
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.review.lint import LintRule
from plugins.lint._common import at_field

RULE = "owner-not-email"
# Deliberately simple: one @, no spaces, a dotted domain. Not RFC 5322, which allows far more.
EMAIL = re.compile(r"^[^@\s<>]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            RULE,
            Severity.WARNING,
            "`owner` is not an e-mail address: alerts and reviews need someone to reach",
        )
    ]


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    owner = endpoint.spec.owner
    if EMAIL.match(owner):
        return []
    return [
        at_field(
            endpoint,
            ("owner",),
            f"owner: `{owner}` is not an e-mail address; use the team's address "
            "(e.g. risk-platform@example.com)",
            Severity.WARNING,
            RULE,
        )
    ]
