"""Names and labels shared by the rendered Applications and the `knobless argocd` CLI.

The renderer (plugins/argocd) writes them and the CLI selects by them, so both import from here.
"""

from __future__ import annotations

import re

LABEL_PREFIX = "knobless.dev/"
ENV_LABEL = "knobless.dev/env"
"""Environment name; the CLI lists an environment's apps with `?selector=knobless.dev/env=<env>`."""
ENDPOINT_LABEL = "knobless.dev/endpoint"
OWNER_LABEL = "knobless.dev/owner"
"""The endpoint owner, sanitised to a label value (the exact text is in OWNER_ANNOTATION)."""
OWNER_ANNOTATION = "knobless.dev/owner"
COMPONENT_LABEL = "knobless.dev/component"
"""`endpoint`, `platform` or `root`."""

ROOT = "root"
PLATFORM = "platform"

_INVALID = re.compile(r"[^A-Za-z0-9_.-]+")
_EDGES = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")


def application_name(env_name: str, endpoint: str) -> str:
    """`<env>-<endpoint>`: the Argo CD Application of one endpoint."""
    return f"{env_name}-{endpoint}"


def root_name(env_name: str) -> str:
    return f"{env_name}-{ROOT}"


def platform_name(env_name: str) -> str:
    return f"{env_name}-{PLATFORM}"


def env_selector(env_name: str) -> str:
    return f"{ENV_LABEL}={env_name}"


def label_value(text: str) -> str:
    """`text` as a valid label value: runs of other characters become `_`, at most 63 characters,
    starting and ending alphanumeric ("risk@example.com" -> "risk_example.com")."""
    value = _EDGES.sub("", _INVALID.sub("_", text))
    return _EDGES.sub("", value[:63])
