"""`knobless compile`: render endpoints/ x environments/ into rendered/ (or check it is current)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from compiler.commands._common import ProgressBar, add_root, repository_root
from compiler.diagnostics import Diagnostic
from compiler.errors import StaleOutputError
from compiler.pipeline import EnvironmentOutput, iter_compile
from compiler.report import print_diagnostics
from compiler.writer import RENDERED, RenderedTree, list_tree, unified_diff


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
        outputs = iter_compile(root, environments=args.env, progress=progress, strict=args.strict)
        if args.check:
            return _check(root, outputs, whole_tree=not args.env)
        existing = {p.split("/", 1)[0] for p in list_tree(root / RENDERED)}
        compiled: list[str] = []
        endpoints: set[str] = set()
        files = 0
        warnings: list[Diagnostic] = []
        with RenderedTree(root) as tree:
            for output in outputs:  # one environment at a time: memory stays flat
                tree.add(output.files)
                if output.name not in compiled:
                    compiled.append(output.name)
                endpoints.update(e.name for e in output.endpoints)
                files += len(output.files)
                warnings.extend(output.diagnostics)
                del output  # let this batch go before the next one is computed
            if args.env:
                tree.keep = existing - set(compiled)
            difference = tree.commit()
    print_diagnostics(sorted(set(warnings)))
    print(
        f"compiled {len(endpoints)} endpoints into {len(compiled)} environments "
        f"({', '.join(compiled)}): {files} files, {len(difference.changed)} changed, "
        f"{len(difference.added)} added, {len(difference.removed)} removed",
        file=sys.stderr,
    )
    return 0


def _check(root: Path, outputs: Iterable[EnvironmentOutput], *, whole_tree: bool) -> int:
    """Compare batch by batch with what is on disk; a unified diff per difference."""
    target = root / RENDERED
    changed: list[str] = []
    added: list[str] = []
    produced: set[str] = set()
    compiled: set[str] = set()
    warnings: list[Diagnostic] = []
    for output in outputs:
        compiled.add(output.name)
        warnings.extend(output.diagnostics)
        for path in sorted(output.files):
            produced.add(path)
            new = output.files[path]
            file = target / path
            old = file.read_bytes() if file.is_file() else None
            if old == new:
                continue
            sys.stdout.write(unified_diff(path, old or b"", new))
            (added if old is None else changed).append(path)
        del output
    removed = [
        path
        for path in sorted(list_tree(target) - produced)
        if whole_tree or path.split("/", 1)[0] in compiled
    ]
    for path in removed:
        sys.stdout.write(unified_diff(path, (target / path).read_bytes(), b""))
    print_diagnostics(sorted(set(warnings)))
    if not (changed or added or removed):
        print(f"rendered/ is up to date ({len(produced)} files)", file=sys.stderr)
        return 0
    lines = [
        f"rendered/ is stale: {len(changed)} changed, {len(added)} missing, {len(removed)} extra"
    ]
    lines += [f"  missing: rendered/{p}" for p in added]
    lines += [f"  extra:   rendered/{p}" for p in removed]
    lines += [f"  changed: rendered/{p}" for p in changed]
    lines.append("run `knobless compile` and commit rendered/")
    raise StaleOutputError("\n".join(lines))
