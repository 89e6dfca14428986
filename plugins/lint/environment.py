"""Environment-level rules: overrides and excludes naming no endpoint, workloads nobody uses.

An override for a misspelt endpoint silently does nothing, which is exactly how a production
setting fails to apply; so the environment file is checked against the endpoint files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from compiler import hookimpl
from compiler.diagnostics import Diagnostic, Severity
from compiler.models.environment import Environment
from compiler.review.lint import LintRule
from compiler.summary import EndpointSummary
from plugins.lint._common import at_position, did_you_mean

OVERRIDE_UNKNOWN = "override-unknown-endpoint"
EXCLUDE_UNKNOWN = "exclude-unknown-endpoint"
OVERRIDE_EXCLUDED = "override-excluded-endpoint"
WORKLOAD_UNUSED = "workload-unused"

Locate = Callable[[tuple[str | int, ...]], tuple[str, int, int]]


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            OVERRIDE_UNKNOWN,
            Severity.ERROR,
            "`overrides` names an endpoint that does not exist: a typo that silently does nothing",
        ),
        LintRule(
            EXCLUDE_UNKNOWN,
            Severity.WARNING,
            "`exclude` names an endpoint that does not exist: the intended one is deployed",
        ),
        LintRule(
            OVERRIDE_EXCLUDED,
            Severity.WARNING,
            "`overrides` names an endpoint the same environment excludes: it has no effect",
        ),
        LintRule(
            WORKLOAD_UNUSED,
            Severity.WARNING,
            "a named workload defined in an environment file that no endpoint of that "
            "environment uses (workloads of shared *.libsonnet catalogs are exempt)",
        ),
    ]


@hookimpl
def knobless_lint_environment(
    environment: Environment,
    summaries: Sequence[EndpointSummary],
    endpoint_names: Sequence[str],
    locate: Locate,
) -> Iterable[Diagnostic]:
    env = environment.name
    known = set(endpoint_names)
    problems = []
    for name in sorted(environment.overrides):
        if name not in known:
            problems.append(
                at_position(
                    locate(("overrides", name)),
                    f"overrides.{name}: there is no endpoint `{name}`{did_you_mean(name, known)} "
                    f"in endpoints/; this override of `{env}` does nothing",
                    Severity.ERROR,
                    OVERRIDE_UNKNOWN,
                )
            )
        elif name in environment.exclude:
            problems.append(
                at_position(
                    locate(("overrides", name)),
                    f"overrides.{name}: `{name}` is excluded from `{env}`; the override has no "
                    "effect",
                    Severity.WARNING,
                    OVERRIDE_EXCLUDED,
                )
            )
    for name in sorted(set(environment.exclude) - known):
        problems.append(
            at_position(
                locate(("exclude",)),
                f"exclude: there is no endpoint `{name}`{did_you_mean(name, known)} in "
                f"endpoints/; nothing is excluded from `{env}` by it",
                Severity.WARNING,
                EXCLUDE_UNKNOWN,
            )
        )
    used = {s.workload for e in summaries for s in e.served if s.workload}
    for name in sorted(set(environment.workloads) - used):
        where = locate(("workloads", name))
        if where[0] != environment.source:
            continue  # a shared catalog (*.libsonnet) serves several environments
        problems.append(
            at_position(
                where,
                f"workloads.{name}: no endpoint deployed to `{env}` uses workload `{name}`",
                Severity.WARNING,
                WORKLOAD_UNUSED,
            )
        )
    return problems
