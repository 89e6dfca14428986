"""Project CRD schemas: `*.schema.json` files naming their kind with `x-knobless-kind`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.schemacheck import (
    CRD_SCHEMA_DIR,
    SchemaChecker,
    SchemaDefinitionError,
    SchemaProblem,
)

WIDGET = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "x-knobless-kind": {"apiVersion": "example.com/v1", "kind": "Widget"},
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "example.com/v1"},
        "kind": {"const": "Widget"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                "color": {"enum": ["red", "blue"]},
                "name": {"type": "string", "pattern": "^[a-z]+$"},
                "parts": {"type": "array", "items": {"$ref": "#/$defs/Part"}},
            },
        },
    },
    "$defs": {
        "Part": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "parts": {"type": "array", "items": {"$ref": "#/$defs/Part"}},
            },
        }
    },
}
LABEL = "widgets/widget.schema.json"


def _widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": spec,
    }


def _write(directory: Path, name: str, schema: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(schema))
    return path


@pytest.fixture
def widgets(tmp_path: Path) -> Path:
    _write(tmp_path / "widgets", "widget.schema.json", WIDGET)
    return tmp_path / "widgets"


def _checker(directory: Path, cache: Path) -> SchemaChecker:
    return SchemaChecker("1.33", extra_schema_dirs=[directory], cache_dir=cache)


def test_a_crd_schema_validates_its_kind(widgets: Path, tmp_path: Path) -> None:
    checker = _checker(widgets, tmp_path / "cache")
    label = str(widgets / "widget.schema.json")  # outside the repository: shown as given
    assert checker.schema_label("example.com/v1", "Widget") == label
    assert (
        checker.check(_widget(size=3, color="red", parts=[{"name": "a", "parts": [{"name": "b"}]}]))
        == []
    )
    assert checker.check(
        _widget(size=0, color="green", name="Abc", parts=[{"parts": [{}]}], extra=1)
    ) == [
        SchemaProblem("spec.color", 'expected one of "red", "blue", got string "green"', label),
        SchemaProblem("spec.extra", "unknown field", label),
        SchemaProblem(
            "spec.name", 'expected a string matching "^[a-z]+$", got string "Abc"', label
        ),
        SchemaProblem("spec.parts[0].name", "required field is missing", label),
        SchemaProblem("spec.parts[0].parts[0].name", "required field is missing", label),
        SchemaProblem("spec.size", "expected a number >= 1, got integer 0", label),
    ]
    wrong_kind = _widget()
    wrong_kind["apiVersion"] = "example.com/v2"
    assert checker.check(wrong_kind) == [
        SchemaProblem(
            "kind", f"no schema for Widget example.com/v2 in Kubernetes 1.33 or {widgets}"
        )
    ]


def test_the_stricter_verdict_stands_when_the_validators_disagree(
    widgets: Path, tmp_path: Path
) -> None:
    # JSON Schema patterns are ECMA 262: `$` does not match before a final newline. jsonschema
    # uses Python's re (where it does) and accepts "abc\n"; the compiled validator rejects it.
    checker = _checker(widgets, tmp_path / "cache")
    assert checker.check(_widget(name="abc\n")) == [
        SchemaProblem(
            "spec.name", "must match pattern ^[a-z]+$", str(widgets / "widget.schema.json")
        )
    ]


def test_repository_crd_schemas_compile_and_are_found() -> None:
    checker = SchemaChecker("1.33", extra_schema_dirs=[CRD_SCHEMA_DIR], cache_dir=None)
    files = sorted(CRD_SCHEMA_DIR.glob("*.schema.json"))
    assert files, "schemas/crds ships CRD schemas"
    for path in files:
        names = json.loads(path.read_text())["x-knobless-kind"]
        label = f"schemas/crds/{path.name}"
        assert checker.schema_label(names["apiVersion"], names["kind"]) == label
        # Compiles (a bare object is invalid: a problem list, not an exception).
        problems = checker.check({"apiVersion": names["apiVersion"], "kind": names["kind"]})
        assert problems and all(p.schema == label for p in problems)


def test_a_changed_schema_is_never_served_from_the_cache(widgets: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert _checker(widgets, cache).check(_widget(size=3)) == []
    tighter = json.loads(json.dumps(WIDGET))
    tighter["properties"]["spec"]["properties"]["size"]["maximum"] = 2
    _write(widgets, "widget.schema.json", tighter)
    assert _checker(widgets, cache).check(_widget(size=3)) == [
        SchemaProblem(
            "spec.size",
            "expected a number <= 2, got integer 3",
            str(widgets / "widget.schema.json"),
        )
    ]
    assert len(list(cache.glob("*.bin"))) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "cannot read schema: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (
            json.dumps({"type": "object"}),
            'needs a top-level "x-knobless-kind": {"apiVersion": ..., "kind": ...} '
            "naming the objects it validates",
        ),
    ],
)
def test_broken_schema_files_are_reported_when_the_checker_is_built(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "bad.schema.json").write_text(content)
    with pytest.raises(SchemaDefinitionError) as caught:
        _checker(tmp_path, tmp_path / "cache")
    assert (caught.value.path, caught.value.message) == (str(tmp_path / "bad.schema.json"), message)


def test_two_schemas_for_one_kind_are_refused(widgets: Path, tmp_path: Path) -> None:
    _write(widgets, "zz-again.schema.json", WIDGET)
    with pytest.raises(SchemaDefinitionError) as caught:
        _checker(widgets, tmp_path / "cache")
    assert (
        caught.value.message
        == f"Widget example.com/v1 is already validated by {widgets / 'widget.schema.json'}"
    )


def test_an_untranslatable_schema_is_reported_on_first_use(tmp_path: Path) -> None:
    schema = dict(WIDGET, properties={"spec": {"type": "object", "unevaluatedProperties": False}})
    path = _write(tmp_path / "crds", "widget.schema.json", schema)
    checker = _checker(tmp_path / "crds", tmp_path / "cache")
    with pytest.raises(SchemaDefinitionError) as caught:
        checker.check(_widget())
    assert (
        str(caught.value)
        == f"{path}: /properties/spec: unsupported schema keyword `unevaluatedProperties`"
    )


def test_repository_paths_are_shown_relative_to_the_repository() -> None:
    checker = SchemaChecker("1.33", extra_schema_dirs=[CRD_SCHEMA_DIR], cache_dir=None)
    assert checker.check({"apiVersion": "example.com/v1", "kind": "Widget"}) == [
        SchemaProblem(
            "kind", "no schema for Widget example.com/v1 in Kubernetes 1.33 or schemas/crds"
        )
    ]


def test_a_missing_schema_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaDefinitionError) as caught:
        _checker(tmp_path / "nowhere", tmp_path / "cache")
    assert str(caught.value) == f"{tmp_path / 'nowhere'}: schema directory not found"
