"""Readable problems from a failed validation.

The compiled validator only gives a verdict (fast, and it stops at the first error). When it says
"invalid", the same bundled schema is run through jsonschema, which finds every error with its
exact data path; each becomes a SchemaProblem that names the field and what was expected.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match


@dataclass(frozen=True, order=True)
class SchemaProblem:
    """One way an object fails its schema."""

    path: str
    """JSON path of the offending value, e.g. `spec.template.spec.containers[0].image`."""
    message: str
    """What is wrong and what was expected."""
    schema: str = ""
    """Which schema said so: `Kubernetes 1.33` or `schemas/crds/<file>.schema.json`."""


ROOT = "(root)"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_MAX_SHOWN = 60


def format_path(parts: Iterable[Any]) -> str:
    """`spec.containers[0].image`; keys that are not identifiers are quoted: `labels["a.b/c"]`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(str(part))}]"
    return text or ROOT


def _json(value: Any) -> str:
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {_json(value)}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {_json(value)}"
    if isinstance(value, str):
        return f"string {_json(value)}"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return f"Python {type(value).__name__}"


def describe_types(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    if len(names) > 1 and "null" in names:
        names.remove("null")  # every Kubernetes field is nullable: "or null" is noise
    return " or ".join(names)


def _expected_got(expected: str, value: Any) -> str:
    return f"expected {expected}, got {describe_value(value)}"


def _unknown_fields(error: ValidationError) -> list[tuple[list[Any], str]]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = list(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    found = []
    for key in error.instance:
        if key in known or any(re.search(p, str(key)) for p in patterns):
            continue
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        found.append(([*error.absolute_path, key], f"unknown field{hint}"))
    return found


_BOUNDS = {
    "const": "{}",
    "pattern": "a string matching {}",
    "minimum": "a number >= {}",
    "maximum": "a number <= {}",
    "exclusiveMinimum": "a number > {}",
    "exclusiveMaximum": "a number < {}",
}
"""The expected value of a keyword that bounds a value, as text."""
_SIZED = {
    "minLength": ("at least", "characters"),
    "maxLength": ("at most", "characters"),
    "minItems": ("at least", "items"),
    "maxItems": ("at most", "items"),
    "minProperties": ("at least", "fields"),
    "maxProperties": ("at most", "fields"),
}
"""Keywords that bound a size: how, and the unit counted."""


def _describe(error: ValidationError) -> list[tuple[list[Any], str]]:
    """(data path, message) pairs for one jsonschema error."""
    path = list(error.absolute_path)
    keyword, expected, value = error.validator, error.validator_value, error.instance
    if keyword == "additionalProperties" and isinstance(value, dict):
        return _unknown_fields(error)
    if keyword == "required" and isinstance(value, dict):
        return [([*path, key], "required field is missing") for key in expected if key not in value]
    if keyword in ("oneOf", "anyOf") and error.context:
        closest = best_match(error.context)
        inner = [
            f"{format_path(sub[len(path) :]) if sub[len(path) :] else 'the value'}: {text}"
            for sub, text in _describe(closest)
        ]
        return [(path, f"matches none of the allowed forms; closest: {'; '.join(inner)}")]
    if keyword == "type":
        return [(path, _expected_got(describe_types(expected), value))]
    if keyword == "enum" and isinstance(expected, list) and expected:
        wanted = (
            _json(expected[0])
            if len(expected) == 1
            else "one of " + ", ".join(map(_json, expected))
        )
        return [(path, _expected_got(wanted, value))]
    if keyword in _BOUNDS:
        shown = _json(expected) if keyword in ("const", "pattern") else expected
        return [(path, _expected_got(_BOUNDS[keyword].format(shown), value))]
    if keyword == "oneOf":
        return [(path, "matches more than one of the allowed forms")]
    if keyword == "uniqueItems":
        return [(path, "expected unique items")]
    if keyword in _SIZED and hasattr(value, "__len__"):
        bound, unit = _SIZED[keyword]
        return [(path, f"expected {bound} {expected} {unit}, got {len(value)}")]
    return [(path, error.message)]


def _sort_key(path: list[Any]) -> list[tuple[int, int, str]]:
    return [(0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path]


def explain(validator: jsonschema.protocols.Validator, obj: Any, label: str) -> list[SchemaProblem]:
    """Every problem jsonschema finds in `obj`, sorted by data path, without duplicates.

    Sorted because jsonschema reports some errors in set order, which varies between runs.
    """
    found: dict[tuple[str, str], list[Any]] = {}
    try:
        errors = list(validator.iter_errors(obj))
    except Exception as unreadable:  # data no JSON validator can read (e.g. unhashable keys)
        errors = []
        found[(ROOT, f"cannot be validated: {unreadable}")] = []
    for error in errors:
        for path, message in _describe(error):
            found.setdefault((format_path(path), message), path)
    ordered = sorted(found.items(), key=lambda item: (_sort_key(item[1]), item[0][1]))
    return [SchemaProblem(path, message, label) for (path, message), _ in ordered]


_COMPILED_MESSAGE = re.compile(r"(data\S*) (.*)", re.DOTALL)


def compiled_problem(error: Exception, label: str) -> SchemaProblem:
    """A problem from the compiled validator's own exception (only when jsonschema finds none).

    Its data path is a template (see compiled.py): array indexes and map keys show as `*`.
    """
    text = str(error)
    match = _COMPILED_MESSAGE.fullmatch(text)
    if match is None:
        return SchemaProblem(ROOT, text, label)
    path = re.sub(r"\[\{[^}]*\}\]", "[*]", match[1])
    path = re.sub(r"\.\{[^}]*\}", ".*", path).removeprefix("data").removeprefix(".")
    return SchemaProblem(path or ROOT, match[2], label)
