"""`knobless validate`: check specs in every environment without rendering (fast; pre-commit)."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from compiler.commands._common import EXIT_CODES, add_root, repository_root
from compiler.config import load_config
from compiler.diagnostics import Severity
from compiler.errors import InputError
from compiler.parallel import default_jobs, validate_sources
from compiler.plugins import build_plugin_manager
from compiler.report import print_diagnostics
from compiler.sources import ENDPOINTS_DIR, ENVIRONMENTS_DIR, load


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
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="processes validating at once, each a share of the endpoints (default: one per core "
        "for large repositories, else 1); the output is the same whatever N",
    )
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
    # Validation allocates a few million small objects that all live until the end (positions,
    # models, contexts) and makes no garbage cycles worth collecting: CPython's cycle collector
    # would rescan them again and again, which took as long as the validation itself.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _validate(args)
    finally:
        if collecting:
            gc.enable()


def _validate(args: argparse.Namespace) -> int:
    root = repository_root(args)
    endpoint_names, environment_names = _selected(root, args.paths)
    config = load_config(root)
    manager = build_plugin_manager(root=root, local=config.plugins, blocked=config.block)
    # read every file now, parse each endpoint where it is validated (maybe in another process)
    sources = load(root, environment_names)
    selected = len(endpoint_names) if endpoint_names is not None else len(sources.names)
    jobs = args.jobs or default_jobs(selected, len(sources.environments))
    result = validate_sources(
        sources, manager, selected=endpoint_names, strict=args.strict, jobs=max(1, jobs)
    )
    if any(d.severity is Severity.ERROR for d in result.findings):
        raise InputError(result.findings)
    print_diagnostics(result.findings)
    print(
        f"{result.checked} endpoints valid in {result.environments} environments "
        f"({result.pairs} endpoint-environment pairs)",
        file=sys.stderr,
    )
    return 0
