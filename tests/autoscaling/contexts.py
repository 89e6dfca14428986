"""EndpointContexts for the example endpoints in every example environment, via the compiler.

The lead's loader, jsonnet evaluation and layered resolve build the contexts exactly as
`knobless compile` does; the plugin manager holds only the runtime plugin (runtime selection),
so these tests do not depend on every other plugin being importable.
`load_environment(name, **changes)` lays extra blocks over an example environment (TLS on...).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pluggy
import yaml

import plugins.runtimes
from compiler import hookspecs
from compiler.context import EndpointContext
from compiler.environments import EnvironmentSource
from compiler.environments import load_environment as load_environment_file
from compiler.loader import load_yaml
from compiler.models.environment import Environment
from compiler.resolve import resolve_endpoint

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT_NAMES = tuple(sorted(p.stem for p in (ROOT / "endpoints").glob("*.yaml")))
ENVIRONMENT_NAMES = tuple(sorted(p.stem for p in (ROOT / "environments").glob("*.jsonnet")))


def merge(base: Any, layer: Any) -> Any:
    if isinstance(base, dict) and isinstance(layer, dict):
        merged = dict(base)
        for key, value in layer.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return layer


@cache
def _environment(name: str) -> tuple[Environment, EnvironmentSource]:
    return load_environment_file(ROOT, ROOT / "environments" / f"{name}.jsonnet")


def load_environment(name: str, **changes: Any) -> Environment:
    """The example environment, with top-level blocks merged from `changes` (e.g. scaler=...)."""
    environment, _ = _environment(name)
    if not changes:
        return environment
    data = merge(environment.model_dump(mode="json", exclude_unset=True), changes)
    return Environment.model_validate(data)


def _manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(plugins.runtimes, name="knobless.runtimes")
    return manager


def endpoint_context(
    name: str, environment: Environment, data: dict[str, Any] | None = None
) -> EndpointContext:
    """Resolve one endpoint (the example file, or `data`) in `environment`."""
    path = f"endpoints/{name}.yaml"
    text = (ROOT / path).read_text() if data is None else yaml.safe_dump(data, sort_keys=False)
    _, source = _environment(environment.name)
    return resolve_endpoint(load_yaml(text, path), environment, source, _manager())


def all_contexts(environment: Environment) -> list[EndpointContext]:
    return [
        endpoint_context(name, environment)
        for name in ENDPOINT_NAMES
        if name not in environment.exclude
    ]
