"""Scaler configuration: loop timings, vertical thresholds and the PromQL query templates
(plugins.apa.queries holds the defaults, shared with the compiler)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from plugins.apa.decision import VerticalConfig
from plugins.apa.errors import ConfigError
from plugins.apa.queries import (
    DEFAULT_QUERIES,
    GATEWAY_QUERIES,
    HORIZONTAL_SIGNAL,
    HORIZONTAL_SIGNALS,
    VERTICAL_SIGNALS,
    gateway_queries,
)

__all__ = [
    "DEFAULT_QUERIES",
    "GATEWAY_QUERIES",
    "HORIZONTAL_SIGNAL",
    "HORIZONTAL_SIGNALS",
    "VERTICAL_SIGNALS",
    "ConfigError",
    "ScalerConfig",
    "gateway_queries",
    "load_config",
]


@dataclass(frozen=True)
class ScalerConfig:
    queries: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_QUERIES))
    horizontal_interval_s: float = 1.0
    lag_s: float = 2.0  # evaluate at now - lag: scrapes for that instant have landed everywhere
    tick_offset_s: float = 0.05  # tick this long after each whole second, in every process
    query_timeout_s: float = 2.0
    vertical: VerticalConfig = field(default_factory=VerticalConfig)
    catchup_rounds: int = 5  # vertical rounds replayed after a gap; also the epoch of new objects
    evict_after_s: float = 3600.0  # forget ScaledObjects KEDA stopped asking about
    first_answer_wait_s: float = 3.0  # a new ScaledObject's first call waits this for a sample
    retry_s: float = 5.0  # a failed vertical round is retried at most this often
    history_s: float = 20.0  # horizontal instants kept (at least) to fill new windows from


_TOP_KEYS = {
    "queries": "queries",
    "intervalSeconds": "horizontal_interval_s",
    "lagSeconds": "lag_s",
    "tickOffsetSeconds": "tick_offset_s",
    "queryTimeoutSeconds": "query_timeout_s",
    "catchupRounds": "catchup_rounds",
    "evictAfterSeconds": "evict_after_s",
    "firstAnswerWaitSeconds": "first_answer_wait_s",
    "retrySeconds": "retry_s",
    "historySeconds": "history_s",
    "vertical": "vertical",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _vertical(raw: Any, source: str) -> VerticalConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: `vertical` must be a mapping")
    known = {_camel(f.name): f.name for f in fields(VerticalConfig)}
    known["intervalSeconds"] = "interval_s"
    known.pop(_camel("knee_memory_s"))
    known["kneeMemorySeconds"] = "knee_memory_s"
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{source}: unknown key `vertical.{key}` (known: {sorted(known)})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: `vertical.{key}` must be a number")
        values[known[key]] = value
    try:
        return VerticalConfig(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: `vertical`: {error}") from None


def _queries(raw: Any, source: str, key: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: `{key}` must be a mapping of signal name to PromQL")
    result = dict(DEFAULT_QUERIES)
    for name, expr in raw.items():
        if name not in DEFAULT_QUERIES:
            raise ConfigError(
                f"{source}: unknown signal `{key}.{name}` (known: {sorted(DEFAULT_QUERIES)})"
            )
        if not isinstance(expr, str) or not expr.strip():
            raise ConfigError(f"{source}: `{key}.{name}` must be a non-empty PromQL string")
        result[name] = expr
    return result


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ConfigError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}"
        ) from None


def load_config(config_path: Path | None = None, queries_path: Path | None = None) -> ScalerConfig:
    """Defaults, then `--config` (YAML, camelCase keys), then `--queries` (signal -> PromQL)."""
    values: dict[str, Any] = {}
    if config_path is not None:
        raw = _read(config_path) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{config_path}: must be a mapping")
        for key, value in raw.items():
            if key not in _TOP_KEYS:
                raise ConfigError(
                    f"{config_path}: unknown key `{key}` (known: {sorted(_TOP_KEYS)})"
                )
            if key == "queries":
                values["queries"] = _queries(value, str(config_path), key)
            elif key == "vertical":
                values["vertical"] = _vertical(value, str(config_path))
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{config_path}: `{key}` must be a number >= 0")
            else:
                values[_TOP_KEYS[key]] = value
    if queries_path is not None:
        # The environment's prometheus.queries (rendered into a ConfigMap): overrides by signal.
        overrides = _queries(_read(queries_path) or {}, str(queries_path), "queries")
        changed = {k: v for k, v in overrides.items() if v != DEFAULT_QUERIES[k]}
        values["queries"] = {**values.get("queries", DEFAULT_QUERIES), **changed}
    config = ScalerConfig(**values)
    if config.horizontal_interval_s <= 0 or config.vertical.interval_s <= 0:
        raise ConfigError("intervalSeconds and vertical.intervalSeconds must be > 0")
    return config
