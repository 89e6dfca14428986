"""The documentation site: generated reference pages are current, everything users can set or
call is documented, the site builds with mkdocs --strict (every link and anchor resolves), and the
README's links land on real pages."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

PROJECT = Path(__file__).resolve().parents[2]
DOCS = PROJECT / "docs"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generator()


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_generated_pages_are_current() -> None:
    assert generate.stale_pages() == [], "run `.venv/bin/python docs/generate.py`"


def test_a_hand_edit_of_a_generated_page_is_caught(tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / "docs"
    shutil.copytree(DOCS, copy, ignore=shutil.ignore_patterns("img", "__pycache__"))
    monkeypatch.setattr(generate, "DOCS", copy)
    hooks = copy / "reference" / "hooks.md"
    hooks.write_text(hooks.read_text().replace("## `knobless_check(", "## `knobless_chek("))
    rules = copy / "reference" / "lint-rules.md"
    rules.write_text(rules.read_text().replace("| `owner-not-email` | warning |", "", 1))
    assert generate.stale_pages() == ["reference/hooks.md", "reference/lint-rules.md"]
    assert generate.main([]) == 0
    assert generate.stale_pages() == []


def test_every_hook_has_its_section() -> None:
    text = page("reference/hooks.md")
    names = [name for name, _ in generate.hook_specs()]
    assert names, "no hook specs found"
    for name in names:
        assert f"## `{name}(" in text, name
    # The plugin guide's overview table names every hook too.
    guide = page("contributing/plugins.md")
    assert [n for n in names if f"| `{n}(" not in guide] == []


def test_every_lint_rule_is_explained_in_detail() -> None:
    from compiler.plugins import build_plugin_manager
    from compiler.review.lint import lint_rules

    detail = page("reference/lint-rules.md").partition("### Each rule in detail")[2]
    rules = lint_rules(build_plugin_manager(entry_points=False))
    assert rules
    missing = [r.id for r in rules if f"| `{r.id}` | {r.severity.value} |" not in detail]
    assert missing == []


def _flags(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction | argparse._VersionAction)
    ]


def test_every_cli_command_and_flag_is_documented() -> None:
    text = page("reference/cli.md")
    sections = dict(re.findall(r"^## `(knobless[^`]*)`\n\n```text\n(.*?)\n```", text, re.M | re.S))
    undocumented = []
    for path, parser in generate.walk_parsers(generate.cli_parser()):
        title = " ".join(("knobless", *path))
        assert title in sections, f"{title} has no section"
        for action in _flags(parser):
            if not action.help or action.help == argparse.SUPPRESS:
                undocumented.append(f"{title} {'/'.join(action.option_strings)}: no help text")
            for flag in action.option_strings:
                if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", sections[title]):
                    undocumented.append(f"{title} {flag}: not in its section")
    assert undocumented == []


@pytest.mark.parametrize("kind", ["endpoint", "environment"])
def test_every_format_key_is_documented(kind: str) -> None:
    schema = json.loads((PROJECT / "schemas" / f"{kind}.schema.json").read_text())
    rows = list(generate.schema_rows(schema))
    text = page(f"reference/{kind}-schema.md")
    assert {p for p, *_ in rows} >= set(schema["properties"])
    assert [p for p, *_, description in rows if not description] == [], "give it a docstring"
    assert [p for p, *_ in rows if f"| `{p}` |" not in text] == []


def test_every_environment_key_is_in_the_environments_guide() -> None:
    schema = json.loads((PROJECT / "schemas" / "environment.schema.json").read_text())
    guide = page("guide/environments.md")
    assert [k for k in schema["properties"] if f"`{k}" not in guide] == []


def test_the_site_builds_strict(tmp_path: Path) -> None:
    # mkdocs.yml turns missing pages, links and anchors into warnings; --strict fails on them.
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    assert (tmp_path / "site" / "reference" / "hooks" / "index.html").is_file()


def _slug(heading: str) -> str:
    # Python-Markdown's toc slugify, which mkdocs uses for anchors.
    text = re.sub(r"<[^>]+>|`", "", heading).strip().lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[-\s]+", "-", text)


def _anchors(markdown: str) -> set[str]:
    outside = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", outside, re.M)}


def test_readme_links_land_on_real_pages_and_anchors() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert len(local) > 10
    broken = []
    for link in local:
        target, _, anchor = link.partition("#")
        path = PROJECT / target if target else PROJECT / "README.md"
        if not path.exists() or (
            anchor and anchor not in _anchors(path.read_text(encoding="utf-8"))
        ):
            broken.append(link)
    assert broken == []


def test_readme_is_a_front_door() -> None:
    # Reference material belongs in docs/; the README keeps what it is, the quick start, one
    # endpoint, the CLI at a glance and links.
    lines = (PROJECT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines: move reference material into docs/"


def test_every_figure_is_shown_on_a_page() -> None:
    pages = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md"))
    figures = sorted(p.name for p in (DOCS / "img").iterdir())
    assert figures
    assert [f for f in figures if f"img/{f})" not in pages] == []
