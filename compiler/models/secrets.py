"""Heuristics for credentials pasted as plain values: a reviewer would catch them, so do we."""

from __future__ import annotations

import math
import re
from collections import Counter

_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH)", re.I
)
_SECRET_SHAPES = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),  # GitHub token
    re.compile(r"\bsk-[A-Za-z0-9_-]{20,}\b"),  # OpenAI-style API key
    re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b"),  # Slack token
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # JWT
    re.compile(r"://[^/\s:@]+:[^/\s@]+@"),  # credentials inside a URL
)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def looks_like_secret(name: str, value: str) -> bool:
    """True when `value` is likely a credential: a known token shape anywhere, or a
    secret-sounding variable name holding a long high-entropy string."""
    if any(shape.search(value) for shape in _SECRET_SHAPES):
        return True
    if _SECRET_NAME.search(name) and len(value) >= 8 and " " not in value:
        # A URL or a path under a secret-sounding name is configuration, not a secret.
        if "/" in value and not value.startswith("-"):
            return False
        return _entropy(value) >= 3.0
    return False
