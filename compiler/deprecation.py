"""Deprecated parts of the plugin API: they keep working, and warn at the plugin's own line.

Each deprecated use warns with a KnoblessDeprecationWarning, a FutureWarning so that Python
shows it by default: whoever runs `knobless compile` with an old plugin sees it, not only the
plugin's tests. Python's warning registry shows each one once per line of the plugin, per
process. What is deprecated, since when and what to write instead: docs/contributing/plugins.md.
"""

from __future__ import annotations

import sys
import warnings


class KnoblessDeprecationWarning(FutureWarning):
    """A plugin uses a deprecated part of knobless' plugin API."""


def _outside_compiler() -> int:
    """The stack level of the first frame outside the compiler package and importlib: the
    plugin's line that used the deprecated name (`from compiler import X` passes through both)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        filename = frame.f_code.co_filename
        if "importlib" in filename and "_bootstrap" in filename:
            frame = frame.f_back  # type: ignore[assignment]
            continue  # warnings.warn skips these frames without counting them
        if module != "compiler" and not module.startswith(("compiler.", "importlib")):
            return level
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    return level


def warn_deprecated(message: str) -> None:
    warnings.warn(message, KnoblessDeprecationWarning, stacklevel=_outside_compiler())
