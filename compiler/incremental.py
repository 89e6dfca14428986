"""Incremental compile: compile again only the endpoints whose inputs changed.

    plans = plan(root, manager, sources, strict=False)      # None: nothing may be cached
    if worthwhile(plans):
        outcome = compile_changed(root, manager, sources, plans, strict=False, progress=...)

Each environment's cache (compiler.cache) says, per endpoint, which inputs produced the files now
in rendered/. An endpoint is reused when its key still matches and its folder is as knobless
left it; every other endpoint, and the environment-wide objects, go through the whole pipeline as
in a full compile (environment-wide hooks see the reused endpoints' summaries from the cache).
The difference is written with a journal (compiler.writer.Journal): all or nothing.
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from compiler.cache import (
    Entry,
    EnvironmentCache,
    FolderStat,
    Recorder,
    Verification,
    code_fingerprint,
    digest,
    endpoint_key,
    entry_of,
    environment_fingerprint,
    folder_stat,
    folders_of,
    load_cache,
    names_digest,
    own_folder,
    save_environment,
    verify,
)
from compiler.config import CONFIG_FILE
from compiler.diagnostics import Diagnostic
from compiler.pipeline import Progress, Unit, iter_compile
from compiler.sources import Sources
from compiler.summary import EndpointSummary
from compiler.writer import RENDERED, Journal, changed

FULL_COMPILE_SHARE = 0.25
"""Past this share of endpoint-environment pairs to compile again, a full compile (in parallel,
swapping in a new tree) is faster than the incremental path."""


@dataclass
class Plan:
    """What one environment's cache allows."""

    env_name: str
    fingerprint: str
    keys: dict[str, str]
    """Key of every endpoint the environment deploys."""
    cache: EnvironmentCache | None
    """None: no usable cache (first compile, code or environment changed)."""
    reuse: CachedEnvironment | None = None
    verification: Verification = field(default_factory=Verification)
    names: str = ""
    """Digest of every endpoint file's name."""

    def entry(self, unit: Unit, folder: FolderStat = None) -> Entry:
        assert unit.endpoint is not None and unit.summary is not None
        key = self.keys[unit.endpoint]
        return entry_of(
            self.env_name, unit.endpoint, key, unit.files, unit.warnings, unit.summary, folder
        )


def recorder(plans: Mapping[str, Plan]) -> Recorder:
    """What records a full compile for the cache of each planned environment."""
    return Recorder({name: (p.fingerprint, p.names, p.keys) for name, p in plans.items()})


def config_bytes(root: Path) -> bytes:
    try:
        return (root / CONFIG_FILE).read_bytes()
    except OSError:
        return b""


def plan(
    root: Path, manager: pluggy.PluginManager, sources: Sources, *, strict: bool
) -> dict[str, Plan] | None:
    """Per environment, the endpoints whose output on disk is current. None when the code cannot
    be fingerprinted (a plugin that is not a module): then nothing may be cached."""
    code = code_fingerprint(manager)
    if code is None:
        return None
    config = config_bytes(root)
    rendered = root / RENDERED
    names = names_digest(sources.names)
    plans = {}
    for name, (environment, source) in sources.environments.items():
        fingerprint = environment_fingerprint(code, config, source, name, strict)
        keys = {
            endpoint: endpoint_key(name, text.display, text.digest)
            for endpoint, text in sources.texts.items()
            if endpoint not in environment.exclude
        }
        cache = load_cache(root, name)
        if cache is None or cache.fingerprint != fingerprint or not (rendered / name).is_dir():
            plans[name] = Plan(name, fingerprint, keys, None, names=names)
            continue
        verification = verify(rendered, name, cache)
        reusable = frozenset(
            endpoint
            for endpoint, entry in cache.entries.items()
            if keys.get(endpoint) == entry.key and endpoint not in verification.dirty
        )
        # The environment-wide stage reads the endpoint names, which endpoints are deployed
        # and their summaries; the fresh ones' summaries are compared once they are compiled.
        stage_unchanged = (
            cache.names == names and keys.keys() == cache.entries.keys() and not verification.shared
        )
        reuse = CachedEnvironment(cache, reusable, stage_unchanged)
        plans[name] = Plan(name, fingerprint, keys, cache, reuse, verification, names)
    return plans


class CachedEnvironment:
    """The endpoints of one environment whose output is current, from its cache entries;
    compiler.pipeline.Reuse."""

    def __init__(
        self, cache: EnvironmentCache, reusable: frozenset[str], stage_unchanged: bool
    ) -> None:
        self.entries = cache.entries
        self.reusable = reusable
        self.stage_warnings = cache.environment_warnings if stage_unchanged else None

    def __len__(self) -> int:
        return len(self.reusable)

    def __contains__(self, endpoint: object) -> bool:
        return endpoint in self.reusable

    def names(self) -> list[str]:
        return sorted(self.reusable)

    def summaries(self) -> dict[str, EndpointSummary]:
        return {name: self.entries[name].summary() for name in self.reusable}

    def warnings(self) -> Iterable[Diagnostic]:
        for name in self.reusable:
            yield from self.entries[name].warnings()

    def environment_stage(
        self, fresh: Mapping[str, EndpointSummary]
    ) -> tuple[Diagnostic, ...] | None:
        if self.stage_warnings is None:
            return None
        for name, summary in fresh.items():
            if summary.to_json() != self.entries[name].stored_summary:
                return None
        return self.stage_warnings


def worthwhile(plans: Mapping[str, Plan]) -> bool:
    """Whether the incremental path applies: every environment has a cache and few endpoints
    changed."""
    if any(p.cache is None for p in plans.values()):
        return False
    pairs = sum(len(p.keys) for p in plans.values())
    fresh = sum(len(p.keys) - len(p.reuse or ()) for p in plans.values())
    return fresh <= max(250, FULL_COMPILE_SHARE * pairs)


@dataclass
class Outcome:
    environments: list[str]
    endpoints: set[str] = field(default_factory=set)
    compiled: int = 0
    """Endpoint-environment pairs compiled this run (the others were reused)."""
    added: int = 0
    changed: int = 0
    removed: int = 0
    warnings: list[Diagnostic] = field(default_factory=list)


@dataclass
class _Changes:
    """What an incremental compile produced so far, for the journal and then the cache."""

    rendered: Path
    journal: Journal
    outcome: Outcome
    fresh: dict[str, dict[str, Unit]]
    """The units compiled this run, by environment and endpoint (files, not manifests)."""
    environment_files: dict[str, dict[str, str]] = field(default_factory=dict)
    environment_warnings: dict[str, tuple[Diagnostic, ...]] = field(default_factory=dict)
    produced: set[str] = field(default_factory=set)
    """Every file this run renders (nothing of it may be deleted)."""


def compile_changed(
    root: Path,
    manager: pluggy.PluginManager,
    sources: Sources,
    plans: Mapping[str, Plan],
    *,
    strict: bool,
    progress: Progress,
) -> Outcome:
    """Compile the endpoints whose output is not current, write the difference through one
    journal, then save each environment's cache."""
    reuse = {name: p.reuse for name, p in plans.items() if p.reuse is not None}
    outputs = iter_compile(
        root, manager=manager, sources=sources, reuse=reuse, strict=strict, progress=progress
    )
    with Journal(root) as journal:
        changes = _Changes(
            root / RENDERED, journal, Outcome(list(sources.environments)), {n: {} for n in plans}
        )
        for output in outputs:
            changes.outcome.warnings.extend(output.diagnostics)
            for unit in output.units:
                _stage_unit(changes, plans[output.name], unit)
        for current in plans.values():
            _stage_removals(changes, current)
        rendered = changes.rendered
        journal.deletes = {
            p for p in journal.deletes - changes.produced if os.path.lexists(rendered / p)
        }
        changes.outcome.removed = len(journal.deletes)
        journal.commit()
    for name, current in plans.items():
        _save(root, current, changes)
        changes.outcome.compiled += len(changes.fresh[name])
        changes.outcome.endpoints.update(current.keys)
    return changes.outcome


def _stage_unit(changes: _Changes, current: Plan, unit: Unit) -> None:
    """One compiled unit's files into the journal, and what it no longer renders out of it."""
    assert current.cache is not None
    rendered, journal, outcome = changes.rendered, changes.journal, changes.outcome
    changes.produced.update(unit.files)
    for path, data in changed(rendered, unit.files).items():
        journal.put(path, data)
        if (rendered / path).exists():
            outcome.changed += 1
        else:
            outcome.added += 1
    name = current.env_name
    if unit.endpoint is None:
        changes.environment_files[name] = {p: digest(d) for p, d in unit.files.items()}
        changes.environment_warnings[name] = unit.warnings
        old: Iterable[str] = current.cache.environment_files
    else:
        # keep the files (not the manifests) until the entry is recorded
        changes.fresh[name][unit.endpoint] = Unit(
            unit.endpoint, unit.files, (), unit.warnings, unit.summary
        )
        entry = current.cache.entries.get(unit.endpoint)
        old = entry.foreign if entry else ()
        # what it no longer renders in its own folder, or what someone added there
        _delete_unlisted(rendered, journal, own_folder(name, unit.endpoint), unit.files)
    for path in set(old) - unit.files.keys():
        journal.delete(path)


def _stage_removals(changes: _Changes, current: Plan) -> None:
    """The files of removed endpoints, and strays no one owns."""
    assert current.cache is not None
    name, journal = current.env_name, changes.journal
    for endpoint in current.cache.entries.keys() - current.keys.keys():  # removed
        journal.delete(own_folder(name, endpoint))
        for path in current.cache.entries[endpoint].foreign:
            journal.delete(path)
    if name not in changes.environment_files:  # the stage was skipped: its files stand
        changes.produced.update(current.cache.environment_files)
    _remove_strays(changes.rendered, journal, current.verification.stray, changes.produced)


def _delete_unlisted(rendered: Path, journal: Journal, folder: str, keep: Container[str]) -> None:
    """Every file under rendered/<folder> that is not in `keep`."""
    for file in (rendered / folder).rglob("*"):
        relative = file.relative_to(rendered).as_posix()
        if not file.is_dir() and relative not in keep:
            journal.delete(relative)


def _remove_strays(
    rendered: Path, journal: Journal, stray: Iterable[str], produced: set[str]
) -> None:
    """Files and folders no one owns go, except what this run writes again: a folder that holds
    output is emptied of the rest instead of removed."""
    for path in stray:
        if path in produced:
            continue
        prefix = path + "/"
        if any(p.startswith(prefix) for p in produced):
            _delete_unlisted(rendered, journal, path, produced)
        else:
            journal.delete(path)


def _save(root: Path, current: Plan, changes: _Changes) -> None:
    """The environment's cache once the journal is applied: fresh entries with their folders as
    they now are, reused entries as they were, removed endpoints gone."""
    assert current.cache is not None
    rendered = root / RENDERED
    name = current.env_name
    fresh = changes.fresh[name]
    environment_files = changes.environment_files.get(name, current.cache.environment_files)
    warnings = changes.environment_warnings.get(name, current.cache.environment_warnings)
    reused = current.reuse.reusable if current.reuse else ()
    entries = {n: current.cache.entries[n] for n in reused}
    for endpoint, unit in fresh.items():
        stat = folder_stat(rendered / own_folder(name, endpoint))
        entries[endpoint] = current.entry(unit, stat)
    foreign = [p for n in fresh for p in entries[n].foreign]
    shared = set(current.cache.folders) | folders_of(name, [*environment_files, *foreign])
    cache = EnvironmentCache(
        current.fingerprint, entries, environment_files, {}, warnings, current.names
    )
    save_environment(root, name, cache, shared)
