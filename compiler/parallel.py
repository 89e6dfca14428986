"""`knobless validate` over several processes: the endpoints are split into contiguous shares, and
each share is parsed, resolved in every environment and linted endpoint by endpoint on its own
core (forked, so the environments and plugins are loaded once). The environment-wide lint runs
afterwards on the endpoints' summaries: the lint stage of a compile (compiler.pipeline's
lint_endpoints and lint_whole_environment). Every problem is a Diagnostic in a set, sorted at the end,
so the output does not depend on how the work was split (tests/core/test_validate_parallel.py).
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import pluggy

from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic
from compiler.errors import InputError
from compiler.pipeline import LazyEndpoints, lint_endpoints, lint_whole_environment
from compiler.resolve import resolve_endpoint, rough_summary
from compiler.review.lint import apply_strict, known_rules
from compiler.sources import Sources
from compiler.summary import EndpointSummary, summarize

PAIRS_PER_EXTRA_PROCESS = 3000
"""Endpoint-environment pairs that pay for one more process: forking and sending the results
back costs about 0.1 s, resolving and linting a pair about 70 us."""


@dataclass
class ShareResult:
    """What one share of the endpoints gave: problems, endpoint lint, and per environment the
    endpoints resolved there (in name order) with their summaries."""

    checked: int = 0
    """Endpoints of the share that parsed (and were selected)."""
    problems: set[Diagnostic] = field(default_factory=set)
    findings: set[Diagnostic] = field(default_factory=set)
    deployed: dict[str, list[str]] = field(default_factory=dict)
    summaries: dict[str, list[EndpointSummary]] = field(default_factory=dict)


@dataclass(frozen=True)
class Validation:
    """A whole validate run that found no error: its lint findings (warnings) and counts."""

    findings: list[Diagnostic]
    checked: int
    environments: int
    pairs: int


def check_share(
    sources: Sources,
    names: Sequence[str],
    selected: set[str] | None,
    manager: pluggy.PluginManager,
) -> ShareResult:
    """Parse, resolve and lint the endpoints `names` (only `selected` ones are resolved; all are
    parsed, as a broken file is a problem whatever was asked)."""
    result = ShareResult(
        deployed={env: [] for env in sources.environments},
        summaries={env: [] for env in sources.environments},
    )
    known = known_rules(manager)
    for name in names:
        try:
            loaded = sources.endpoint(name)
        except InputError as error:
            result.problems.update(error.diagnostics)
            continue
        if selected is not None and name not in selected:
            continue
        result.checked += 1
        for env_name, (environment, env_source) in sources.environments.items():
            if name in environment.exclude:
                continue
            try:
                endpoint = resolve_endpoint(loaded, environment, env_source, manager)
            except InputError as error:
                result.problems.update(error.diagnostics)
                result.summaries[env_name].append(rough_summary(loaded, environment, env_source))
                continue
            result.findings |= lint_endpoints(manager, [endpoint], known, False)[name]
            result.deployed[env_name].append(name)
            result.summaries[env_name].append(summarize(endpoint))
    return result


def shares(names: Sequence[str], count: int) -> list[Sequence[str]]:
    """`names` in `count` contiguous parts of (nearly) equal length."""
    count = max(1, min(count, len(names)))
    size, extra = divmod(len(names), count)
    parts, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        parts.append(names[start:end])
        start = end
    return parts


def default_jobs(endpoints: int, environments: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, endpoints * environments // PAIRS_PER_EXTRA_PROCESS))


class RemoteTraceback(Exception):
    """The traceback of a failure in a forked child, chained to the error the parent raises
    (shown with KNOBLESS_DEBUG=1, like any internal error's)."""

    def __str__(self) -> str:
        return f"\n\n(in the validate process)\n{self.args[0]}"


def _child(
    connection: Connection,
    sources: Sources,
    names: Sequence[str],
    selected: set[str] | None,
    manager: pluggy.PluginManager,
) -> None:  # pragma: no cover - runs in a forked child; its result is checked by the tests
    try:
        connection.send((check_share(sources, names, selected, manager), None))
    except BaseException as error:  # a bug: the parent reports it as an internal error
        connection.send((None, (f"{type(error).__name__}: {error}", traceback.format_exc())))
    finally:
        connection.close()


def run_shares(
    sources: Sources,
    selected: set[str] | None,
    manager: pluggy.PluginManager,
    jobs: int,
) -> list[ShareResult]:
    """Every share's result, in share order: the first share in this process, the others in
    forked children at the same time (fork: they inherit the loaded environments and plugins
    instead of loading them again)."""
    parts = shares(sources.names, jobs)
    if len(parts) <= 1:
        return [check_share(sources, sources.names, selected, manager)]
    children = _fork_children(sources, parts[1:], selected, manager)
    try:
        first = check_share(sources, parts[0], selected, manager)
    except BaseException:  # a bug (or ^C) here: the children's work is moot, stop them
        _stop_children(children)
        raise
    return [first, *_hear_children(children)]


_Child = tuple[BaseProcess, Connection]
"""A forked child and the end of the pipe its result comes through."""


def _fork_children(
    sources: Sources,
    parts: Sequence[Sequence[str]],
    selected: set[str] | None,
    manager: pluggy.PluginManager,
) -> list[_Child]:
    """One forked child per share, each checking it and sending its result back."""
    context = multiprocessing.get_context("fork")
    children: list[_Child] = []
    for part in parts:
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_child, args=(sender, sources, part, selected, manager), daemon=True
        )
        child.start()
        sender.close()
        children.append((child, receiver))
    return children


def _stop_children(children: Sequence[_Child]) -> None:
    for child, receiver in children:
        child.terminate()
        child.join()
        receiver.close()


def _hear_children(children: Sequence[_Child]) -> list[ShareResult]:
    """Every child's result in order; every child is heard and joined, failed or not, and the
    first failure raised after."""
    results = []
    failures = []
    for child, receiver in children:
        try:
            result, failure = receiver.recv()
        except EOFError:  # it died without a word (killed, out of memory)
            child.join()
            result, failure = None, (f"it exited with code {child.exitcode}", "")
        finally:
            receiver.close()
        child.join()
        if result is None:
            failures.append(failure)
        else:
            results.append(result)
    if failures:
        summary, remote = failures[0]
        raise RuntimeError(f"in a validate process: {summary}") from RemoteTraceback(remote)
    return results


def validate_sources(
    sources: Sources,
    manager: pluggy.PluginManager,
    *,
    selected: set[str] | None,
    strict: bool,
    jobs: int,
) -> Validation:
    """Validate every endpoint (or the `selected` ones) in every environment of `sources`.
    Raises InputError with every problem; otherwise returns the lint findings, sorted."""
    results = run_shares(sources, selected, manager, jobs)
    problems = set(sources.problems).union(*(r.problems for r in results))
    findings: set[Diagnostic] = set().union(*(r.findings for r in results))
    if selected is None:  # environment-wide rules judge an environment against all its endpoints
        for env_name in sorted(sources.environments):
            environment, env_source = sources.environments[env_name]
            deployed = [name for r in results for name in r.deployed[env_name]]
            summaries = {s.name: s for r in results for s in r.summaries[env_name]}
            endpoints = LazyEndpoints((), deployed, _resolver(sources, env_name, manager))
            findings |= lint_whole_environment(
                manager, environment, env_source, summaries, endpoints, sources.names, False
            )
    if problems:  # every problem of the run, lint findings of the endpoints that resolved too
        raise InputError(problems | apply_strict(findings, strict))
    return Validation(
        findings=sorted(apply_strict(findings, strict)),
        checked=sum(r.checked for r in results),
        environments=len(sources.environments),
        pairs=sum(len(names) for r in results for names in r.deployed.values()),
    )


def _resolver(
    sources: Sources, env_name: str, manager: pluggy.PluginManager
) -> Callable[[Sequence[str]], Sequence[EndpointContext]]:
    environment, env_source = sources.environments[env_name]

    def resolve_all(names: Sequence[str]) -> list[EndpointContext]:
        return [
            resolve_endpoint(sources.endpoint(name), environment, env_source, manager)
            for name in names
        ]

    return resolve_all
