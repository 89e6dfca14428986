"""Same verdict as the reference validators on mutations of valid objects.

Built-in kinds: kubernetes_validate.validate (strict), which builds a jsonschema validator from the
original 2020-12 schemas on every call. CRD kinds: jsonschema on the schema files as written. Our
bundling + compiled code must agree with them, object by object.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.schemacheck import CRD_SCHEMA_DIR, SchemaChecker

from .objects import CRD_KINDS, KINDS, valid, valid_crd

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


@pytest.fixture(scope="module")
def crd_references() -> dict[tuple[str, str], Any]:
    """jsonschema validators on the CRD schema files as written (2020-12 or draft-07)."""
    validators = {}
    for path in CRD_SCHEMA_DIR.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        names = schema.pop("x-knobless-kind")
        cls = jsonschema.validators.validator_for(schema)
        validators[(names["apiVersion"], names["kind"])] = cls(schema)
    return validators


@pytest.fixture(scope="module")
def crd_checker(cache_dir: Path) -> SchemaChecker:
    return SchemaChecker("1.33", extra_schema_dirs=[CRD_SCHEMA_DIR], cache_dir=cache_dir)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CRD_KINDS), st.integers(min_value=1, max_value=3), st.data())
def test_crd_verdicts_match_jsonschema_on_the_schema_files(
    crd_checker: SchemaChecker,
    crd_references: dict[tuple[str, str], Any],
    kind: str,
    mutations: int,
    data: st.DataObject,
) -> None:
    obj = valid_crd(kind)
    reference = crd_references[(obj["apiVersion"], obj["kind"])]
    for _ in range(mutations):
        _mutate(obj, data)
    problems = crd_checker.check(copy.deepcopy(obj))
    same_kind = (obj.get("apiVersion"), obj.get("kind")) == (valid_crd(kind)["apiVersion"], kind)
    assert (problems == []) == (same_kind and reference.is_valid(obj)), problems


def test_the_unmutated_crd_objects_are_valid() -> None:
    checker = SchemaChecker("1.33", extra_schema_dirs=[CRD_SCHEMA_DIR], cache_dir=None)
    for kind in CRD_KINDS:
        assert checker.check(valid_crd(kind)) == [], kind
