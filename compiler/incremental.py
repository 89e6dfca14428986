"""Incremental compile: compile again only the endpoints whose inputs changed.

    plans = plan(root, manager, sources, strict=False)      # None: compile everything
    outcome = compile_changed(root, manager, sources, plans)

Each environment's cache (compiler.cache) says, per endpoint, which inputs produced the files now
in rendered/. An endpoint is reused when its key still matches and its folders are as knobless
left them; every other endpoint, and the environment-wide objects, go through the whole
pipeline as in a full compile (environment-wide hooks see the reused endpoints' summaries from
the cache). The difference is written with a journal (compiler.journal): all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from compiler.cache import (
    Entry,
    EnvironmentCache,
    Verification,
    code_fingerprint,
    digest,
    endpoint_key,
    environment_fingerprint,
    folders_of,
    load_cache,
    record_folders,
    save_cache,
    verify,
)
from compiler.config import CONFIG_FILE
from compiler.diagnostics import Diagnostic
from compiler.journal import Journal, changed
from compiler.pipeline import Progress, Reused, Sources, Unit, iter_compile
from compiler.writer import RENDERED

FULL_COMPILE_SHARE = 0.25
"""Past this share of endpoint-environment pairs to compile again, a full compile (in parallel,
swapping in a new tree) is faster than the incremental path."""


@dataclass
class Plan:
    """What one environment's cache allows."""

    environment: str
    fingerprint: str
    keys: dict[str, str]
    """Key of every endpoint the environment deploys."""
    cache: EnvironmentCache | None
    """None: no usable cache (first compile, code or environment changed)."""
    reuse: dict[str, Reused] = field(default_factory=dict)
    verification: Verification = field(
        default_factory=lambda: Verification(frozenset(), (), frozenset())
    )

    def entry(self, unit: Unit) -> Entry:
        assert unit.endpoint is not None and unit.summary is not None
        return Entry(
            self.keys[unit.endpoint],
            {path: digest(data) for path, data in unit.files.items()},
            unit.warnings,
            unit.summary,
        )


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
            plans[name] = Plan(name, fingerprint, keys, None)
            continue
        verification = verify(rendered, name, cache)
        reuse = {
            endpoint: Reused(entry.summary, entry.warnings)
            for endpoint, entry in cache.entries.items()
            if keys.get(endpoint) == entry.key and endpoint not in verification.dirty
        }
        plans[name] = Plan(name, fingerprint, keys, cache, reuse, verification)
    return plans


def worthwhile(plans: Mapping[str, Plan]) -> bool:
    """Whether the incremental path applies: every environment has a cache and few endpoints
    changed."""
    if any(p.cache is None for p in plans.values()):
        return False
    pairs = sum(len(p.keys) for p in plans.values())
    fresh = sum(len(p.keys) - len(p.reuse) for p in plans.values())
    return fresh <= max(250, FULL_COMPILE_SHARE * pairs)


@dataclass
class Outcome:
    environments: list[str]
    endpoints: set[str]
    compiled: int
    """Endpoint-environment pairs compiled this run (the others were reused)."""
    files: int
    added: int
    changed: int
    removed: int
    warnings: list[Diagnostic]


def compile_changed(
    root: Path,
    manager: pluggy.PluginManager,
    sources: Sources,
    plans: Mapping[str, Plan],
    *,
    strict: bool,
    progress: Progress,
) -> Outcome:
    rendered = root / RENDERED
    reuse = {name: p.reuse for name, p in plans.items()}
    entries = {
        name: {n: p.cache.entries[n] for n in p.reuse} if p.cache else {}
        for name, p in plans.items()
    }
    environment_files: dict[str, dict[str, str]] = {}
    produced: set[str] = set()
    warnings: list[Diagnostic] = []
    outcome = Outcome(list(sources.environments), set(), 0, 0, 0, 0, 0, warnings)
    with Journal(root) as journal:
        for output in iter_compile(
            root, manager=manager, sources=sources, reuse=reuse, strict=strict, progress=progress
        ):
            current = plans[output.name]
            assert current.cache is not None
            warnings.extend(output.diagnostics)
            for unit in output.units:
                if unit.endpoint is None:
                    environment_files[output.name] = {p: digest(d) for p, d in unit.files.items()}
                    old = current.cache.environment_files
                else:
                    entries[output.name][unit.endpoint] = current.entry(unit)
                    previous = current.cache.entries.get(unit.endpoint)
                    old = previous.files if previous else {}
                    outcome.compiled += 1
                produced.update(unit.files)
                for path, data in changed(rendered, unit.files).items():
                    journal.put(path, data)
                    if (rendered / path).exists():
                        outcome.changed += 1
                    else:
                        outcome.added += 1
                for path in old.keys() - unit.files.keys():
                    journal.delete(path)
        for current in plans.values():
            assert current.cache is not None
            for endpoint in current.cache.entries.keys() - current.keys.keys():
                for path in current.cache.entries[endpoint].files:  # an endpoint removed
                    journal.delete(path)
            _remove_strays(rendered, journal, current.verification.stray, produced)
        journal.deletes -= produced
        journal.deletes = {p for p in journal.deletes if (rendered / p).exists()}
        outcome.removed = len(journal.deletes)
        touched = {*journal.puts, *journal.deletes}
        journal.commit()
    for name, current in plans.items():
        assert current.cache is not None
        in_env = [p for p in touched if p.split("/", 1)[0] == name]
        folders = dict(current.cache.folders)
        restat = folders_of(name, in_env) | current.verification.changed_folders
        for folder in restat:
            folders.pop(folder, None)
        folders.update(record_folders(rendered, _existing(rendered, restat)))
        save_cache(
            root,
            name,
            EnvironmentCache(
                current.fingerprint, entries[name], environment_files.get(name, {}), folders
            ),
        )
        outcome.endpoints.update(entries[name])
        outcome.files += len(environment_files.get(name, {})) + sum(
            len(e.files) for e in entries[name].values()
        )
    return outcome


def _existing(rendered: Path, folders: Iterable[str]) -> list[str]:
    return [f for f in folders if (rendered / f).is_dir()]


def _remove_strays(
    rendered: Path, journal: Journal, stray: Iterable[str], produced: set[str]
) -> None:
    """Files and folders no one owns go, except what this run writes again: a folder that holds
    output is emptied of the rest instead of removed."""
    for path in stray:
        if path in produced:
            continue
        prefix = path + "/"
        if not any(p.startswith(prefix) for p in produced):
            journal.delete(path)
            continue
        for file in (rendered / path).rglob("*"):
            relative = file.relative_to(rendered).as_posix()
            if not file.is_dir() and relative not in produced:
                journal.delete(relative)


class Recorder:
    """Keeps what the cache needs of a full compile's units (digests, not the files)."""

    def __init__(self, plans: Mapping[str, Plan]) -> None:
        self.plans = plans
        self.fingerprints = {name: p.fingerprint for name, p in plans.items()}
        self.entries: dict[str, dict[str, Entry]] = {}
        self.environment_files: dict[str, dict[str, str]] = {}

    def add(self, environment: str, units: Iterable[Unit]) -> None:
        entries = self.entries.setdefault(environment, {})
        for unit in units:
            if unit.endpoint is None:
                self.environment_files[environment] = {p: digest(d) for p, d in unit.files.items()}
            else:
                entries[unit.endpoint] = self.plans[environment].entry(unit)

    def __getstate__(self) -> dict[str, object]:
        # crosses the process boundary without the plans (and the caches they hold)
        return {**self.__dict__, "plans": {}}

    def save(self, root: Path) -> None:
        """The caches of the compiled environments, once rendered/ holds their output."""
        rendered = root / RENDERED
        for name, entries in self.entries.items():
            environment_files = self.environment_files.get(name, {})
            paths = [p for e in entries.values() for p in e.files] + list(environment_files)
            folders = record_folders(rendered, folders_of(name, paths))
            save_cache(
                root,
                name,
                EnvironmentCache(self.fingerprints[name], entries, environment_files, folders),
            )
