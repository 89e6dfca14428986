"""knobless: a declarative GitOps compiler for ML model serving.

The public API for plugin authors and tools; everything else is internal. Names load on first
use (PEP 562): `from compiler import hookimpl` costs pluggy, not the models (pydantic), and a
process that only needs `compiler.errors` (the scaler's) imports nothing else.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compiler.context import (  # noqa: F401 (EnvironmentContext: deprecated, not in __all__)
        EndpointContext,
        EnvironmentContext,
        Origin,
        Resources,
        RuntimeChoice,
        ServedContext,
    )
    from compiler.diagnostics import Diagnostic, Severity
    from compiler.errors import (
        InputError,
        KnoblessError,
        MissingExtraError,
        StaleOutputError,
        UsageError,
    )
    from compiler.hookspecs import hookimpl
    from compiler.manifest import Manifest
    from compiler.models.environment import Environment
    from compiler.review.lint import LintRule
    from compiler.summary import EndpointSummary, ServedSummary

_PUBLIC: dict[str, str] = {
    "Diagnostic": "compiler.diagnostics",
    "EndpointContext": "compiler.context",
    "EndpointSummary": "compiler.summary",
    "Environment": "compiler.models.environment",
    "InputError": "compiler.errors",
    "KnoblessError": "compiler.errors",
    "LintRule": "compiler.review.lint",
    "Manifest": "compiler.manifest",
    "MissingExtraError": "compiler.errors",
    "Origin": "compiler.context",
    "Resources": "compiler.context",
    "RuntimeChoice": "compiler.context",
    "ServedContext": "compiler.context",
    "ServedSummary": "compiler.summary",
    "Severity": "compiler.diagnostics",
    "StaleOutputError": "compiler.errors",
    "UsageError": "compiler.errors",
    "hookimpl": "compiler.hookspecs",
}
"""Public name -> the module that defines it (the same names as __all__)."""

_DEPRECATED: dict[str, str] = {"EnvironmentContext": "compiler.context"}
"""Names that still import, with a warning each time (compiler.deprecation); not in __all__."""

__all__ = [
    "Diagnostic",
    "EndpointContext",
    "EndpointSummary",
    "Environment",
    "InputError",
    "KnoblessError",
    "LintRule",
    "Manifest",
    "MissingExtraError",
    "Origin",
    "Resources",
    "RuntimeChoice",
    "ServedContext",
    "ServedSummary",
    "Severity",
    "StaleOutputError",
    "UsageError",
    "hookimpl",
]


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        return getattr(importlib.import_module(_DEPRECATED[name]), name)  # warns, every time
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'compiler' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
