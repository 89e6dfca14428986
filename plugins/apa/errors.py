"""The APA scaler's error tree. The scaler is a service of its own: it shares the trigger
metadata and the default queries with the compiler (plugins.apa.metadata, plugins.apa.queries),
not its errors, so that its processes never import the compiler.

    ScalerError            root: every error the scaler reports to an operator
    ├── ConfigError        --config / --queries: unreadable, a bad key or value (config.py)
    └── StateError         --state: unreadable or not a scaler state file (state.py)

`knobless scaler` (cli.py) maps them to the compiler's errors at the command's boundary, so the
CLI prints a message, never a traceback.
"""

from __future__ import annotations


class ScalerError(Exception):
    """Root of the scaler's errors."""


class ConfigError(ScalerError):
    """The scaler's --config/--queries file is unreadable or has a bad key."""


class StateError(ScalerError):
    """The --state file cannot be read or is not a scaler state file."""
