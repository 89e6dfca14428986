"""`knobless compile`: render endpoints/ x environments/ into rendered/ (or check it is current)."""

from __future__ import annotations

import argparse
import sys

from compiler.commands._common import ProgressBar, add_root, repository_root
from compiler.diagnostics import Severity
from compiler.errors import StaleOutputError
from compiler.pipeline import compile_repository
from compiler.report import print_diagnostics
from compiler.writer import RENDERED, compare, list_tree, read_tree, unified_diff, write_tree


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compile",
        help="render every endpoint in every environment into rendered/",
        description="Validate endpoints/*.yaml and environments/*.jsonnet and render everything "
        "Kubernetes needs into rendered/<env>/. Atomic: on any error rendered/ is left as it was.",
    )
    parser.add_argument(
        "--env",
        action="append",
        metavar="ENV",
        help="compile only this environment (repeatable); others are left as they are",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and show a diff when rendered/ is not what the sources produce",
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    add_root(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    with ProgressBar() as progress:
        result = compile_repository(
            root, environments=args.env, progress=progress, strict=args.strict
        )
    warnings = [d for d in result.diagnostics if d.severity is Severity.WARNING]
    print_diagnostics(warnings)
    compiled = sorted(result.environments)
    if args.check:
        return _check(root, result.files, compiled, whole_tree=not args.env)
    keep = (
        ()
        if not args.env
        else sorted({p.split("/", 1)[0] for p in list_tree(root / RENDERED)} - set(compiled))
    )
    difference = write_tree(root, result.files, keep=keep)
    endpoints = len({e.name for contexts in result.endpoints.values() for e in contexts})
    print(
        f"compiled {endpoints} endpoints into {len(compiled)} environments ({', '.join(compiled)}): "
        f"{len(result.files)} files, {len(difference.changed)} changed, "
        f"{len(difference.added)} added, {len(difference.removed)} removed",
        file=sys.stderr,
    )
    return 0


def _check(root: object, files: dict[str, bytes], compiled: list[str], *, whole_tree: bool) -> int:
    from pathlib import Path

    assert isinstance(root, Path)
    current = read_tree(root / RENDERED, None if whole_tree else compiled)
    difference = compare(files, current)
    if difference.empty:
        print(f"rendered/ is up to date ({len(files)} files)", file=sys.stderr)
        return 0
    for path in difference.changed:
        sys.stdout.write(unified_diff(path, current[path], files[path]))
    for path in difference.added:
        sys.stdout.write(unified_diff(path, b"", files[path]))
    for path in difference.removed:
        sys.stdout.write(unified_diff(path, current[path], b""))
    lines = [
        f"rendered/ is stale: {len(difference.changed)} changed, {len(difference.added)} missing, {len(difference.removed)} extra"
    ]
    lines += [f"  missing: rendered/{p}" for p in difference.added]
    lines += [f"  extra:   rendered/{p}" for p in difference.removed]
    lines += [f"  changed: rendered/{p}" for p in difference.changed]
    lines.append("run `knobless compile` and commit rendered/")
    raise StaleOutputError("\n".join(lines))
