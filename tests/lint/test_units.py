"""Rule internals that the pipeline cannot reach (the model rejects them first) and the runner."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from compiler.diagnostics import Severity
from compiler.models.endpoint import ScheduleWindow
from compiler.pipeline import resolve_endpoint
from compiler.plugins import build_plugin_manager
from compiler.review.lint import lint_rules
from plugins.lint import schedule, traffic

PROJECT = Path(__file__).resolve().parents[2]


def test_traffic_to_a_version_that_is_not_served(repo: Path) -> None:
    # The spec model already refuses this; the rule guards specs built by plugins or tools.
    endpoint = resolve_endpoint(repo, "prod", "feed-ranker")
    broken = endpoint.spec.model_copy(update={"traffic": {"v12": 90, "v31": 10}})
    found = traffic.knobless_lint_endpoint(dataclasses.replace(endpoint, spec=broken))
    assert [d.format() for d in found] == [
        "endpoints/feed-ranker.yaml:14:10: error: traffic.v31: sends 10% to `v31`, which is not "
        "served (did you mean `v13`?) (served: v12, v13) [traffic-unknown-served]"
    ]


def window(start: str, end: str, timezone: str = "Europe/Berlin") -> ScheduleWindow:
    return ScheduleWindow(start=start, end=end, timezone=timezone, minConcurrency=10)


def test_windows() -> None:
    assert schedule.check_window(window("0 7 * * 1-5", "0 19 * * 1-5")) is None
    # Overnight windows close the next morning, before they open again: fine.
    assert schedule.check_window(window("0 22 * * *", "0 6 * * *")) is None
    assert schedule.check_window(window("30 2 * * *", "30 2 * * *")) == (
        "schedule-window-empty",
        "`end` (30 2 * * *) fires at the same minute as `start` (30 2 * * *)",
    )
    assert schedule.check_window(window("0 0 30 2 *", "0 1 30 2 *")) == (
        "schedule-window-empty",
        "its cron expressions never fire (an impossible date such as 30 February)",
    )
    found = schedule.check_window(window("0 * * * *", "30 1 * * *"))
    assert found is not None and found[0] == "schedule-window-overlap"


def test_windows_across_daylight_saving() -> None:
    # 2:30 does not exist in Berlin on 2026-03-29; the window is still a normal daily one.
    assert schedule.check_window(window("30 1 * * *", "30 3 * * *")) is None


def test_every_rule_is_declared_once_with_a_reason() -> None:
    rules = lint_rules(build_plugin_manager(entry_points=False))
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)
    assert all(r.why and r.severity in (Severity.ERROR, Severity.WARNING) for r in rules)


def test_every_rule_is_documented() -> None:
    page = (PROJECT / "docs" / "reference" / "lint-rules.md").read_text(encoding="utf-8")
    docs = page.partition("### Each rule in detail")[2]
    rules = lint_rules(build_plugin_manager(entry_points=False))
    for rule in rules:
        assert f"| `{rule.id}` | {rule.severity.value} |" in docs, rule.id


def test_partial_runs_skip_environment_rules(repo: Path) -> None:
    from compiler.parallel import validate_sources
    from compiler.pipeline import lint_whole_environment
    from compiler.resolve import resolve_endpoint as resolve_loaded
    from compiler.sources import load
    from compiler.summary import summarize

    manager = build_plugin_manager(root=repo, entry_points=False)
    sources = load(repo, None)
    environment, source = sources.environments["dev"]
    names = ["fraud-scorer"]
    # Judged against one endpoint, dev's overrides and workloads look wrong...
    endpoint = resolve_loaded(sources.endpoint("fraud-scorer"), environment, source, manager)
    summaries = {endpoint.name: summarize(endpoint)}
    found = lint_whole_environment(
        manager, environment, source, summaries, [endpoint], names, False
    )
    assert {d.rule for d in found} == {
        "override-unknown-endpoint",
        "exclude-unknown-endpoint",
        "workload-unused",
    }
    # ...so a partial run (`validate FILE`) leaves environment-level rules out.
    partial = validate_sources(sources, manager, selected={"fraud-scorer"}, strict=False, jobs=1)
    assert {d.rule for d in partial.findings} & {d.rule for d in found} == set()
