"""The compile pipeline, top to bottom:

    load -> validate -> resolve (per environment) -> render -> post-process -> check -> write

Each stage is a plain function below; `compile_repository` runs them in order with the plugin hook
of each stage beside it. Nothing here writes to disk: `write` is the caller's (compiler.writer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from compiler.config import load_config
from compiler.context import EndpointContext, EnvironmentContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.environments import EnvironmentSource, load_environment
from compiler.errors import InputError, UsageError
from compiler.loader import LoadedYaml, load_yaml_file
from compiler.manifest import Manifest
from compiler.models.environment import Environment
from compiler.plugins import build_plugin_manager, ordered_plugins
from compiler.resolve import resolve_endpoint as resolve_one
from compiler.writer import dump
from compiler.yamlout import YamlWriter

ENDPOINTS_DIR = "endpoints"
ENVIRONMENTS_DIR = "environments"

Progress = Callable[[str, int, int], None]
"""(stage, done, total): called as work advances, for a progress bar."""


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class Sources:
    """Everything loaded from the repository, before resolution."""

    endpoints: dict[str, LoadedYaml]
    environments: dict[str, tuple[Environment, EnvironmentSource]]
    problems: tuple[Diagnostic, ...] = ()
    """Files that could not be loaded; resolution goes on with the rest so every problem shows."""


@dataclass(frozen=True)
class CompileResult:
    """What a compile produced, in memory."""

    files: dict[str, bytes]
    """Rendered files by path relative to rendered/ (`<env>/<folder>/<kind>-<name>.yaml`)."""
    manifests: dict[str, tuple[Manifest, ...]]
    endpoints: dict[str, tuple[EndpointContext, ...]]
    environments: dict[str, EnvironmentContext]
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    """Warnings (errors raise InputError instead)."""


# -- 1. load -------------------------------------------------------------------------------------


def endpoint_files(root: Path) -> list[Path]:
    directory = root / ENDPOINTS_DIR
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
    )


def environment_files(root: Path) -> list[Path]:
    directory = root / ENVIRONMENTS_DIR
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.jsonnet") if not p.name.startswith("."))


def select_environments(root: Path, wanted: Sequence[str] | None) -> list[Path]:
    files = environment_files(root)
    if not files:
        raise UsageError(f"no environments: {root / ENVIRONMENTS_DIR}/*.jsonnet not found")
    if not wanted:
        return files
    by_name = {f.stem: f for f in files}
    unknown = sorted(set(wanted) - set(by_name))
    if unknown:
        raise UsageError(
            f"unknown environment `{unknown[0]}` (available: {', '.join(sorted(by_name))})"
        )
    return [by_name[name] for name in sorted(set(wanted))]


def load_endpoint(root: Path, file: Path) -> LoadedYaml:
    display = file.relative_to(root).as_posix()
    loaded = load_yaml_file(file, display)
    if not isinstance(loaded.data, dict):
        kind = "a list" if isinstance(loaded.data, list) else "a single value"
        raise InputError(
            [
                Diagnostic(
                    display,
                    1,
                    1,
                    f"an endpoint file holds a mapping (name: ..., served: ...), not {kind}",
                )
            ]
        )
    name = loaded.data.get("name")
    if isinstance(name, str) and name != file.stem:
        line, col = loaded.position(("name",))
        raise InputError(
            [
                Diagnostic(
                    display,
                    line,
                    col,
                    f"name: `{name}` differs from the file name `{file.name}`; "
                    f"rename the file to {name}{file.suffix} or change `name`",
                )
            ]
        )
    return loaded


def load(root: Path, environments: Sequence[str] | None) -> Sources:
    problems: list[Diagnostic] = []
    endpoints: dict[str, LoadedYaml] = {}
    for file in endpoint_files(root):
        try:
            loaded = load_endpoint(root, file)
        except InputError as error:
            problems.extend(error.diagnostics)
            continue
        if file.stem in endpoints:
            problems.append(
                Diagnostic(
                    loaded.path,
                    1,
                    1,
                    f"endpoint `{file.stem}` is defined twice: {endpoints[file.stem].path} and "
                    f"{loaded.path}; remove one",
                )
            )
            continue
        endpoints[file.stem] = loaded
    loaded_environments: dict[str, tuple[Environment, EnvironmentSource]] = {}
    for file in select_environments(root, environments):
        try:
            loaded_environments[file.stem] = load_environment(root, file)
        except InputError as error:
            problems.extend(error.diagnostics)
    return Sources(endpoints, loaded_environments, tuple(problems))


# -- 2. validate + 3. resolve ------------------------------------------------------------------------


def resolve_environment(
    sources: Sources,
    env_name: str,
    manager: pluggy.PluginManager,
    progress: Progress = _no_progress,
) -> tuple[tuple[EndpointContext, ...], set[Diagnostic]]:
    """Every endpoint one environment deploys, merged, validated and made concrete, and the
    problems found (resolution goes on past a bad endpoint so that every problem shows)."""
    environment, env_source = sources.environments[env_name]
    problems: set[Diagnostic] = set()
    contexts = []
    for done, (name, loaded) in enumerate(sources.endpoints.items(), start=1):
        if name in environment.exclude:
            continue
        try:
            contexts.append(resolve_one(loaded, environment, env_source, manager))
        except InputError as error:
            problems.update(error.diagnostics)
        if done % 500 == 0:
            progress(f"resolve {env_name}", done, len(sources.endpoints))
    return tuple(contexts), problems


def resolve(
    sources: Sources, manager: pluggy.PluginManager, progress: Progress = _no_progress
) -> dict[str, tuple[EndpointContext, ...]]:
    """Every environment resolved; InputError with every problem of every environment."""
    problems: set[Diagnostic] = set(sources.problems)
    resolved: dict[str, tuple[EndpointContext, ...]] = {}
    for env_name in sources.environments:
        resolved[env_name], found = resolve_environment(sources, env_name, manager, progress)
        problems |= found
    if problems:
        raise InputError(problems)
    return resolved


# -- 4. render, 5. post-process, 6. check ------------------------------------------------------------


def _flatten(batches: Sequence[object]) -> list[Manifest]:
    return [m for batch in batches if batch for m in batch]  # type: ignore[attr-defined]


BATCH = 250
"""Endpoints rendered, post-processed, checked and serialized together: large repositories are
compiled batch by batch so memory stays flat (knobless_postprocess and knobless_check see one
batch of an environment at a time; the environment-wide objects come in the last batch)."""


def render_batches(
    manager: pluggy.PluginManager,
    environment: EnvironmentContext,
    endpoints: Sequence[EndpointContext],
) -> Iterator[tuple[Manifest, ...]]:
    """The manifests of every endpoint, BATCH endpoints at a time, then the environment's own."""
    for start in range(0, len(endpoints), BATCH):
        manifests: list[Manifest] = []
        for endpoint in endpoints[start : start + BATCH]:
            manifests.extend(_flatten(manager.hook.knobless_render_endpoint(endpoint=endpoint)))
        yield _sorted(environment, manifests)
    yield _sorted(
        environment,
        _flatten(
            manager.hook.knobless_render_environment(environment=environment, endpoints=endpoints)
        ),
    )


def _sorted(environment: EnvironmentContext, manifests: list[Manifest]) -> tuple[Manifest, ...]:
    return tuple(sorted(manifests, key=lambda m: m.path(environment.name)))


def postprocess(
    manager: pluggy.PluginManager, environment: EnvironmentContext, manifests: tuple[Manifest, ...]
) -> tuple[Manifest, ...]:
    """Each plugin's knobless_postprocess in (priority, name) order, each on the previous output."""
    hook = manager.hook.knobless_postprocess
    implemented = {impl.plugin for impl in hook.get_hookimpls()}
    for _name, plugin in ordered_plugins(manager):
        if plugin in implemented:
            changed = plugin.knobless_postprocess(  # type: ignore[attr-defined]
                manifests=manifests, environment=environment
            )
            if changed is not None:
                manifests = tuple(sorted(changed, key=lambda m: m.path(environment.name)))
    return manifests


def check(
    manager: pluggy.PluginManager, environment: EnvironmentContext, manifests: tuple[Manifest, ...]
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
    environment: str, manifests: tuple[Manifest, ...], writer: YamlWriter
) -> dict[str, bytes]:
    return {m.path(environment): dump(m.body, writer) for m in manifests}


# -- the whole pipeline ------------------------------------------------------------------------------


def lint(
    manager: pluggy.PluginManager,
    sources: Sources,
    resolved: dict[str, tuple[EndpointContext, ...]],
    environments: dict[str, EnvironmentContext],
    *,
    strict: bool,
    endpoint_names: Iterable[str] | None = None,
    partial: bool = False,
) -> list[Diagnostic]:
    """Semantic lint over the resolved endpoints (rules are plugins: plugins/lint/).
    `endpoint_names`: every endpoint of the repository (default: those in `sources`);
    `partial`: only some endpoints were resolved, so environment-wide rules are skipped."""
    from compiler.review.lint import run_lint

    return run_lint(
        manager,
        resolved,
        environments,
        strict=strict,
        endpoint_names=sources.endpoints.keys() if endpoint_names is None else endpoint_names,
        environment_sources={name: source for name, (_, source) in sources.environments.items()},
        partial=partial,
    )


@dataclass(frozen=True)
class EnvironmentOutput:
    """One batch of one environment, compiled (an environment comes in one or more batches)."""

    name: str
    files: dict[str, bytes]
    manifests: tuple[Manifest, ...]
    endpoints: tuple[EndpointContext, ...]
    context: EnvironmentContext
    diagnostics: tuple[Diagnostic, ...]
    """Warnings of this environment (lint, checks)."""


def iter_compile(
    root: Path,
    *,
    environments: Sequence[str] | None = None,
    manager: pluggy.PluginManager | None = None,
    progress: Progress = _no_progress,
    strict: bool = False,
) -> Iterator[EnvironmentOutput]:
    """Compile environment after environment, so that only one is ever held in memory.

    Once any problem is found the remaining environments are still loaded, resolved and linted
    (so every problem shows in one run) but no longer rendered; InputError is raised at the end
    with all of them. A consumer must therefore not commit what it received before the iterator
    is exhausted.
    """
    root = root.resolve()
    if manager is None:
        config = load_config(root)
        manager = build_plugin_manager(root=root, local=config.plugins, blocked=config.block)
    sources = load(root, environments)  # 1. load
    problems: set[Diagnostic] = set(sources.problems)
    writer = YamlWriter()
    for done, env_name in enumerate(sources.environments, start=1):
        environment, env_source = sources.environments[env_name]
        context = EnvironmentContext(environment, env_source.path)
        # 2. validate + 3. resolve (knobless_select_runtime, knobless_validate_endpoint)
        endpoints, found = resolve_environment(sources, env_name, manager, progress)
        problems |= found
        # lint (knobless_lint_endpoint, knobless_lint_environment)
        findings = lint(manager, sources, {env_name: endpoints}, {env_name: context}, strict=strict)
        problems |= {d for d in findings if d.severity is Severity.ERROR}
        if any(d.severity is Severity.ERROR for d in problems):
            continue
        # 4. render (knobless_render_endpoint, knobless_render_environment), batch by batch
        for batch in render_batches(manager, context, endpoints):
            # 5. post-process (knobless_postprocess, a chain)
            manifests = postprocess(manager, context, batch)
            # 6. check (knobless_check)
            checked = check(manager, context, manifests)
            problems |= {d for d in checked if d.severity is Severity.ERROR}
            if problems:
                break
            warnings = sorted(
                {d for d in (*findings, *checked) if d.severity is not Severity.ERROR}
            )
            findings = []  # lint warnings travel with the first batch only
            yield EnvironmentOutput(
                env_name,
                serialize(env_name, manifests, writer),
                manifests,
                endpoints,
                context,
                tuple(warnings),
            )
            del manifests, batch  # keep one batch in memory, not two
        progress("render", done, len(sources.environments))
        del endpoints
    if problems:
        raise InputError(problems)


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
    contexts = {out.name: out.context for out in outputs}
    manifests: dict[str, list[Manifest]] = {}
    for out in outputs:
        manifests.setdefault(out.name, []).extend(out.manifests)
    return CompileResult(
        files={path: data for out in outputs for path, data in out.files.items()},
        manifests={name: _sorted(contexts[name], group) for name, group in manifests.items()},
        endpoints={out.name: out.endpoints for out in outputs},
        environments=contexts,
        diagnostics=tuple(sorted({d for out in outputs for d in out.diagnostics})),
    )


def resolve_endpoint(root: Path, environment: str, endpoint: str) -> EndpointContext:
    """One endpoint resolved in one environment (for `explain` and `simulate`)."""
    root = root.resolve()
    config = load_config(root)
    manager = build_plugin_manager(root=root, local=config.plugins, blocked=config.block)
    file = next((f for f in endpoint_files(root) if f.stem == endpoint), None)
    if file is None:
        names = ", ".join(f.stem for f in endpoint_files(root)) or "none"
        raise UsageError(f"unknown endpoint `{endpoint}` (endpoints: {names})")
    env_file = select_environments(root, [environment])[0]
    env_model, env_source = load_environment(root, env_file)
    if endpoint in env_model.exclude:
        raise UsageError(f"endpoint `{endpoint}` is excluded from environment `{environment}`")
    return resolve_one(load_endpoint(root, file), env_model, env_source, manager)
