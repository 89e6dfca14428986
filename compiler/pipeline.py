"""The compile pipeline, top to bottom:

    load -> validate -> resolve (per environment) -> render -> post-process -> check -> write

Load is compiler.sources (what the files say, before resolution); every later stage is a plain
function below, and `iter_compile` runs them in order with the plugin hook of each stage beside
it. Nothing here writes to disk: `write` is the caller's (compiler.writer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Protocol, cast, overload

import pluggy

from compiler.config import load_config
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.environments import EnvironmentSource, load_environment
from compiler.errors import InputError, UsageError
from compiler.images.lock import load_lock
from compiler.manifest import Manifest
from compiler.models.crossfield import did_you_mean
from compiler.models.environment import Environment
from compiler.plugins import build_plugin_manager, ordered_plugins
from compiler.resolve import resolve_endpoint as resolve_one
from compiler.resolve import rough_summary
from compiler.review.lint import apply_strict, known_rules, lint_endpoint, lint_environment
from compiler.sources import (
    ENDPOINTS_DIR,
    Sources,
    _defined_twice,
    endpoint_file_names,
    load,
    load_endpoint,
    parse_all,
    select_environments,
)
from compiler.summary import EndpointSummary, summarize
from compiler.writer import dump
from compiler.yamlout import YamlWriter

Progress = Callable[[str, int, int], None]
"""(stage, done, total): called as work advances, for a progress bar."""


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class CompileResult:
    """What a compile produced, in memory."""

    files: dict[str, bytes]
    """Rendered files by path relative to rendered/ (`<env>/<folder>/<kind>-<name>.yaml`)."""
    manifests: dict[str, tuple[Manifest, ...]]
    endpoints: dict[str, tuple[EndpointContext, ...]]
    environments: dict[str, Environment]
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    """Warnings (errors raise InputError instead)."""


# -- 2. validate + 3. resolve ------------------------------------------------------------------------


def resolve_environment(
    sources: Sources,
    env_name: str,
    manager: pluggy.PluginManager,
    progress: Progress = _no_progress,
    *,
    only: Iterable[str] | None = None,
) -> tuple[tuple[EndpointContext, ...], set[Diagnostic]]:
    """Every endpoint one environment deploys (or those of them in `only`), merged, validated
    and made concrete, and the problems found (resolution goes on past a bad endpoint so that
    every problem shows)."""
    environment, env_source = sources.environments[env_name]
    problems: set[Diagnostic] = set()
    contexts = []
    names = sources.names if only is None else sorted(only)
    for done, name in enumerate(names, start=1):
        if name in environment.exclude:
            continue
        try:
            contexts.append(resolve_one(sources.endpoint(name), environment, env_source, manager))
        except InputError as error:
            problems.update(error.diagnostics)
        if done % 500 == 0:
            progress(f"resolve {env_name}", done, len(names))
    return tuple(contexts), problems


class LazyEndpoints(Sequence[EndpointContext]):
    """Every endpoint of an environment, resolved on first use: environment-wide hooks that take
    `endpoints` get it, and an incremental compile resolves the unchanged endpoints only if one
    of them actually looks."""

    def __init__(
        self,
        resolved: Sequence[EndpointContext],
        missing: Sequence[str],
        resolve_missing: Callable[[Sequence[str]], Sequence[EndpointContext]],
    ) -> None:
        self._resolved = resolved
        self._missing = missing
        self._resolve_missing = resolve_missing
        self._all: list[EndpointContext] | None = None

    def _every(self) -> list[EndpointContext]:
        if self._all is None:
            found = [*self._resolved, *self._resolve_missing(self._missing)]
            self._all = sorted(found, key=lambda e: e.name)
        return self._all

    def __len__(self) -> int:
        return len(self._resolved) + len(self._missing)

    @overload
    def __getitem__(self, index: int) -> EndpointContext: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[EndpointContext]: ...
    def __getitem__(self, index: int | slice) -> EndpointContext | Sequence[EndpointContext]:
        return self._every()[index]

    def __iter__(self) -> Iterator[EndpointContext]:
        return iter(self._every())


# -- 4. render, 5. post-process, 6. check ------------------------------------------------------------


def _flatten(batches: Sequence[object]) -> list[Manifest]:
    return [m for batch in batches if batch for m in batch]  # type: ignore[attr-defined]


BATCH = 250
"""Endpoints compiled and handed to the writer together: large repositories are compiled batch by
batch so memory stays flat."""


def _sorted(environment: Environment, manifests: list[Manifest]) -> tuple[Manifest, ...]:
    return tuple(sorted(manifests, key=lambda m: m.path(environment.name)))


def postprocess(
    manager: pluggy.PluginManager, environment: Environment, manifests: tuple[Manifest, ...]
) -> tuple[Manifest, ...]:
    """Each plugin's knobless_postprocess in (priority, name) order, each on the previous output."""
    # A chain, not one pluggy call (each plugin gets the previous output); so each
    # implementation is called as pluggy would: with the arguments it names, under its specname.
    impls = {
        impl.plugin: impl
        for impl in manager.hook.knobless_postprocess.get_hookimpls()
        if not (impl.hookwrapper or impl.wrapper)
    }
    for _name, plugin in ordered_plugins(manager):
        impl = impls.get(plugin)
        if impl is None:
            continue
        offered = {"manifests": manifests, "environment": environment}
        changed = cast(
            "Iterable[Manifest] | None", impl.function(*(offered[name] for name in impl.argnames))
        )
        if changed is not None:
            manifests = tuple(sorted(changed, key=lambda m: m.path(environment.name)))
    return manifests


def check(
    manager: pluggy.PluginManager, environment: Environment, manifests: tuple[Manifest, ...]
) -> list[Diagnostic]:
    problems = []
    seen: dict[str, Manifest] = {}
    for manifest in manifests:
        path = manifest.path(environment.name)
        if path in seen:
            problems.append(
                Diagnostic(
                    f"rendered/{path}",
                    0,
                    0,
                    f"two objects render to the same file ({manifest.kind} {manifest.name}); a plugin bug",
                )
            )
        seen[path] = manifest
    for batch in manager.hook.knobless_check(manifests=manifests, environment=environment):
        problems.extend(batch or ())
    return problems


def serialize(
    env_name: str, manifests: tuple[Manifest, ...], writer: YamlWriter
) -> dict[str, bytes]:
    return {m.path(env_name): dump(m.body, writer) for m in manifests}


@dataclass(frozen=True)
class Unit:
    """What one endpoint (or, with `endpoint` None, the environment as a whole) compiled to in
    one environment: what the compile cache keeps of it."""

    endpoint: str | None
    files: dict[str, bytes]
    """Rendered files by path relative to rendered/."""
    manifests: tuple[Manifest, ...]
    warnings: tuple[Diagnostic, ...]
    summary: EndpointSummary | None


def compile_objects(
    manager: pluggy.PluginManager,
    environment: Environment,
    manifests: list[Manifest],
    writer: YamlWriter,
) -> tuple[tuple[Manifest, ...], dict[str, bytes], list[Diagnostic]]:
    """5. post-process, 6. check and serialize the objects of one endpoint (or of the
    environment as a whole)."""
    final = postprocess(manager, environment, _sorted(environment, manifests))
    checked = check(manager, environment, final)
    return final, serialize(environment.name, final, writer), checked


# -- lint (shared with `validate`, compiler.parallel) ------------------------------------------------


def lint_endpoints(
    manager: pluggy.PluginManager,
    endpoints: Iterable[EndpointContext],
    known: set[str],
    strict: bool,
) -> dict[str, set[Diagnostic]]:
    """Each endpoint's findings (knobless_lint_endpoint), by endpoint name."""
    return {e.name: apply_strict(lint_endpoint(manager, e, known), strict) for e in endpoints}


def lint_whole_environment(
    manager: pluggy.PluginManager,
    environment: Environment,
    env_source: EnvironmentSource,
    summaries: Mapping[str, EndpointSummary],
    endpoints: Sequence[EndpointContext],
    names: Sequence[str],
    strict: bool,
) -> set[Diagnostic]:
    """The environment's findings as a whole (knobless_lint_environment): judged against every
    endpoint it deploys (`summaries`), with every endpoint file's name (`names`)."""
    ordered = [summaries[n] for n in sorted(summaries)]
    found = lint_environment(manager, environment, ordered, endpoints, names, env_source)
    return apply_strict(found, strict)


# -- the whole pipeline ------------------------------------------------------------------------------


class Reuse(Protocol):
    """What the compile cache offers for one environment (see compiler.incremental): endpoints
    whose rendered files are current are neither resolved nor rendered, and what the
    environment-wide stage needs of them comes from the cache."""

    def __contains__(self, endpoint: object) -> bool: ...

    def names(self) -> list[str]:
        """The reused endpoints, sorted."""
        ...

    def summaries(self) -> dict[str, EndpointSummary]: ...

    def warnings(self) -> Iterable[Diagnostic]:
        """The reused endpoints' warnings, as they were found when they were compiled."""
        ...

    def environment_stage(
        self, fresh: Mapping[str, EndpointSummary]
    ) -> tuple[Diagnostic, ...] | None:
        """When nothing the environment-wide stage reads changed (the same endpoints, the
        compiled ones with the same summaries, its files intact), its warnings from the cache:
        the stage is skipped. Else None."""
        ...


@dataclass(frozen=True)
class EnvironmentOutput:
    """One batch of one environment, compiled (an environment comes in one or more batches; the
    environment-wide objects come in the last)."""

    name: str
    files: dict[str, bytes]
    manifests: tuple[Manifest, ...]
    endpoints: tuple[EndpointContext, ...]
    """Every endpoint the environment deploys that was resolved this run."""
    environment: Environment
    diagnostics: tuple[Diagnostic, ...]
    """Warnings of this batch (lint, checks); the first batch also carries the environment's and
    those replayed from the cache for reused endpoints."""
    units: tuple[Unit, ...] = ()
    """The same files and warnings, by endpoint (`Unit.endpoint` None: the environment's own)."""


@dataclass
class _Run:
    """What a compile carries from stage to stage and environment to environment."""

    manager: pluggy.PluginManager
    sources: Sources
    strict: bool
    progress: Progress
    known: set[str]
    """Every lint rule id (an endpoint may only switch off rules that exist)."""
    writer: YamlWriter = field(default_factory=YamlWriter)
    problems: set[Diagnostic] = field(default_factory=set)
    warnings: set[Diagnostic] = field(default_factory=set)
    """Shown with the problems when there are any."""

    def found(self, diagnostics: Iterable[Diagnostic]) -> None:
        """Lint and check findings: errors fail the compile, all show if it fails."""
        for diagnostic in diagnostics:
            if diagnostic.severity is Severity.ERROR:
                self.problems.add(diagnostic)
            self.warnings.add(diagnostic)


@dataclass
class _Environment:
    """One environment going through the stages."""

    name: str
    environment: Environment
    source: EnvironmentSource
    reused: Reuse | None
    fresh: list[str]
    """The endpoints it deploys that are compiled this run (the others are reused)."""
    endpoints: tuple[EndpointContext, ...] = ()
    findings: dict[str, set[Diagnostic]] = field(default_factory=dict)
    summaries: dict[str, EndpointSummary] = field(default_factory=dict)
    everything: Sequence[EndpointContext] = ()
    """Every endpoint it deploys, resolved on first use (LazyEndpoints)."""
    whole: set[Diagnostic] = field(default_factory=set)
    """Findings of the environment-wide lint (computed, or replayed from the cache)."""
    replayed: bool = False
    """Whether the environment-wide stage's output is what the cache says (it is skipped)."""
    carried: list[Diagnostic] = field(default_factory=list)
    """Warnings the next batch carries (the environment's, the reused endpoints')."""

    def output(self, units: Sequence[Unit]) -> EnvironmentOutput:
        carried, self.carried = self.carried, []
        return EnvironmentOutput(
            self.name,
            {path: data for unit in units for path, data in unit.files.items()},
            tuple(m for unit in units for m in unit.manifests),
            self.endpoints,
            self.environment,
            tuple(sorted({*carried, *(d for unit in units for d in unit.warnings)})),
            tuple(units),
        )


def start_environment(run: _Run, name: str, reused: Reuse | None) -> _Environment:
    environment, source = run.sources.environments[name]
    deployed = [n for n in run.sources.names if n not in environment.exclude]
    fresh = [n for n in deployed if reused is None or n not in reused]
    return _Environment(name, environment, source, reused, fresh)


def resolve_stage(run: _Run, env: _Environment) -> None:
    """2. validate + 3. resolve (knobless_select_runtime, knobless_validate_endpoint) the fresh
    endpoints; every endpoint's problems, not only the first one's."""
    env.endpoints, found = resolve_environment(
        run.sources, env.name, run.manager, run.progress, only=env.fresh
    )
    run.problems |= found
    env.summaries = {e.name: summarize(e) for e in env.endpoints}
    if found:  # the environment-wide rules still see the endpoints that failed to resolve
        env.summaries.update(_rough_summaries(run.sources, env.name, env.fresh, env.summaries))
    reused_names = env.reused.names() if env.reused is not None else []
    resolve_missing = partial(_resolve_or_raise, run.sources, env.name, run.manager)
    env.everything = LazyEndpoints(env.endpoints, reused_names, resolve_missing)


def lint_stage(run: _Run, env: _Environment) -> None:
    """Lint (knobless_lint_endpoint per endpoint, knobless_lint_environment); the environment's
    findings come from the cache when nothing it reads changed."""
    env.findings = lint_endpoints(run.manager, env.endpoints, run.known, run.strict)
    replayed = env.reused.environment_stage(env.summaries) if env.reused is not None else None
    env.replayed = replayed is not None
    if replayed is None:
        if env.reused is not None:
            env.summaries.update(env.reused.summaries())
        env.whole = lint_whole_environment(
            run.manager,
            env.environment,
            env.source,
            env.summaries,
            env.everything,
            run.sources.names,
            run.strict,
        )
    else:
        env.whole = set(replayed)
    for group in (env.whole, *env.findings.values()):
        run.found(group)
    reused_warnings = env.reused.warnings() if env.reused is not None else ()
    env.carried = sorted({*env.whole, *reused_warnings})


def render_stage(run: _Run, env: _Environment) -> Iterator[EnvironmentOutput]:
    """4. render (knobless_render_endpoint), 5. post-process, 6. check each fresh endpoint, in
    batches; stops at the first batch with a problem."""
    for start in range(0, len(env.endpoints), BATCH):
        units = []
        for endpoint in env.endpoints[start : start + BATCH]:
            rendered = _flatten(run.manager.hook.knobless_render_endpoint(endpoint=endpoint))
            final, files, checked = compile_objects(
                run.manager, env.environment, rendered, run.writer
            )
            run.found(d for d in checked if d.severity is Severity.ERROR)
            warnings = tuple(sorted({*env.findings[endpoint.name], *checked}))
            units.append(Unit(endpoint.name, files, final, warnings, env.summaries[endpoint.name]))
        if run.problems:
            return
        yield env.output(units)


def render_environment_stage(run: _Run, env: _Environment) -> Iterator[EnvironmentOutput]:
    """4. render (knobless_render_environment), 5. post-process, 6. check the environment-wide
    objects (platform, Argo CD), unless the cache vouches for them."""
    if env.replayed:  # the environment-wide stage's output is what it was
        if env.carried:
            yield env.output([])
        return
    ordered = [env.summaries[n] for n in sorted(env.summaries)]
    rendered = _flatten(
        run.manager.hook.knobless_render_environment(
            environment=env.environment, summaries=ordered, endpoints=env.everything
        )
    )
    final, files, checked = compile_objects(run.manager, env.environment, rendered, run.writer)
    run.found(d for d in checked if d.severity is Severity.ERROR)
    if not run.problems:
        yield env.output([Unit(None, files, final, tuple(sorted({*env.whole, *checked})), None)])


def iter_compile(
    root: Path,
    *,
    environments: Sequence[str] | None = None,
    manager: pluggy.PluginManager | None = None,
    progress: Progress = _no_progress,
    strict: bool = False,
    sources: Sources | None = None,
    reuse: Mapping[str, Reuse] | None = None,
) -> Iterator[EnvironmentOutput]:
    """Compile environment after environment, so that only one is ever held in memory.

    `reuse` (by environment): endpoints whose output is current, skipped (see
    compiler.incremental). Once any problem is found the remaining environments are still
    loaded, resolved and linted (so every problem shows in one run) but no longer rendered;
    InputError is raised at the end with all of them. A consumer must therefore not commit
    what it received before the iterator is exhausted.
    """
    root = root.resolve()
    manager = manager or repository_plugins(root)
    if sources is None:
        sources = parse_all(load(root, environments))  # 1. load
    run = _Run(manager, sources, strict, progress, known_rules(manager))
    run.problems |= set(sources.problems)
    for done, env_name in enumerate(sources.environments, start=1):
        env = start_environment(run, env_name, (reuse or {}).get(env_name))
        resolve_stage(run, env)  # 2. validate, 3. resolve
        lint_stage(run, env)
        if run.problems:
            continue  # the other environments are still resolved and linted, not rendered
        yield from render_stage(run, env)  # 4. render, 5. post-process, 6. check
        if run.problems:
            continue
        yield from render_environment_stage(run, env)
        if not run.problems:
            progress("render", done, len(sources.environments))
    if run.problems:
        raise InputError(run.problems | run.warnings)


def repository_plugins(root: Path) -> pluggy.PluginManager:
    """The plugin manager of a repository: built-ins, entry points and its knobless.toml's."""
    config = load_config(root)
    return build_plugin_manager(root=root, local=config.plugins, blocked=config.block)


def _rough_summaries(
    sources: Sources, env_name: str, names: Iterable[str], resolved: Mapping[str, object]
) -> dict[str, EndpointSummary]:
    """Summaries of the endpoints among `names` that parse but failed to resolve (see
    compiler.resolve.rough_summary)."""
    environment, env_source = sources.environments[env_name]
    rough = {}
    for name in names:
        if name not in resolved and name in sources.endpoints:
            rough[name] = rough_summary(sources.endpoints[name], environment, env_source)
    return rough


def _resolve_or_raise(
    sources: Sources, env_name: str, manager: pluggy.PluginManager, names: Sequence[str]
) -> tuple[EndpointContext, ...]:
    contexts, problems = resolve_environment(sources, env_name, manager, only=names)
    if problems:  # cannot happen for endpoints that compiled before with the same inputs
        raise InputError(problems)
    return contexts


def compile_repository(
    root: Path,
    *,
    environments: Sequence[str] | None = None,
    manager: pluggy.PluginManager | None = None,
    progress: Progress = _no_progress,
    strict: bool = False,
) -> CompileResult:
    """Compile a repository in memory, every environment at once (for `diff` and tools).
    Raises InputError with every problem found; warnings are in the result."""
    outputs = list(
        iter_compile(
            root, environments=environments, manager=manager, progress=progress, strict=strict
        )
    )
    environments_by_name = {out.name: out.environment for out in outputs}
    manifests: dict[str, list[Manifest]] = {}
    for out in outputs:
        manifests.setdefault(out.name, []).extend(out.manifests)
    return CompileResult(
        files={path: data for out in outputs for path, data in out.files.items()},
        manifests={
            name: _sorted(environments_by_name[name], group) for name, group in manifests.items()
        },
        endpoints={out.name: out.endpoints for out in outputs},
        environments=environments_by_name,
        diagnostics=tuple(sorted({d for out in outputs for d in out.diagnostics})),
    )


def resolve_endpoint(root: Path, env_name: str, endpoint: str) -> EndpointContext:
    """One endpoint resolved in one environment (for `explain` and `simulate`): read as
    `compile` reads it, so two files for one endpoint are the same error here."""
    root = root.resolve()
    manager = repository_plugins(root)
    names = [name.rpartition(".")[0] for name in endpoint_file_names(root)]
    if endpoint not in names:
        listed = ", ".join(sorted(set(names))) or "none"
        raise UsageError(
            f"unknown endpoint `{endpoint}`{did_you_mean(endpoint, names)} (endpoints: {listed})"
        )
    env_file = select_environments(root, [env_name])[0]
    environment, env_source = load_environment(root, env_file)
    env_source = replace(env_source, locked=load_lock(root).environment(env_name))
    if endpoint in environment.exclude:
        raise UsageError(f"endpoint `{endpoint}` is excluded from environment `{env_name}`")
    files = [
        f"{ENDPOINTS_DIR}/{n}" for n in endpoint_file_names(root) if n.startswith(f"{endpoint}.")
    ]
    if len(files) > 1:
        raise InputError([_defined_twice(endpoint, files[0], files[1])])
    return resolve_one(load_endpoint(root, root / files[0]), environment, env_source, manager)
