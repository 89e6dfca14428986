"""Repository settings: the optional `knobless.toml` at the repository root.

# knobless.toml
plugins = ["local_plugins.cost_center"]   # modules importable from the repository root
block = ["knobless.observability"]        # plugin names not to run (built-in or third-party)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from compiler.diagnostics import Diagnostic
from compiler.errors import InputError

CONFIG_FILE = "knobless.toml"


@dataclass(frozen=True)
class RepositoryConfig:
    plugins: tuple[str, ...] = ()
    block: tuple[str, ...] = ()


def _string_list(data: dict[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError([Diagnostic(CONFIG_FILE, 0, 0, f"`{key}` must be a list of strings")])
    return tuple(value)


def load_config(root: Path) -> RepositoryConfig:
    path = root / CONFIG_FILE
    if not path.is_file():
        return RepositoryConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's message ends with "(at line L, column C)"; keep the text, drop nothing.
        raise InputError([Diagnostic(CONFIG_FILE, 0, 0, f"invalid TOML: {error}")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError([Diagnostic(CONFIG_FILE, 0, 0, f"cannot read: {error}")]) from None
    unknown = sorted(set(data) - {"plugins", "block"})
    if unknown:
        raise InputError(
            [
                Diagnostic(
                    CONFIG_FILE, 0, 0, f"unknown setting `{unknown[0]}` (known: plugins, block)"
                )
            ]
        )
    return RepositoryConfig(
        plugins=_string_list(data, "plugins"), block=_string_list(data, "block")
    )
