"""The compile cache: what each endpoint compiled to, keyed by everything it was compiled from.

An endpoint's output in one environment is a function of its file's text, the environment (its
jsonnet sources and evaluated value), `knobless.toml`, `--strict`, and the code that compiles it:
the compiler and plugin modules a compile runs (compiler.fingerprint), the CRD schemas and the
versions of the libraries that shape output. The cache keys each endpoint by a hash of exactly those, so an entry can only be reused
when a full compile would produce the same bytes; anything it cannot fingerprint (a plugin that
is not a module) turns the cache off rather than risk stale output.

One JSON file per environment, `.knobless/cache/<env>.json` (gitignored), written atomically
after rendered/ is. It also records the modification time and inode of every folder of
rendered/<env>/ as knobless left it: an endpoint whose folder changed since (a git checkout, a
file added or deleted by hand) is compiled again, and a shared folder that changed has its files
read and compared. A file edited in place without touching its folder is not noticed by
`compile` (the header says "Do not edit"); `compile --check`, which CI runs, reads every file.
`endpoints.json` keeps the stamp (mtime, size, inode) and digest of every endpoint file, so
that unchanged files are not even read (git's index does the same).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pluggy

from compiler.diagnostics import Diagnostic, Severity
from compiler.environments import EnvironmentSource
from compiler.fingerprint import compile_code
from compiler.summary import EndpointSummary, ServedSummary
from compiler.writer import RENDERED, write_atomically

if TYPE_CHECKING:
    from compiler.pipeline import Unit
    from compiler.sources import EndpointText, Stamp

VERSION = 2
CACHE_DIR = Path(".knobless") / "cache"
CACHE_DIR_ENV = "KNOBLESS_CACHE_DIR"
"""Environment variable that moves the cache (relative paths are from the repository root)."""

LIBRARIES = (
    "croniter",
    "fastjsonschema",
    "jsonnet",
    "kubernetes",
    "kubernetes-validate",
    "pluggy",
    "pydantic",
    "PyYAML",
)
"""Distributions whose version can change what a compile produces."""


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def cache_dir(root: Path) -> Path:
    configured = os.environ.get(CACHE_DIR_ENV)
    return root / configured if configured else root / CACHE_DIR


# -- fingerprints ------------------------------------------------------------------------------------


def code_fingerprint(manager: pluggy.PluginManager) -> str | None:
    """A hash of the code that shapes output (compiler.fingerprint: not the scaler, the
    simulator or the review tools), the CRD schemas and library versions. None when a plugin
    cannot be fingerprinted (not a module)."""
    from compiler.schemacheck import CRD_SCHEMA_DIR

    code = compile_code(manager)
    if code is None:
        return None
    files = set(code)
    files.update(CRD_SCHEMA_DIR.glob("*.json") if CRD_SCHEMA_DIR.is_dir() else ())
    hasher = hashlib.blake2b(f"knobless-cache {VERSION} {sys.version}\n".encode())
    for name in LIBRARIES:
        try:
            hasher.update(f"{name}=={importlib.metadata.version(name)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            hasher.update(f"{name} missing\n".encode())
    for path in sorted(files):
        hasher.update(f"{path}\n".encode())
        hasher.update(digest(path.read_bytes()).encode())
    return hasher.hexdigest()


def environment_fingerprint(
    code: str, config: bytes, source: EnvironmentSource, name: str, strict: bool
) -> str:
    """Everything an environment contributes: its jsonnet sources (positions show in
    diagnostics) and their value, the repository config and the compile options."""
    hasher = hashlib.blake2b(f"{code}\n{name}\nstrict={strict}\n".encode())
    hasher.update(digest(config).encode())
    for path in sorted(source.texts):
        hasher.update(f"{path}\n{digest(source.texts[path].encode())}\n".encode())
    hasher.update(orjson.dumps(source.data, option=orjson.OPT_SORT_KEYS))
    if source.locked is not None:  # images.lock: an image change recompiles the environment
        hasher.update(f"\nimages.lock {source.locked.fingerprint()}".encode())
    return hasher.hexdigest()


def names_digest(names: Iterable[str]) -> str:
    return digest("\n".join(sorted(names)).encode())


def endpoint_key(env_name: str, display: str, text_digest: str) -> str:
    return digest(f"{env_name}\n{display}\n{text_digest}".encode())


# -- the cache of one environment --------------------------------------------------------------------


def _diagnostic_to_json(d: Diagnostic) -> list[Any]:
    return [d.path, d.line, d.col, d.message, d.severity.value, d.rule]


def diagnostic_from_json(row: list[Any]) -> Diagnostic:
    path, line, col, message, severity, rule = row
    return Diagnostic(path, line, col, message, Severity(severity), rule)


FolderStat = tuple[int, int] | None
"""(mtime_ns, inode) of a folder; None when there is none."""


@dataclass(slots=True)
class Entry:
    """One endpoint's output in one environment. Its own folder, rendered/<env>/<endpoint>/, is
    all its own; files it renders elsewhere (its Argo CD Application) are listed with digests.
    Warnings and summary stay as stored until asked for: most compiles need only the key."""

    key: str
    folder: FolderStat
    """Its own folder as knobless left it."""
    foreign: dict[str, str]
    """Digest of each file outside its own folder, by path relative to rendered/."""
    stored_warnings: list[list[Any]]
    stored_summary: list[Any]
    """EndpointSummary.to_json(): what environment-wide hooks see of the endpoint."""

    @classmethod
    def new(
        cls,
        key: str,
        foreign: dict[str, str],
        warnings: Iterable[Diagnostic],
        summary: EndpointSummary,
        folder: FolderStat = None,
    ) -> Entry:
        return cls(
            key, folder, foreign, [_diagnostic_to_json(d) for d in warnings], summary.to_json()
        )

    @classmethod
    def from_json(cls, row: list[Any]) -> Entry:
        key, folder, foreign, warnings, summary = row
        return cls(key, tuple(folder) if folder else None, foreign, warnings, summary)

    def to_json(self) -> list[Any]:
        return [self.key, self.folder, self.foreign, self.stored_warnings, self.stored_summary]

    def warnings(self) -> Iterator[Diagnostic]:
        return map(diagnostic_from_json, self.stored_warnings)

    def summary(self) -> EndpointSummary:
        name, owner, namespace, versions = self.stored_summary
        return EndpointSummary(name, owner, namespace, tuple(map(ServedSummary._make, versions)))


@dataclass
class EnvironmentCache:
    fingerprint: str
    entries: dict[str, Entry] = field(default_factory=dict)
    """By endpoint."""
    environment_files: dict[str, str] = field(default_factory=dict)
    """Digest of each environment-wide file (platform objects), by path relative to rendered/."""
    folders: dict[str, FolderStat] = field(default_factory=dict)
    """Folders of rendered/<env>/ that are no endpoint's own (the environment's, shared ones)."""
    environment_warnings: tuple[Diagnostic, ...] = ()
    """What the environment-wide stage (its lint and objects) found."""
    names: str = ""
    """Digest of every endpoint file's name (environment-wide lint reads them)."""

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "version": VERSION,
                "fingerprint": self.fingerprint,
                "endpoints": {name: e.to_json() for name, e in self.entries.items()},
                "environment": self.environment_files,
                "folders": self.folders,
                "environment_warnings": [_diagnostic_to_json(d) for d in self.environment_warnings],
                "names": self.names,
            },
            option=orjson.OPT_SORT_KEYS,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> EnvironmentCache | None:
        try:
            raw = orjson.loads(data)
            if raw.get("version") != VERSION:
                return None
            folders = {f: tuple(stat) if stat else None for f, stat in raw["folders"].items()}
            warnings = tuple(diagnostic_from_json(d) for d in raw["environment_warnings"])
            entries = {name: Entry.from_json(row) for name, row in raw["endpoints"].items()}
            return cls(
                raw["fingerprint"],
                entries,
                raw["environment"],
                folders,
                warnings,
                raw["names"],
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return None  # a damaged cache is no cache


def _write(directory: Path, name: str, data: bytes) -> None:
    """Written to a temporary file and renamed: a reader sees the old or the new file."""
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# knobless compile cache: local, never committed\n*\n")
    write_atomically(directory / name, data)


def load_cache(root: Path, env_name: str) -> EnvironmentCache | None:
    try:
        data = (cache_dir(root) / f"{env_name}.json").read_bytes()
    except OSError:
        return None
    return EnvironmentCache.from_bytes(data)


def save_cache(root: Path, env_name: str, cache: EnvironmentCache) -> None:
    _write(cache_dir(root), f"{env_name}.json", cache.to_bytes())


def save_environment(
    root: Path, env_name: str, cache: EnvironmentCache, shared: Iterable[str]
) -> None:
    """Write an environment's cache, with its shared folders stamped as they are now (after the
    write to rendered/)."""
    rendered = root / RENDERED
    cache.folders = {
        f: folder_stat(rendered / f) for f in sorted(shared) if (rendered / f).is_dir()
    }
    save_cache(root, env_name, cache)


def entry_of(
    env_name: str,
    endpoint: str,
    key: str,
    files: Mapping[str, bytes],
    warnings: Iterable[Diagnostic],
    summary: EndpointSummary,
    folder: FolderStat = None,
) -> Entry:
    """What the cache keeps of one compiled endpoint: digests of its files outside its folder."""
    own = own_folder(env_name, endpoint) + "/"
    foreign = {p: digest(d) for p, d in files.items() if not p.startswith(own)}
    return Entry.new(key, foreign, warnings, summary, folder)


class Recorder:
    """Keeps what the cache needs of a full compile's units (digests, not the files), and saves
    it once rendered/ holds their output."""

    def __init__(self, keys: Mapping[str, tuple[str, str, Mapping[str, str]]]) -> None:
        self.keys = keys
        """By environment: its fingerprint, the digest of the endpoint names, each endpoint's key."""
        self.entries: dict[str, dict[str, Entry]] = {}
        self.environment_files: dict[str, dict[str, str]] = {}
        self.environment_warnings: dict[str, tuple[Diagnostic, ...]] = {}

    def add(self, env_name: str, units: Iterable[Unit]) -> None:
        entries = self.entries.setdefault(env_name, {})
        keys = self.keys[env_name][2]
        for unit in units:
            if unit.endpoint is None:
                self.environment_files[env_name] = {p: digest(d) for p, d in unit.files.items()}
                self.environment_warnings[env_name] = unit.warnings
            else:
                assert unit.summary is not None
                entries[unit.endpoint] = entry_of(
                    env_name,
                    unit.endpoint,
                    keys[unit.endpoint],
                    unit.files,
                    unit.warnings,
                    unit.summary,
                )

    def __getstate__(self) -> dict[str, object]:
        # crosses the process boundary without the keys (only what was recorded is needed)
        return {**self.__dict__, "keys": {n: (f, d, {}) for n, (f, d, _) in self.keys.items()}}

    def save(self, root: Path) -> None:
        rendered = root / RENDERED
        for name, entries in self.entries.items():
            for endpoint, entry in entries.items():
                entry.folder = folder_stat(rendered / own_folder(name, endpoint))
            environment_files = self.environment_files.get(name, {})
            fingerprint, names, _ = self.keys[name]
            warnings = self.environment_warnings.get(name, ())
            cache = EnvironmentCache(fingerprint, entries, environment_files, {}, warnings, names)
            foreign = [p for e in entries.values() for p in e.foreign]
            save_environment(root, name, cache, folders_of(name, [*environment_files, *foreign]))


def drop_cache(root: Path, env_name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (cache_dir(root) / f"{env_name}.json").unlink()


STAMPS = "endpoints.json"


def load_stamps(root: Path) -> dict[str, tuple[Stamp, str]]:
    """(stamp, text digest) of the endpoint files as last read, by path: files whose stamp is
    unchanged need not be read again (see compiler.sources.read_endpoint)."""
    try:
        raw = orjson.loads((cache_dir(root) / STAMPS).read_bytes())
        if raw.get("version") != VERSION:
            return {}
        return {path: ((row[0], row[1], row[2]), row[3]) for path, row in raw["files"].items()}
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, IndexError, AttributeError):
        return {}


def save_stamps(root: Path, texts: Iterable[EndpointText]) -> None:
    files = {t.display: [*t.stamp, t.digest] for t in texts if t.stamp is not None}
    _write(cache_dir(root), STAMPS, orjson.dumps({"version": VERSION, "files": files}))


EVALUATIONS = "environments.json"


def load_evaluations(root: Path) -> dict[str, tuple[dict[str, str], Any]]:
    """Earlier jsonnet evaluations (see compiler.environments.Evaluations)."""
    try:
        raw = json.loads((cache_dir(root) / EVALUATIONS).read_bytes())
        if raw.get("version") != VERSION:
            return {}
        return {path: (row[0], row[1]) for path, row in raw["evaluations"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {}


def save_evaluations(root: Path, memo: Mapping[str, tuple[dict[str, str], Any]]) -> None:
    # the standard json module: environment values may hold integers orjson cannot write
    data = {"version": VERSION, "evaluations": {p: list(row) for p, row in memo.items()}}
    _write(cache_dir(root), EVALUATIONS, json.dumps(data).encode())


# -- folders of rendered/<env>/ ---------------------------------------------------------------------


def folder_stat(path: Path) -> FolderStat:
    return _stat(str(path))


def _stat(path: str) -> FolderStat:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_ino)


def folders_of(env_name: str, paths: Iterable[str]) -> set[str]:
    """Every folder holding one of `paths` (relative to rendered/), up to rendered/<env>."""
    folders = {env_name}
    for path in paths:
        folder = path.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def own_folder(env_name: str, endpoint: str) -> str:
    return f"{env_name}/{endpoint}"


@dataclass(frozen=True)
class Verification:
    dirty: frozenset[str] = frozenset()
    """Endpoints whose files on disk may not be what the cache says."""
    stray: tuple[str, ...] = ()
    """Files and folders in rendered/<env>/ that no endpoint or environment object owns."""
    shared: bool = False
    """Whether a folder that is no endpoint's own changed since knobless wrote it."""


def verify(rendered: Path, env_name: str, cache: EnvironmentCache) -> Verification:
    """Compare rendered/<env>/ with the cache: every endpoint's own folder by (mtime, inode); the
    shared folders likewise, and when one changed, its files by content."""
    base = f"{rendered}/{env_name}/"  # strings: pathlib costs more than the stat here
    dirty = {name for name, entry in cache.entries.items() if _stat(base + name) != entry.folder}
    changed = [f for f, stat in cache.folders.items() if folder_stat(rendered / f) != stat]
    if not changed:
        return Verification(frozenset(dirty))
    layout = _SharedLayout.of(env_name, cache)
    stray: list[str] = []
    for folder in sorted(changed):
        stray.extend(layout.compare(rendered, folder, dirty))
    return Verification(frozenset(dirty), tuple(stray), shared=True)


@dataclass(frozen=True)
class _SharedLayout:
    """What the cache says the shared folders of rendered/<env>/ hold."""

    owners: dict[str, str | None]
    """Each file an endpoint writes outside its own folder, by path: that endpoint (None: the
    environment's own files)."""
    expected: dict[str, str]
    """Each such file's digest, by path."""
    children: dict[str, set[str]]
    """The names each folder holds."""

    @classmethod
    def of(cls, env_name: str, cache: EnvironmentCache) -> _SharedLayout:
        owners: dict[str, str | None] = {}
        expected: dict[str, str] = {}
        for name, entry in cache.entries.items():
            for path, file_digest in entry.foreign.items():
                owners[path], expected[path] = name, file_digest
        for path, file_digest in cache.environment_files.items():
            owners[path], expected[path] = None, file_digest
        children: dict[str, set[str]] = {env_name: set(cache.entries)}
        for folder in [*expected, *cache.folders]:
            parent, _, name = folder.rpartition("/")
            if parent:
                children.setdefault(parent, set()).add(name)
        return cls(owners, expected, children)

    def compare(self, rendered: Path, folder: str, dirty: set[str]) -> list[str]:
        """The stray names in one changed folder; the endpoints whose files in it were changed
        or removed are added to `dirty`."""
        try:
            present = set(os.listdir(rendered / folder))
        except OSError:
            present = set()
        wanted = self.children.get(folder, set())
        for name in sorted(wanted & present):
            path = f"{folder}/{name}"
            owner = self.owners.get(path)
            if owner is not None and not _holds(rendered / path, self.expected[path]):
                dirty.add(owner)
        for name in sorted(wanted - present):
            owner = self.owners.get(f"{folder}/{name}")
            if owner is not None:
                dirty.add(owner)
        return [f"{folder}/{name}" for name in sorted(present - wanted)]


def _holds(file: Path, expected: str) -> bool:
    """Whether the file is there with the content of that digest."""
    try:
        return digest(file.read_bytes()) == expected
    except OSError:
        return False
