"""The compile cache: what each endpoint compiled to, keyed by everything it was compiled from.

An endpoint's output in one environment is a function of its file's text, the environment (its
jsonnet sources and evaluated value), `knobless.toml`, `--strict`, and the code that compiles it:
the compiler, every plugin's source, the CRD schemas and the versions of the libraries that shape
output. The cache keys each endpoint by a hash of exactly those, so an entry can only be reused
when a full compile would produce the same bytes; anything it cannot fingerprint (a plugin that
is not a module) turns the cache off rather than risk stale output.

One JSON file per environment, `.knobless/cache/<env>.json` (gitignored), written atomically
after rendered/ is. It also records the modification time and inode of every folder of
rendered/<env>/ as knobless left it: a folder that changed since (a git checkout, a file added
or deleted by hand) has its files read and compared, and the endpoints they belong to are
compiled again. A file edited in place without touching its folder is not noticed by `compile`
(the header says "Do not edit"); `compile --check`, which CI runs, reads every file.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pluggy

from compiler.diagnostics import Diagnostic, Severity
from compiler.environments import EnvironmentSource
from compiler.summary import EndpointSummary

VERSION = 1
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


def _source_files(module: ModuleType) -> list[Path]:
    """Every .py file of the top-level package (or the single module) a module belongs to."""
    top = sys.modules.get(module.__name__.split(".", 1)[0], module)
    file = getattr(top, "__file__", None)
    if file is None:
        return []
    path = Path(file)
    if path.name == "__init__.py":
        return sorted(path.parent.rglob("*.py"))
    return [path]


def code_fingerprint(manager: pluggy.PluginManager) -> str | None:
    """A hash of the code that compiles: knobless, every registered plugin's package, the CRD
    schemas, library versions. None when a plugin cannot be fingerprinted (not a module)."""
    import compiler
    from compiler.schemacheck import CRD_SCHEMA_DIR

    files: set[Path] = set(_source_files(compiler))
    for plugin in manager.get_plugins():
        if not isinstance(plugin, ModuleType):
            return None
        files.update(_source_files(plugin))
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
    return hasher.hexdigest()


def endpoint_key(environment: str, display: str, text_digest: str) -> str:
    return digest(f"{environment}\n{display}\n{text_digest}".encode())


# -- the cache of one environment --------------------------------------------------------------------


def _diagnostic_to_json(d: Diagnostic) -> list[Any]:
    return [d.path, d.line, d.col, d.message, d.severity.value, d.rule]


def _diagnostic_from_json(row: list[Any]) -> Diagnostic:
    path, line, col, message, severity, rule = row
    return Diagnostic(path, line, col, message, Severity(severity), rule)


@dataclass
class Entry:
    """One endpoint's output in one environment."""

    key: str
    files: dict[str, str]
    """Digest of each rendered file, by path relative to rendered/."""
    warnings: tuple[Diagnostic, ...]
    summary: EndpointSummary


@dataclass
class EnvironmentCache:
    fingerprint: str
    entries: dict[str, Entry] = field(default_factory=dict)
    environment_files: dict[str, str] = field(default_factory=dict)
    """Digest of each environment-wide file (platform objects), by path relative to rendered/."""
    folders: dict[str, tuple[int, int]] = field(default_factory=dict)
    """(mtime_ns, inode) of every folder of rendered/<env>/ as knobless left it."""

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "version": VERSION,
                "fingerprint": self.fingerprint,
                "endpoints": {
                    name: {
                        "key": entry.key,
                        "files": entry.files,
                        "warnings": [_diagnostic_to_json(d) for d in entry.warnings],
                        "summary": entry.summary.to_json(),
                    }
                    for name, entry in sorted(self.entries.items())
                },
                "environment": self.environment_files,
                "folders": self.folders,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> EnvironmentCache | None:
        try:
            raw = orjson.loads(data)
            if raw.get("version") != VERSION:
                return None
            return cls(
                raw["fingerprint"],
                {
                    name: Entry(
                        item["key"],
                        item["files"],
                        tuple(_diagnostic_from_json(row) for row in item["warnings"]),
                        EndpointSummary.from_json(item["summary"]),
                    )
                    for name, item in raw["endpoints"].items()
                },
                raw["environment"],
                {folder: (stat[0], stat[1]) for folder, stat in raw["folders"].items()},
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return None  # a damaged cache is no cache


def load_cache(root: Path, environment: str) -> EnvironmentCache | None:
    try:
        data = (cache_dir(root) / f"{environment}.json").read_bytes()
    except OSError:
        return None
    return EnvironmentCache.from_bytes(data)


def save_cache(root: Path, environment: str, cache: EnvironmentCache) -> None:
    """Written to a temporary file and renamed: a reader sees the old or the new cache."""
    directory = cache_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory.parent / ".gitignore"
    if directory.parent != root and not ignore.exists():
        ignore.write_text("# knobless compile cache: local, never committed\n*\n")
    handle, temporary = tempfile.mkstemp(prefix=f".{environment}.", dir=directory)
    with os.fdopen(handle, "wb") as file:
        file.write(cache.to_bytes())
    os.replace(temporary, directory / f"{environment}.json")


def drop_cache(root: Path, environment: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (cache_dir(root) / f"{environment}.json").unlink()


# -- folders of rendered/<env>/ ---------------------------------------------------------------------


def folder_stat(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_ino)


def folders_of(environment: str, paths: Iterable[str]) -> set[str]:
    """Every folder holding one of `paths` (relative to rendered/), up to rendered/<env>."""
    folders = {environment}
    for path in paths:
        folder = path.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def record_folders(rendered: Path, folders: Iterable[str]) -> dict[str, tuple[int, int]]:
    recorded = {}
    for folder in folders:
        stat = folder_stat(rendered / folder)
        if stat is not None:
            recorded[folder] = stat
    return recorded


@dataclass(frozen=True)
class Verification:
    dirty: frozenset[str]
    """Endpoints whose files on disk are not what the cache says."""
    stray: tuple[str, ...]
    """Files and folders in rendered/<env>/ that no endpoint or environment object owns."""
    changed_folders: frozenset[str]


def verify(rendered: Path, environment: str, cache: EnvironmentCache) -> Verification:
    """Compare rendered/<env>/ with the cache: folders by (mtime, inode), and the files of the
    folders that changed by content."""
    changed = {
        folder
        for folder, recorded in cache.folders.items()
        if folder_stat(rendered / folder) != recorded
    }
    if not changed:
        return Verification(frozenset(), (), frozenset())
    owners: dict[str, str | None] = {}
    expected: dict[str, str] = {}
    for name, entry in cache.entries.items():
        for path, file_digest in entry.files.items():
            owners[path], expected[path] = name, file_digest
    for path, file_digest in cache.environment_files.items():
        owners[path], expected[path] = None, file_digest
    children: dict[str, set[str]] = {}
    for path in expected:
        folder, _, name = path.rpartition("/")
        children.setdefault(folder, set()).add(name)
    for folder in cache.folders:
        parent, _, name = folder.rpartition("/")
        if parent:
            children.setdefault(parent, set()).add(name)
    dirty: set[str] = set()
    stray: list[str] = []
    for folder in sorted(changed):
        wanted = children.get(folder, set())
        try:
            present = set(os.listdir(rendered / folder))
        except OSError:
            present = set()
        for name in sorted(present - wanted):
            stray.append(f"{folder}/{name}")
        for name in sorted(wanted):
            path = f"{folder}/{name}"
            if path not in expected:
                continue  # a sub-folder: checked as a folder of its own
            try:
                same = digest((rendered / path).read_bytes()) == expected[path]
            except OSError:
                same = False
            owner = owners[path]
            if not same and owner is not None:
                dirty.add(owner)
            elif not same:
                dirty.add("")  # an environment-wide file: rewritten anyway
    return Verification(frozenset(dirty - {""}), tuple(stray), frozenset(changed))
