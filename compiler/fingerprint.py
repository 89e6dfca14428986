"""The code that shapes compile output: what the compile cache fingerprints (compiler.cache).

Not every file of the repository's packages: the APA scaler and simulator, the Argo CD client,
the review tools and the images commands never run in a compile, and an edit to them must not
turn the next compile into a full one. What runs is found by following imports, statically:
from the compile command and from every plugin that implements a compile hook (a plugin that
only adds commands, such as `knobless scaler`, cannot shape output), through every `import` and
`from ... import` in those files (inside functions and `if TYPE_CHECKING:` too: following too
much only costs a full compile, following too little would reuse stale output), within the
packages the roots belong to. Third-party libraries are covered by their versions (cache.py).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import pluggy

COMPILE_ROOTS = ("compiler.commands.compile", "compiler.commands.validate", "compiler.plugins")
"""The compiler's modules a compile starts from (validate: the lint stage it shares)."""

COMMAND_HOOKS = frozenset({"knobless_add_commands"})
"""Hooks that add commands: a plugin implementing only these takes no part in a compile."""

_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(?P<base>\.*[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#;]*)"
    r"|import[ \t]+(?P<modules>[^\n#;]+))",
    re.MULTILINE,
)


class _Modules:
    """Module name -> source file, for the top-level packages being followed."""

    def __init__(self, tops: Iterable[str]) -> None:
        self.bases: dict[str, Path] = {}
        """Top-level name -> its package folder, or its file for a single-module top level."""
        for top in tops:
            module = sys.modules.get(top)
            file = getattr(module, "__file__", None)
            if file is not None:
                path = Path(file)
                self.bases[top] = path.parent if path.name == "__init__.py" else path

    def file(self, name: str) -> Path | None:
        top, _, rest = name.partition(".")
        base = self.bases.get(top)
        if base is None:
            return None
        if base.suffix == ".py":
            return base if not rest else None
        folder = base.joinpath(*rest.split(".")) if rest else base
        for candidate in (folder / "__init__.py", folder.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def with_parents(self, name: str) -> list[str]:
        """`a.b.c` -> a, a.b, a.b.c: importing a module runs its packages' __init__ first."""
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _package_of(name: str, file: Path) -> str:
    return name if file.name == "__init__.py" else name.rpartition(".")[0]


def _imported(name: str, file: Path, text: str) -> set[str]:
    """Absolute names of the modules (or attributes of modules) `text` may import."""
    found: set[str] = set()
    for match in _IMPORT.finditer(text):
        if match["modules"] is not None:
            for part in match["modules"].split(","):
                found.add(part.split(" as ")[0].strip())
            continue
        base = match["base"]
        if base.startswith("."):
            dots = len(base) - len(base.lstrip("."))
            package = _package_of(name, file).split(".")
            anchor = ".".join(package[: len(package) - dots + 1])
            base = f"{anchor}.{base.lstrip('.')}".rstrip(".")
        found.add(base)
        for part in match["names"].strip("()").split(","):
            item = part.split(" as ")[0].strip()
            if item and item != "*":
                found.add(f"{base}.{item}")  # `from pkg import module`; dropped if no file
    return {n for n in found if n and all(p.isidentifier() for p in n.split("."))}


def output_files(roots: Iterable[str], tops: Iterable[str]) -> set[Path]:
    """Source files of `roots` and of everything they import within the `tops` packages."""
    modules = _Modules(tops)
    seen: set[str] = set()
    files: set[Path] = set()
    pending = [parent for root in roots for parent in modules.with_parents(root)]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        file = modules.file(name)
        if file is None:
            continue
        files.add(file)
        for imported in _imported(name, file, file.read_text(encoding="utf-8")):
            pending.extend(p for p in modules.with_parents(imported) if p not in seen)
    return files


def compile_code(manager: pluggy.PluginManager) -> set[Path] | None:
    """Every source file a compile with these plugins runs; None when a plugin that takes part
    is not a module (its code cannot be found, so nothing may be cached)."""
    roots = list(COMPILE_ROOTS)
    for plugin in manager.get_plugins():
        hooks = {caller.name for caller in manager.get_hookcallers(plugin) or ()}
        if hooks <= COMMAND_HOOKS:
            continue
        if not isinstance(plugin, ModuleType):
            return None
        roots.append(plugin.__name__)
    tops = {root.split(".", 1)[0] for root in roots}
    return output_files(roots, tops)
