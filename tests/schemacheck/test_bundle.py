"""Resolving `$ref`s into one self-contained draft-07 schema that means exactly the same."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.schemacheck import SchemaChecker, SchemaProblem
from compiler.schemacheck.bundle import DRAFT_07, BundleError, bundle

BASE = "https://example.com/root.json"
DEFS = "https://example.com/defs.json"


def _bundle(root: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    documents = {BASE: root, DEFS: defs or {}}
    return bundle(root, BASE, documents.__getitem__)


def test_refs_become_local_definitions_and_annotations_go() -> None:
    defs = {
        "$defs": {
            "Name": {"type": "string", "description": "a name", "x-kubernetes-list-type": "atomic"}
        }
    }
    root = {
        "$id": BASE,
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "a": {"$ref": "defs.json#/$defs/Name", "description": "ignored sibling"},
            "b": {"$ref": "/defs.json#/$defs/Name"},
        },
    }
    assert _bundle(root, defs) == {
        "$schema": DRAFT_07,
        "type": "object",
        "properties": {
            "a": {"$ref": "#/definitions/d0_Name"},
            "b": {"$ref": "#/definitions/d0_Name"},
        },
        "definitions": {"d0_Name": {"type": "string"}},
    }


def test_ref_with_validating_siblings_keeps_both_as_in_2020_12() -> None:
    root = {
        "properties": {"a": {"$ref": "#/$defs/S", "maxLength": 2}},
        "$defs": {"S": {"type": "string"}},
    }
    schema = _bundle(root)
    assert schema["properties"]["a"] == {
        "allOf": [{"$ref": "#/definitions/d0_S"}, {"maxLength": 2}]
    }
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid({"a": "ab"})
    assert not validator.is_valid({"a": "abc"})
    assert not validator.is_valid({"a": 1})


def test_recursive_definitions_stay_recursive() -> None:
    root = {
        "$ref": "#/$defs/Node",
        "$defs": {
            "Node": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
    }
    schema = _bundle(root)
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid({"children": [{"children": [{}]}]})
    assert not validator.is_valid({"children": [{"children": [{"x": 1}]}]})


def test_recursive_kubernetes_kind_jsonschemaprops(checker: SchemaChecker) -> None:
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {"size": {"type": "integer"}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    assert checker.check(crd) == []
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    props["spec"]["properties"]["size"]["minimum"] = "zero"
    assert checker.check(crd) == [
        SchemaProblem(
            "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size.minimum",
            'expected number, got string "zero"',
            "Kubernetes 1.33",
        )
    ]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"prefixItems": [{}]}, "(root): unsupported schema keyword `prefixItems`"),
        (
            {"properties": {"a": {"unevaluatedProperties": False}}},
            "/properties/a: unsupported schema keyword `unevaluatedProperties`",
        ),
        ({"nullable": True}, "(root): unsupported schema keyword `nullable`"),
        ({"items": [{}]}, "(root): array-form `items` is not supported"),
        ({"$ref": "#/nowhere"}, "$ref `https://example.com/root.json#/nowhere` points at nothing"),
        ({"$ref": "other.json"}, "$ref to unknown document `https://example.com/other.json`"),
        (
            {"$ref": "#anchor"},
            "unsupported $ref `https://example.com/root.json#anchor` (anchors are not supported)",
        ),
    ],
)
def test_what_cannot_be_translated_exactly_is_refused(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(BundleError) as caught:
        _bundle(schema)
    assert str(caught.value) == message


def test_const_becomes_a_one_value_enum_and_2020_dependents_become_dependencies() -> None:
    root = {
        "const": 3,
        "dependentRequired": {"a": ["b"]},
        "dependentSchemas": {"c": {"required": ["d"]}},
    }
    assert _bundle(root) == {
        "$schema": DRAFT_07,
        "enum": [3],
        "dependencies": {"a": ["b"], "c": {"required": ["d"]}},
    }


TYPES = ["null", "boolean", "string", "object", "array", "integer", "number"]
VALUES = [None, True, False, "s", "", {}, {"a": 1}, [], [1], 0, 1, -3, 1.0, 1.5, -0.25]


@given(
    st.lists(st.lists(st.sampled_from(TYPES), min_size=1, max_size=3), min_size=1, max_size=3),
    st.sampled_from(["oneOf", "anyOf"]),
)
def test_type_only_alternatives_simplify_to_a_type_with_the_same_meaning(
    branches: list[list[str]], keyword: str
) -> None:
    original = {keyword: [{"type": b} for b in branches]}
    simplified = _bundle(dict(original))
    reference = jsonschema.Draft7Validator(original)
    ours = jsonschema.Draft7Validator(simplified)
    for value in VALUES:
        assert ours.is_valid(value) == reference.is_valid(value), (value, simplified)
