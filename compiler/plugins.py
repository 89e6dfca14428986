"""Building the plugin manager: built-ins, entry points and repo-local plugins, all alike.

Built-in features are ordinary plugins listed in BUILTIN_PLUGINS and registered exactly like
third-party ones. A fresh manager is built for every run; nothing here is module-level state
except constant names.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from compiler import hookspecs
from compiler.diagnostics import Diagnostic
from compiler.errors import InputError

ENTRY_POINT_GROUP = "knobless.plugins"

BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    # (plugin name, module); the name is what `block` refers to.
    ("knobless.autoscaling", "plugins.autoscaling"),
    ("knobless.apa", "plugins.apa.cli"),
    ("knobless.runtimes", "plugins.runtimes"),
    ("knobless.images", "plugins.images"),
    ("knobless.namespace", "plugins.namespace"),
    ("knobless.serviceaccount", "plugins.serviceaccount"),
    ("knobless.networkpolicy", "plugins.networkpolicy"),
    ("knobless.workload", "plugins.workload.deployment"),
    ("knobless.service", "plugins.workload.service"),
    ("knobless.pdb", "plugins.workload.pdb"),
    ("knobless.observability", "plugins.observability"),
    ("knobless.podmonitor", "plugins.podmonitor"),
    ("knobless.httproute", "plugins.httproute"),
    ("knobless.argocd", "plugins.argocd"),
    ("knobless.lint.calls", "plugins.lint.calls"),
    ("knobless.lint.capacity", "plugins.lint.capacity"),
    ("knobless.lint.coldstart", "plugins.lint.coldstart"),
    ("knobless.lint.environment", "plugins.lint.environment"),
    ("knobless.lint.envoygateway", "plugins.lint.envoygateway"),
    ("knobless.lint.ownership", "plugins.lint.ownership"),
    ("knobless.lint.schedule", "plugins.lint.schedule"),
    ("knobless.lint.traffic", "plugins.lint.traffic"),
    ("knobless.schemacheck", "plugins.schemacheck"),
    ("knobless.simulate", "plugins.apa.simulator.cli"),
    ("knobless.forecast", "plugins.apa.forecast_command"),
)

DEFAULT_PRIORITY = 100
"""Plugins run in (PRIORITY, name) order; a module sets `PRIORITY` to run earlier (lower)."""


def plugin_priority(plugin: object) -> int:
    return int(getattr(plugin, "PRIORITY", DEFAULT_PRIORITY))


def _entry_point_plugins() -> list[tuple[str, ModuleType | Any]]:
    found = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.append((entry_point.name, entry_point.load()))
    return found


def _import_local(module: str, root: Path, config_path: str) -> ModuleType:
    root_text = str(root.resolve())
    if root_text not in sys.path:
        sys.path.insert(0, root_text)
    try:
        return importlib.import_module(module)
    except Exception as error:  # a broken plugin is the user's input: report, do not crash
        raise InputError(
            [Diagnostic(config_path, 0, 0, f"cannot import plugin `{module}`: {error}")]
        ) from None


def build_plugin_manager(
    *,
    root: Path | None = None,
    local: Sequence[str] = (),
    blocked: Iterable[str] = (),
    entry_points: bool = True,
    extra: Sequence[tuple[str, object]] = (),
    config_path: str = "knobless.toml",
) -> pluggy.PluginManager:
    """A new PluginManager with every hook spec and every enabled plugin, in (priority, name) order.

    `local` are importable module names from the repository (`plugins` in knobless.toml),
    `blocked` plugin names not to register, `extra` (name, plugin) pairs (tests).
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    blocked_names = set(blocked)
    candidates: list[tuple[str, object]] = []
    for name, module in BUILTIN_PLUGINS:
        if name not in blocked_names:
            candidates.append((name, importlib.import_module(module)))
    if entry_points:
        candidates.extend(p for p in _entry_point_plugins() if p[0] not in blocked_names)
    for module_name in local:
        if module_name not in blocked_names:
            candidates.append(
                (module_name, _import_local(module_name, root or Path.cwd(), config_path))
            )
    candidates.extend(p for p in extra if p[0] not in blocked_names)
    # pluggy calls the last registered first: register in reverse so calls go in (priority, name).
    for name, plugin in sorted(
        candidates, key=lambda p: (plugin_priority(p[1]), p[0]), reverse=True
    ):
        manager.register(plugin, name=name)
    return manager


def ordered_plugins(manager: pluggy.PluginManager) -> list[tuple[str, object]]:
    """(name, plugin) in the order knobless runs them: priority, then name."""
    pairs = [(manager.get_name(p) or "", p) for p in manager.get_plugins()]
    return sorted(pairs, key=lambda p: (plugin_priority(p[1]), p[0]))
