"""Optional extras: commands whose dependencies the compiler does not need.

    pip install knobless               compile, validate, diff, explain, schema, images, argocd
    pip install 'knobless[scaler]'     + `knobless scaler` (grpcio, protobuf, prometheus-client)
    pip install 'knobless[simulate]'   + `knobless simulate` (numpy, matplotlib)

A command calls `require_extra` before importing them, so a missing one is a one-line message
naming the extra, not an ImportError's traceback.
"""

from __future__ import annotations

import importlib.util

from compiler.errors import MissingExtraError

EXTRAS: dict[str, tuple[str, ...]] = {
    "scaler": ("grpc", "grpc_health", "google.protobuf", "prometheus_client"),
    "simulate": ("numpy", "matplotlib"),
}
"""The modules of each extra (pyproject.toml's [project.optional-dependencies])."""


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        return True


def require_extra(extra: str, command: str) -> None:
    """MissingExtraError when a module of `extra` cannot be imported."""
    missing = [module for module in EXTRAS[extra] if _missing(module)]
    if missing:
        raise MissingExtraError(
            f"`knobless {command}` needs the optional dependencies of knobless[{extra}] "
            f"({', '.join(missing)} not installed): pip install 'knobless[{extra}]'"
        )
