"""A third-party lint rule through all three lint hooks, registered like any plugin."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace

from compiler import Diagnostic, EndpointContext, Environment, Severity, hookimpl
from compiler.parallel import validate_sources
from compiler.plugins import build_plugin_manager
from compiler.review.lint import LintRule, lint_rules
from compiler.sources import load

RULE = "cost-center-named"


def make_plugin(seen: list[tuple[str, int, tuple[str, ...]]]) -> SimpleNamespace:
    @hookimpl
    def knobless_lint_rules() -> Iterable[LintRule]:
        return [LintRule(RULE, Severity.WARNING, "every endpoint names its cost center")]

    @hookimpl
    def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
        if "cost-center" in (endpoint.spec.description or ""):
            return []
        origin = endpoint.locate(("name",))
        return [
            Diagnostic(
                origin.path, origin.line, origin.col, "name the cost center", Severity.WARNING, RULE
            )
        ]

    @hookimpl
    def knobless_lint_environment(
        environment: Environment,
        endpoints: Sequence[EndpointContext],
        endpoint_names: Sequence[str],
        locate: Callable[[tuple[str | int, ...]], tuple[str, int, int]],
    ) -> Iterable[Diagnostic]:
        seen.append((environment.name, len(endpoints), tuple(endpoint_names)))
        return [
            Diagnostic(
                *locate(("cluster", "name")), "cluster has no cost center", Severity.WARNING, RULE
            )
        ]

    return SimpleNamespace(
        knobless_lint_rules=knobless_lint_rules,
        knobless_lint_endpoint=knobless_lint_endpoint,
        knobless_lint_environment=knobless_lint_environment,
    )


def test_third_party_rule(repo: Path) -> None:
    seen: list[tuple[str, int, tuple[str, ...]]] = []
    manager = build_plugin_manager(
        root=repo, entry_points=False, extra=[("acme.cost", make_plugin(seen))]
    )
    assert RULE in {r.id for r in lint_rules(manager)}
    for name in ("doc-embedder", "feed-ranker", "fraud-scorer", "support-llm", "triage-agent"):
        path = repo / "endpoints" / f"{name}.yaml"
        path.write_text(
            path.read_text() + f'lint:\n  ignore:\n    {RULE}: "charged to the platform team"\n'
        )
    sources = load(repo, None)
    found = validate_sources(sources, manager, selected=None, strict=False, jobs=1).findings
    assert [d.format() for d in found] == [
        "endpoints/churn-classifier.yaml:2:7: warning: name the cost center [cost-center-named]",
        "environments/dev.jsonnet:5:14: warning: cluster has no cost center [cost-center-named]",
        "environments/prod.jsonnet:5:14: warning: cluster has no cost center [cost-center-named]",
    ]
    everything = tuple(sources.names)
    assert seen == [("dev", 5, everything), ("prod", 6, everything)]
