"""`knobless compile`: render endpoints/ x environments/ into rendered/ (or check it is current)."""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from compiler.cache import (
    Recorder,
    drop_cache,
    load_evaluations,
    load_stamps,
    save_evaluations,
    save_stamps,
)
from compiler.commands._common import EXIT_CODES, ProgressBar, add_root, repository_root
from compiler.diagnostics import Diagnostic
from compiler.errors import InputError, StaleOutputError
from compiler.incremental import Plan, compile_changed, plan, recorder, worthwhile
from compiler.pipeline import EnvironmentOutput, Progress, iter_compile, repository_plugins
from compiler.report import print_diagnostics
from compiler.sources import Sources, load, parse_all, select_environments
from compiler.writer import (
    RENDERED,
    RenderedTree,
    Stager,
    TreeDifference,
    list_tree,
    unified_diff,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compile",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="environments compiled at once in separate processes (default: one per core for "
        "large repositories, else 1); output is the same whatever N",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="compile every endpoint, ignoring the compile cache (.knobless/cache/; it is "
        "written afresh)",
    )
    add_root(parser)
    parser.set_defaults(handler=run)


def _jobs(args: argparse.Namespace, sources: Sources) -> int:
    if args.jobs:
        return max(1, args.jobs)
    environments = len(sources.environments)
    work = len(sources.texts) * environments
    # A process costs about a second to start and load; it pays only for large repositories.
    return min(os.cpu_count() or 1, environments) if work >= 1500 else 1


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """For the short incremental path, which allocates much and frees little: the cycle
    collector would only rescan the cache over and over. A full compile runs with it on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Everything allocated meanwhile sits in the youngest generation: move it to the
            # oldest in one step, or the first collection after enable() would scan it all.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def run(args: argparse.Namespace) -> int:
    """The one place that chooses how to compile: `--check` (compare, write nothing, trust no
    cache), incremental (few endpoints changed since the cached compile), in parallel (one
    process per environment) or in full; then the cache is saved."""
    root = repository_root(args)
    if args.check:
        with ProgressBar() as progress:
            outputs = iter_compile(
                root, environments=args.env, progress=progress, strict=args.strict
            )
            return _check(root, outputs, whole_tree=not args.env)
    manager = repository_plugins(root)
    memo = {} if args.no_cache else load_evaluations(root)
    with _cycle_collection_paused():
        stamps = {} if args.no_cache else load_stamps(root)
        sources = load(root, args.env, known=stamps, memo=memo)
        plans = None if sources.problems else plan(root, manager, sources, strict=args.strict)
        incremental = plans is not None and not args.no_cache and worthwhile(plans)
        if incremental:
            assert plans is not None
            _compile_changed(args, root, manager, sources, plans)
    if not incremental:
        jobs = _jobs(args, sources)
        if jobs > 1:
            _compile_in_parallel(args, root, jobs, sources)
        else:
            _compile_all(args, root, manager, parse_all(sources), plans)
    save_stamps(root, sources.texts.values())  # what was read and evaluated, for next time
    save_evaluations(root, memo)
    return 0


def _compile_changed(
    args: argparse.Namespace,
    root: Path,
    manager: pluggy.PluginManager,
    sources: Sources,
    plans: dict[str, Plan],
) -> None:
    with ProgressBar() as progress:
        outcome = compile_changed(
            root, manager, sources, plans, strict=args.strict, progress=progress
        )
    print_diagnostics(sorted(set(outcome.warnings)))
    print(
        f"compiled {len(outcome.endpoints)} endpoints into {len(outcome.environments)} "
        f"environments ({', '.join(outcome.environments)}): "
        f"{outcome.changed} changed, {outcome.added} added, {outcome.removed} removed "
        f"({outcome.compiled} endpoint-environment pairs compiled again, the others "
        "unchanged since the last compile)",
        file=sys.stderr,
    )


def _compile_all(
    args: argparse.Namespace,
    root: Path,
    manager: pluggy.PluginManager,
    sources: Sources,
    plans: dict[str, Plan] | None,
) -> None:
    """Every endpoint, in this process, into a new tree swapped in at the end."""
    record = recorder(plans) if plans is not None else None
    existing = _environments_on_disk(root)
    with ProgressBar() as progress, RenderedTree(root) as tree:
        outputs = iter_compile(
            root, manager=manager, sources=sources, progress=progress, strict=args.strict
        )
        collected = _collect(outputs, tree.add, record)
        difference = _swap_in(root, tree, collected.environments, existing if args.env else None)
    if record is not None:
        record.save(root)
    print_diagnostics(sorted(set(collected.warnings)))
    print(
        f"compiled {len(collected.endpoints)} endpoints into {len(collected.environments)} "
        f"environments ({', '.join(collected.environments)}): {collected.files} files, "
        f"{len(difference.changed)} changed, {len(difference.added)} added, "
        f"{len(difference.removed)} removed",
        file=sys.stderr,
    )


@dataclass
class _Collected:
    """What the outputs of a compile add up to, as they stream past."""

    environments: list[str] = field(default_factory=list)
    """In the order they were compiled."""
    endpoints: set[str] = field(default_factory=set)
    files: int = 0
    warnings: list[Diagnostic] = field(default_factory=list)


def _collect(
    outputs: Iterable[EnvironmentOutput],
    add: Callable[[dict[str, bytes]], object],
    record: Recorder | None,
) -> _Collected:
    """Hand every output's files to `add` (and its units to the cache's `record`) as it comes;
    what they added up to."""
    collected = _Collected()
    for output in outputs:  # one environment at a time: memory stays flat
        add(output.files)
        if record is not None:
            record.add(output.name, output.units)
        if output.name not in collected.environments:
            collected.environments.append(output.name)
        collected.endpoints.update(e.name for e in output.endpoints)
        collected.files += len(output.files)
        collected.warnings.extend(output.diagnostics)
        del output  # let this batch go before the next one is computed
    return collected


def _environments_on_disk(root: Path) -> set[str]:
    return {p.split("/", 1)[0] for p in list_tree(root / RENDERED)}


def _swap_in(
    root: Path, tree: RenderedTree, compiled: Sequence[str], existing: set[str] | None
) -> TreeDifference:
    """Swap the new tree in; with `existing` (a compile of some environments only) the other
    environments on disk are kept."""
    if existing is not None:
        tree.keep = existing - set(compiled)
    for name in compiled:
        drop_cache(root, name)  # until the new tree is in place
    return tree.commit()


@dataclass(frozen=True)
class _Staged:
    """What a child process compiled and staged for one environment."""

    env_name: str
    endpoints: tuple[str, ...]
    written: tuple[str, ...]
    added: tuple[str, ...]
    changed: tuple[str, ...]
    warnings: tuple[Diagnostic, ...]
    problems: tuple[Diagnostic, ...]
    cache: Recorder | None = None
    """What the compile cache keeps of this environment (None: nothing may be cached)."""


def _stage_environment(root: Path, env_name: str, strict: bool, staging: Path) -> _Staged:
    """In a child process: compile one environment straight into the shared staging folder."""
    stager = Stager(staging, root / RENDERED)
    manager = repository_plugins(root)
    try:
        sources = parse_all(load(root, [env_name]))
        plans = None if sources.problems else plan(root, manager, sources, strict=strict)
        record = recorder(plans) if plans is not None else None
        outputs = iter_compile(root, manager=manager, sources=sources, strict=strict)
        collected = _collect(outputs, stager.add, record)
    except InputError as error:  # returned, not raised: it must cross the process boundary
        return _Staged(env_name, (), (), (), (), (), error.diagnostics)
    return _Staged(
        env_name,
        tuple(sorted(collected.endpoints)),
        tuple(sorted(stager.written)),
        tuple(stager.added),
        tuple(stager.changed),
        tuple(collected.warnings),
        (),
        record,
    )


@dataclass
class _Merged:
    """What the child processes staged, merged."""

    problems: set[Diagnostic] = field(default_factory=set)
    warnings: set[Diagnostic] = field(default_factory=set)
    endpoints: set[str] = field(default_factory=set)
    recorders: list[Recorder] = field(default_factory=list)


def _compile_in_parallel(args: argparse.Namespace, root: Path, jobs: int, sources: Sources) -> None:
    """One process per environment (up to `jobs` at once), all staging into one tree that is
    swapped in only when every environment succeeded."""
    environments = [f.stem for f in select_environments(root, args.env)]
    existing = _environments_on_disk(root)
    with RenderedTree(root) as tree, ProgressBar() as progress:
        merged = _stage_in_children(root, environments, args.strict, tree, jobs, progress)
        if merged.problems:
            raise InputError(merged.problems)
        difference = _swap_in(root, tree, environments, existing if args.env else None)
    for record in merged.recorders:
        record.save(root)
    print_diagnostics(sorted(merged.warnings))
    print(
        f"compiled {len(merged.endpoints)} endpoints into {len(environments)} environments "
        f"({', '.join(environments)}) with {jobs} processes: {len(tree.stager.written)} files, "
        f"{len(difference.changed)} changed, {len(difference.added)} added, "
        f"{len(difference.removed)} removed",
        file=sys.stderr,
    )


def _stage_in_children(
    root: Path,
    environments: Sequence[str],
    strict: bool,
    tree: RenderedTree,
    jobs: int,
    progress: Progress,
) -> _Merged:
    """Each environment compiled by a child process into the tree's staging folder, merged."""
    merged = _Merged()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        count = len(environments)
        results = pool.map(
            _stage_environment,
            [root] * count,
            environments,
            [strict] * count,
            [tree.staging] * count,
        )
        for done, staged in enumerate(results, start=1):
            progress("environments", done, count)
            merged.problems.update(staged.problems)
            merged.warnings.update(staged.warnings)
            merged.endpoints.update(staged.endpoints)
            tree.merge(staged.written, staged.added, staged.changed)
            if staged.cache is not None:
                merged.recorders.append(staged.cache)
    return merged


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
