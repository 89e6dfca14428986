"""Semantic lint: the checks a reviewer would make that a schema cannot express.

Rules are plugins (`knobless_lint_endpoint`, `knobless_lint_environment`; built-ins in
plugins/lint/). `lint_endpoint` and `lint_environment` run them over a resolved endpoint and an
environment, drop what an endpoint switched off (`lint: {ignore: {rule-id: "why"}}`) and report
ignores naming no rule; `apply_strict` turns warnings into errors. The lint stage of a compile
and of `validate` (compiler.pipeline.lint_endpoints, lint_whole_environment) calls them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pluggy

from compiler.context import EndpointContext, Origin
from compiler.diagnostics import Diagnostic, Severity
from compiler.summary import EndpointSummary

if TYPE_CHECKING:
    from compiler.environments import EnvironmentSource
    from compiler.models.environment import Environment

UNKNOWN_RULE = "lint-unknown-rule"

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class LintRule:
    """A lint rule as users see it in docs and in `lint.ignore`."""

    id: str
    severity: Severity
    why: str
    """One line: what the rule catches and why it matters."""


BUILTIN_RULES = (
    LintRule(
        UNKNOWN_RULE,
        Severity.WARNING,
        "`lint.ignore` names a rule that does not exist (a typo would silently ignore nothing)",
    ),
)


def lint_rules(manager: pluggy.PluginManager) -> list[LintRule]:
    """Every rule the registered plugins declare, plus the runner's own, sorted by id."""
    rules = list(BUILTIN_RULES)
    for batch in manager.hook.knobless_lint_rules():
        rules.extend(batch or ())
    return sorted(set(rules))


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _unknown_ignores(endpoint: EndpointContext, known: set[str]) -> list[Diagnostic]:
    ignore = endpoint.spec.lint.ignore if endpoint.spec.lint else {}
    return unknown_ignores(ignore, endpoint.locate, known)


def unknown_ignores(
    ignore: Iterable[object], locate: Callable[[FieldPath], Origin], known: set[str]
) -> list[Diagnostic]:
    """`lint.ignore` entries naming no rule (also run on a spec that failed validation, whose
    rule ids are still worth checking)."""
    problems = []
    for rule_id in sorted({r for r in ignore if isinstance(r, str)} - known):
        origin = locate(("lint", "ignore", rule_id))
        problems.append(
            Diagnostic(
                origin.path,
                origin.line,
                origin.col,
                f"lint.ignore: there is no lint rule `{rule_id}`{_suggest(rule_id, known)}",
                Severity.WARNING,
                UNKNOWN_RULE,
            )
        )
    return problems


def _key_pattern(key: str) -> re.Pattern[str]:
    # `key:`, `'key':`, `"key"+:` as jsonnet writes object fields
    return re.compile(r"(?<![\w-])['\"]?" + re.escape(key) + r"['\"]?\s*\+?:")


def _full_match(texts: Mapping[str, str], keys: list[str]) -> tuple[str, int, int] | None:
    """The first file (environment file first, then its imports) where every key of the path
    appears in order; the position of the last."""
    for file, text in texts.items():
        offset, start = 0, -1
        for key in keys:
            match = _key_pattern(key).search(text, offset)
            if match is None:
                break
            offset, start = match.end(), match.start()
        else:
            line = text.count("\n", 0, start) + 1
            return file, line, start - (text.rfind("\n", 0, start) + 1) + 1
    return None


def _environment_locator(
    environment: Environment, source: EnvironmentSource | None
) -> Callable[[FieldPath], tuple[str, int, int]]:
    def locate(path: FieldPath) -> tuple[str, int, int]:
        if source is None:
            return (environment.source, 0, 0)
        keys = [str(p) for p in path if isinstance(p, str)]
        return _full_match(source.texts, keys) or source.position(path)

    return locate


def lint_endpoint(
    manager: pluggy.PluginManager, endpoint: EndpointContext, known: set[str]
) -> set[Diagnostic]:
    """One endpoint's findings in one environment, less the rules it switched off."""
    ignore = endpoint.spec.lint.ignore if endpoint.spec.lint else {}
    found: set[Diagnostic] = set()
    for batch in manager.hook.knobless_lint_endpoint(endpoint=endpoint):
        found.update(d for d in batch or () if d.rule not in ignore)
    found.update(_unknown_ignores(endpoint, known))
    return found


def lint_environment(
    manager: pluggy.PluginManager,
    environment: Environment,
    summaries: Sequence[EndpointSummary],
    endpoints: Sequence[EndpointContext],
    endpoint_names: Sequence[str],
    source: EnvironmentSource | None,
) -> set[Diagnostic]:
    """An environment's findings as a whole (`endpoints` may be computed on first use)."""
    found: set[Diagnostic] = set()
    for batch in manager.hook.knobless_lint_environment(
        environment=environment,
        summaries=summaries,
        endpoints=endpoints,
        endpoint_names=endpoint_names,
        locate=_environment_locator(environment, source),
    ):
        found.update(batch or ())
    return found


def known_rules(manager: pluggy.PluginManager) -> set[str]:
    return {rule.id for rule in lint_rules(manager)}


def apply_strict(found: Iterable[Diagnostic], strict: bool) -> set[Diagnostic]:
    return {replace(d, severity=Severity.ERROR) for d in found} if strict else set(found)
