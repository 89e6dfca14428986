"""Plugins: the example third-party plugin, blocking by name, explicit order, documented hooks."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest
import yaml

from compiler import hookspecs
from compiler.cli import main
from compiler.plugins import BUILTIN_PLUGINS, build_plugin_manager, ordered_plugins
from compiler.writer import read_tree

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE_PLUGIN = PROJECT / "tests" / "plugin_example" / "knobless_cost_center.py"


def with_cost_center(repo: Path) -> Path:
    shutil.copy(EXAMPLE_PLUGIN, repo / "knobless_cost_center.py")
    (repo / "knobless.toml").write_text('plugins = ["knobless_cost_center"]\n')
    return repo


def test_example_plugin_labels_every_object(repo: Path) -> None:
    assert main(["compile", "--root", str(with_cost_center(repo))]) == 0
    rendered = read_tree(repo / "rendered")
    assert rendered
    for path, content in rendered.items():
        labels = yaml.safe_load(content)["metadata"].get("labels", {})
        assert labels.get("cost-center", "").startswith("cc-"), path
    fraud = yaml.safe_load(rendered["prod/fraud-scorer/deployment-fraud-scorer-v7.yaml"])
    assert fraud["metadata"]["labels"]["cost-center"] == "cc-3100"


def test_example_plugin_policy_fails_the_compile(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_cost_center(repo)
    churn = repo / "endpoints" / "churn-classifier.yaml"
    churn.write_text(churn.read_text().replace("growth-ds@example.com", "nobody@example.com"))
    assert main(["compile", "--root", str(repo)]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[0] == (
        "endpoints/churn-classifier.yaml:1:1: error: ConfigMap churn-classifier-otel has no "
        "`cost-center` label: add the endpoint's owner to the cost-center table [cost-center]"
    )
    assert not (repo / "rendered").exists()


def test_blocked_plugin_does_not_run(repo: Path) -> None:
    (repo / "knobless.toml").write_text('block = ["knobless.httproute"]\n')
    assert main(["compile", "--root", str(repo)]) == 0
    files = read_tree(repo / "rendered")
    assert not [p for p in files if "/httproute-" in p]
    assert [p for p in files if "/deployment-" in p]


def test_broken_local_plugin_is_an_input_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "knobless.toml").write_text('plugins = ["no_such_plugin_module"]\n')
    assert main(["compile", "--root", str(repo)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        "knobless.toml:0:0: error: cannot import plugin `no_such_plugin_module`: "
        "No module named 'no_such_plugin_module'"
    )


def test_plugins_run_in_priority_then_name_order() -> None:
    from compiler.plugins import plugin_priority

    class Late:
        PRIORITY = 10_000

    class Early:
        PRIORITY = -10_000

    manager = build_plugin_manager(
        entry_points=False, extra=[("z.late", Late()), ("a.early", Early())]
    )
    ordered = ordered_plugins(manager)
    names = [name for name, _ in ordered]
    assert names[0] == "a.early" and names[-1] == "z.late"
    keys = [(plugin_priority(plugin), name) for name, plugin in ordered]
    assert keys == sorted(keys)
    assert set(names) == {*dict(BUILTIN_PLUGINS), "a.early", "z.late"}


def test_fresh_manager_per_call() -> None:
    assert build_plugin_manager(entry_points=False) is not build_plugin_manager(entry_points=False)


def hook_names() -> list[str]:
    return sorted(
        name
        for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("knobless_")
    )


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_is_documented_and_tested(hook: str) -> None:
    reference = (PROJECT / "docs" / "reference" / "hooks.md").read_text()
    assert f"`{hook}(" in reference, f"{hook} is not documented in docs/reference/hooks.md"
    spec = getattr(hookspecs, hook)
    assert (spec.__doc__ or "").strip(), f"{hook} has no docstring"
    uses = [
        p
        for p in (PROJECT / "tests").rglob("*.py")
        if hook in p.read_text() and p.name != "test_plugins.py"
    ]
    assert uses, f"no test exercises {hook}"
