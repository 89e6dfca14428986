"""Same verdict as kubernetes_validate.validate (strict) on mutations of valid objects.

kubernetes-validate builds a jsonschema validator from the original 2020-12 schemas on every call:
it is the reference our bundling + compiled code must agree with, object by object.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.schemacheck import SchemaChecker

from .objects import KINDS, valid

REPLACEMENTS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    7,
    1.0,
    1.5,
    2**40,
    "",
    "x",
    "80%",
    [],
    ["a"],
    [{}],
    {},
    {"a": "b"},
]


def _locations(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _locations(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _locations(value, (*path, index))
    return found


def _parent(obj: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        obj = obj[part]
    return obj


def _mutate(obj: dict[str, Any], data: st.DataObject) -> None:
    locations = _locations(obj)[1:]
    if not locations:  # everything deleted already
        return
    path = data.draw(st.sampled_from(locations), label="location")
    parent, last = _parent(obj, path), path[-1]
    target = parent[last]
    operations = ["replace"]
    if isinstance(parent, dict):
        operations += ["delete", "rename"]
    if isinstance(target, dict):
        operations += ["add field"]
    if isinstance(target, list):
        operations += ["empty", "duplicate"]
    operation = data.draw(st.sampled_from(operations), label="operation")
    if operation == "replace":
        parent[last] = copy.deepcopy(data.draw(st.sampled_from(REPLACEMENTS), label="value"))
    elif operation == "delete":
        del parent[last]
    elif operation == "rename":
        parent[last + data.draw(st.sampled_from(["s", "x", "_"]))] = parent.pop(last)
    elif operation == "add field":
        target[data.draw(st.sampled_from(["zz", "specs", "nmae", "a.b/c"]))] = "v"
    elif operation == "empty":
        target.clear()
    elif target:
        target.append(copy.deepcopy(target[0]))


def _reference_accepts(obj: dict[str, Any]) -> bool:
    try:
        kubernetes_validate.validate(obj, "1.33", strict=True)
    except Exception:  # ValidationError, SchemaNotFoundError, or a crash on a non-string kind
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), st.integers(min_value=1, max_value=3), st.data())
def test_verdicts_match_kubernetes_validate(
    checker: SchemaChecker, kind: str, mutations: int, data: st.DataObject
) -> None:
    obj = valid(kind)
    for _ in range(mutations):
        _mutate(obj, data)
    problems = checker.check(copy.deepcopy(obj))
    assert (problems == []) == _reference_accepts(obj), problems


def test_the_unmutated_objects_are_valid_for_the_reference_too() -> None:
    for kind in KINDS:
        assert _reference_accepts(valid(kind)), kind
