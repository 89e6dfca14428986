"""Turning pydantic's validation errors into positioned, readable diagnostics.

pydantic reports a location tuple per error; we map it back to the file position of the value (or
of the key, for unknown keys), say what was meant when an unknown key is close to a real one, and
phrase messages for people who write YAML, not Python.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from compiler.diagnostics import Diagnostic
from compiler.loader import FieldPath
from compiler.models.crossfield import CROSS_FIELD, spec_problems

PositionLookup = Callable[[FieldPath, bool], tuple[str, int, int]]
"""(field path, is_key) -> (file, line, col)."""


def dotted(path: FieldPath) -> str:
    """("served", 0, "compute") -> "served[0].compute"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _child(current: Any, part: int | str) -> tuple[bool, Any]:
    if isinstance(current, dict) and isinstance(part, str) and part in current:
        return True, current[part]
    if isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
        return True, current[part]
    return False, None


def _clean_location(loc: tuple[int | str, ...], data: Any) -> FieldPath:
    """Drop the union-member names pydantic inserts into locations, keeping real keys."""
    cleaned: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        found, child = _child(current, part)
        if found:
            cleaned.append(part)
            current = child
        elif isinstance(part, str) and (
            part[:1].isupper() or "[" in part or part.startswith("tag:")
        ):
            continue  # a union member or validator name, not a key
        elif last:
            cleaned.append(part)
        else:
            cleaned.append(part)
            current = None
    return tuple(cleaned)


def _members(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return [m for a in get_args(annotation) for m in _members(a)]
    if origin is typing.Annotated:
        return _members(get_args(annotation)[0])
    return [annotation]


def _fields_at(model: type[BaseModel], path: FieldPath) -> set[str]:
    """The keys a mapping at `path` may have (all union members' fields together)."""
    current: list[Any] = [model]
    for part in path:
        following: list[Any] = []
        for candidate in current:
            for member in _members(candidate):
                origin = get_origin(member)
                if isinstance(member, type) and issubclass(member, BaseModel):
                    if isinstance(part, str) and part in member.model_fields:
                        following.append(member.model_fields[part].annotation)
                elif origin in (tuple, list) and isinstance(part, int):
                    following.append(get_args(member)[0])
                elif origin is dict and isinstance(part, str):
                    following.append(get_args(member)[1])
        current = following
    fields: set[str] = set()
    for candidate in current:
        for member in _members(candidate):
            if isinstance(member, type) and issubclass(member, BaseModel):
                fields.update(member.model_fields)
    return fields


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{_show(value)}`"


def _unknown_key(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key `{key}`; did you mean `{close[0]}`?"
    return f"unknown key `{key}`" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")


def _not_one_of(value: Any, expected: str) -> str:
    options = [o.strip(" '") for o in expected.replace(" or ", ", ").split(",")]
    close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return f"`{_show(value)}` is not one of: {', '.join(options)}{hint}"


def _message(error: ErrorDetails, path: FieldPath, model: type[BaseModel]) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        return _unknown_key(str(path[-1]), sorted(_fields_at(model, path[:-1])))
    if kind == "missing":
        return f"missing required key `{path[-1]}`"
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        return f"expected a mapping (key: value), got {_kind(value)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_kind(value)}"
    if kind == "literal_error":
        return _not_one_of(value, str(error.get("ctx", {}).get("expected", "")))
    if kind in ("too_short", "too_long"):
        limit = error.get("ctx", {}).get("min_length" if kind == "too_short" else "max_length")
        which = "at least" if kind == "too_short" else "at most"
        return f"needs {which} {limit} item{'s' if limit != 1 else ''}"
    if kind == "string_type":
        return f"expected a string, got {_kind(value)}; quote it"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {_kind(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {_kind(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_kind(value)}"
    message = str(error["msg"])
    message = message[0].lower() + message[1:] if message else message
    return f"{message}, got {_kind(value)}"


def pydantic_diagnostics(
    error: ValidationError,
    model: type[BaseModel],
    position: PositionLookup,
    *,
    data: Any,
) -> list[Diagnostic]:
    """Every error of a ValidationError as a Diagnostic at the position of the offending value."""
    found: set[Diagnostic] = set()
    errors = error.errors(include_url=False)
    for details in errors:
        if details["type"] == CROSS_FIELD:
            continue  # reported by cross_field_diagnostics, every one of them
        if details["type"] == "too_short" and any(
            len(other["loc"]) > len(details["loc"])
            and other["loc"][: len(details["loc"])] == details["loc"]
            for other in errors
        ):
            continue  # "0 items after validation": only because the items themselves failed
        path = _clean_location(details["loc"], data)
        message = _message(details, path, model)
        where = path[:-1] if details["type"] == "missing" else path
        file, line, col = position(where, details["type"] == "extra_forbidden")
        field = dotted(path)
        found.add(Diagnostic(file, line, col, f"{field}: {message}" if field else message))
    return sorted(found)


def spec_diagnostics(
    error: ValidationError, model: type[BaseModel], position: PositionLookup, *, data: Any
) -> list[Diagnostic]:
    """Every problem of an endpoint spec that failed validation: the field errors and every
    cross-field problem of the raw data, whatever field errors it has (compiler.models.crossfield)."""
    found = set(pydantic_diagnostics(error, model, position, data=data))
    for problem in spec_problems(data):
        file, line, col = position(problem.path, problem.at_key)
        field = dotted(problem.path)
        message = f"{field}: {problem.message}" if field else problem.message
        found.add(Diagnostic(file, line, col, message))
    return sorted(found)


def first_line(diagnostics: Iterable[Diagnostic]) -> str:
    return next(iter(diagnostics)).format()
