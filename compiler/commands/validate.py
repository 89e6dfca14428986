"""`knobless validate`: check specs in every environment without rendering (fast; pre-commit)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compiler.commands._common import EXIT_CODES, add_root, repository_root
from compiler.config import load_config
from compiler.context import EnvironmentContext
from compiler.diagnostics import Severity
from compiler.errors import InputError
from compiler.pipeline import ENDPOINTS_DIR, ENVIRONMENTS_DIR, Sources, lint, load, resolve
from compiler.plugins import build_plugin_manager
from compiler.report import print_diagnostics


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="validate endpoint specs in every environment, render nothing",
        description="Load and validate endpoints and environments, resolving every endpoint in "
        "every environment. With PATHs, only those endpoint files (and environment files) are "
        "checked. Exit 0 when valid, 1 with every problem listed otherwise.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="endpoint or environment files")
    parser.add_argument("--strict", action="store_true", help="treat lint warnings as errors")
    add_root(parser)
    parser.set_defaults(handler=run)


def _selected(root: Path, paths: list[str]) -> tuple[set[str] | None, list[str] | None]:
    """Endpoint names and environment names the PATHs name (None = all)."""
    if not paths:
        return None, None
    endpoints: set[str] = set()
    environments: set[str] = set()
    for text in paths:
        path = (Path.cwd() / text).resolve()
        try:
            relative = path.relative_to(root)
        except ValueError:
            continue
        if relative.parts[:1] == (ENDPOINTS_DIR,) and path.suffix in (".yaml", ".yml"):
            endpoints.add(path.stem)
        elif relative.parts[:1] == (ENVIRONMENTS_DIR,) and path.suffix == ".jsonnet":
            environments.add(path.stem)
        elif relative.parts[:1] == (ENVIRONMENTS_DIR,):
            return (endpoints or None), None  # a shared .libsonnet: every environment
    return (endpoints or None), (sorted(environments) or None)


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    endpoint_names, environment_names = _selected(root, args.paths)
    config = load_config(root)
    manager = build_plugin_manager(root=root, local=config.plugins, blocked=config.block)
    sources = load(root, environment_names)
    every_endpoint = sorted(sources.endpoints)
    if endpoint_names is not None:
        sources = Sources(
            {n: e for n, e in sources.endpoints.items() if n in endpoint_names},
            sources.environments,
            sources.problems,
        )
    resolved = resolve(sources, manager)
    contexts = {
        name: EnvironmentContext(environment, source.path)
        for name, (environment, source) in sources.environments.items()
    }
    findings = lint(
        manager,
        sources,
        resolved,
        contexts,
        strict=args.strict,
        endpoint_names=every_endpoint,
        partial=endpoint_names is not None,
    )
    if any(d.severity is Severity.ERROR for d in findings):
        raise InputError(findings)
    print_diagnostics(findings)
    checked = len(sources.endpoints)
    pairs = sum(len(v) for v in resolved.values())
    print(
        f"{checked} endpoints valid in {len(resolved)} environments ({pairs} endpoint-environment pairs)",
        file=sys.stderr,
    )
    return 0
