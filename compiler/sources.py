"""1. load: the repository's endpoint and environment files read (and parsed on first use),
before resolution: what the compile pipeline (compiler.pipeline) starts from and the compile
cache keys on."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from compiler.diagnostics import Diagnostic
from compiler.environments import EnvironmentSource, Evaluations, load_environment
from compiler.errors import InputError, UsageError
from compiler.images.lock import ImageLock, load_lock
from compiler.loader import LoadedYaml, load_yaml, read_text
from compiler.models.crossfield import did_you_mean
from compiler.models.environment import Environment

ENDPOINTS_DIR = "endpoints"
ENVIRONMENTS_DIR = "environments"


@dataclass(frozen=True)
class Sources:
    """Everything loaded from the repository, before resolution."""

    endpoints: dict[str, LoadedYaml]
    """Parsed endpoint files by name (all of them, unless an incremental compile skipped some)."""
    environments: dict[str, tuple[Environment, EnvironmentSource]]
    problems: tuple[Diagnostic, ...] = ()
    """Files that could not be loaded; resolution goes on with the rest so every problem shows."""
    texts: dict[str, EndpointText] = field(default_factory=dict)
    """Every endpoint file as read, by name."""

    @property
    def names(self) -> list[str]:
        """Every endpoint of the repository, parsed or not."""
        return sorted(self.texts.keys() | self.endpoints.keys())

    def endpoint(self, name: str) -> LoadedYaml:
        """The parsed endpoint file, parsing it now if it was skipped."""
        if name not in self.endpoints:
            self.endpoints[name] = parse_endpoint(self.texts[name])
        return self.endpoints[name]


def endpoint_file_names(root: Path) -> list[str]:
    """The endpoint files' names, sorted (strings: listing 10,000 of them as pathlib objects
    costs more than the listing)."""
    try:
        with os.scandir(os.path.join(root, ENDPOINTS_DIR)) as entries:
            return sorted(
                e.name
                for e in entries
                if e.name.endswith((".yaml", ".yml")) and not e.name.startswith(".")
            )
    except OSError:
        return []


def endpoint_files(root: Path) -> list[Path]:
    return [root / ENDPOINTS_DIR / name for name in endpoint_file_names(root)]


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
        hint = did_you_mean(unknown[0], by_name)
        raise UsageError(
            f"unknown environment `{unknown[0]}`{hint} (available: {', '.join(sorted(by_name))})"
        )
    return [by_name[name] for name in sorted(set(wanted))]


Stamp = tuple[int, int, int]
"""(mtime_ns, size, inode) of a file: unchanged stamp, unchanged file (as git's index assumes)."""

TRUSTED_AGE_NS = 2_000_000_000
"""A stamp is trusted only for a file last modified this long before it was looked at: a change
within the same timestamp tick as the recorded mtime could otherwise go unseen (git's "racy"
files); 2 s covers file systems with coarse timestamps."""


class EndpointText:
    """An endpoint file as read, before parsing: what the compile cache keys on. When the cache
    vouches for a file (its stamp is unchanged), it is not read until something needs its text.
    Paths are kept as strings: a compile with nothing to do looks at every endpoint file, and
    pathlib objects cost more than the stat."""

    __slots__ = ("_path", "_text", "digest", "display", "stamp")

    def __init__(
        self, path: str, display: str, digest: str, text: str | None, stamp: Stamp | None
    ) -> None:
        self._path = path
        self.display = display
        """Path relative to the repository root, as printed in diagnostics."""
        self.digest = digest
        """Hash of the exact text that is parsed."""
        self._text = text
        self.stamp = stamp
        """The file's stamp when it was read, if old enough to be trusted next time."""

    @property
    def file(self) -> Path:
        return Path(self._path)

    @property
    def text(self) -> str:
        if self._text is None:
            text = read_text(self.file, self.display)
            if text_digest(text) != self.digest:
                raise InputError(
                    [Diagnostic(self.display, 0, 0, "changed during the compile; run it again")]
                )
            self._text = text
        return self._text


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _stamp(path: str) -> tuple[Stamp, bool]:
    """The file's stamp, and whether it is old enough to be trusted."""
    now = time.time_ns()
    stat = os.stat(path)
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino), stat.st_mtime_ns < now - TRUSTED_AGE_NS


def read_endpoint(
    root: Path, file: Path | str, known: Mapping[str, tuple[Stamp, str]] | None = None
) -> EndpointText:
    """An endpoint file's text, or only its digest when `known` (display path -> (stamp,
    digest) from the compile cache) has the file with the same stamp."""
    path, prefix = str(file), f"{root}{os.sep}"
    display = path[len(prefix) :] if path.startswith(prefix) else os.path.relpath(path, root)
    display = display.replace(os.sep, "/")
    try:
        stamp, trusted = _stamp(path)
    except OSError:
        stamp, trusted = (0, 0, 0), False
    if known is not None and trusted and display in known and known[display][0] == stamp:
        return EndpointText(path, display, known[display][1], None, stamp)
    text = read_text(Path(path), display)
    return EndpointText(path, display, text_digest(text), text, stamp if trusted else None)


def parse_endpoint(source: EndpointText) -> LoadedYaml:
    display, file = source.display, source.file
    loaded = load_yaml(source.text, display)
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


def load_endpoint(root: Path, file: Path) -> LoadedYaml:
    return parse_endpoint(read_endpoint(root, file))


def read_endpoints(
    root: Path, known: Mapping[str, tuple[Stamp, str]] | None = None
) -> tuple[dict[str, EndpointText], list[Diagnostic]]:
    """Every endpoint file's text by endpoint name, and the files that could not be read."""
    problems: list[Diagnostic] = []
    texts: dict[str, EndpointText] = {}
    directory = os.path.join(root, ENDPOINTS_DIR)
    for filename in endpoint_file_names(root):
        stem = filename.rpartition(".")[0]
        try:
            source = read_endpoint(root, os.path.join(directory, filename), known)
        except InputError as error:
            problems.extend(error.diagnostics)
            continue
        if stem in texts:
            problems.append(_defined_twice(stem, texts[stem].display, source.display))
            continue
        texts[stem] = source
    return texts, problems


def _defined_twice(name: str, first: str, second: str) -> Diagnostic:
    return Diagnostic(
        second, 1, 1, f"endpoint `{name}` is defined twice: {first} and {second}; remove one"
    )


def load_environments(
    root: Path, environments: Sequence[str] | None, memo: Evaluations | None = None
) -> tuple[dict[str, tuple[Environment, EnvironmentSource]], list[Diagnostic]]:
    problems: list[Diagnostic] = []
    loaded: dict[str, tuple[Environment, EnvironmentSource]] = {}
    try:
        lock = load_lock(root)
    except InputError as error:
        problems.extend(error.diagnostics)
        lock = ImageLock()
    for file in select_environments(root, environments):
        try:
            environment, source = load_environment(root, file, memo)
        except InputError as error:
            problems.extend(error.diagnostics)
            continue
        loaded[file.stem] = environment, replace(source, locked=lock.environment(file.stem))
    return loaded, problems


def load(
    root: Path,
    environments: Sequence[str] | None,
    *,
    known: Mapping[str, tuple[Stamp, str]] | None = None,
    memo: Evaluations | None = None,
) -> Sources:
    """Read every endpoint and environment file. Endpoints are parsed on first use (see
    Sources.endpoint; `parse_all` parses them all now). `known`: see read_endpoint; `memo`: see
    compiler.environments.evaluate."""
    loaded_environments, environment_problems = load_environments(root, environments, memo)
    texts, problems = read_endpoints(root, known)
    return Sources({}, loaded_environments, (*problems, *environment_problems), texts=texts)


def parse_all(sources: Sources) -> Sources:
    """Sources with every endpoint file parsed, and the problems of those that do not parse."""
    problems = list(sources.problems)
    for name in sources.texts:
        try:
            sources.endpoint(name)
        except InputError as error:
            problems.extend(error.diagnostics)
    return replace(sources, problems=tuple(problems))
