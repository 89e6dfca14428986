"""knobless: a declarative GitOps compiler for ML model serving.

The public API for plugin authors and tools; everything else is internal.
"""

from compiler.context import (
    EndpointContext,
    EnvironmentContext,
    Resources,
    RuntimeChoice,
    ServedContext,
)
from compiler.diagnostics import Diagnostic, Severity
from compiler.errors import InputError, KnoblessError, StaleOutputError, UsageError
from compiler.hookspecs import hookimpl
from compiler.manifest import Manifest

__all__ = [
    "Diagnostic",
    "EndpointContext",
    "EnvironmentContext",
    "InputError",
    "KnoblessError",
    "Manifest",
    "Resources",
    "RuntimeChoice",
    "ServedContext",
    "Severity",
    "StaleOutputError",
    "UsageError",
    "hookimpl",
]
