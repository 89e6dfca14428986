"""schemas/*.schema.json are exactly what the models generate, and describe the examples."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from compiler.commands.schema import SCHEMA_DIR, generated

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(generated()))
def test_committed_schema_is_current(name: str) -> None:
    committed = (PROJECT / SCHEMA_DIR / name).read_bytes()
    assert committed == generated()[name], f"schemas/{name} is stale: run `knobless schema`"


def test_field_docstrings_become_descriptions() -> None:
    schema = json.loads(generated()["endpoint.schema.json"])
    concurrency = schema["$defs"]["ConcurrencyRange"]["properties"]["min"]
    assert (
        concurrency["description"]
        == "Floor kept ready (provisioned concurrency). 0 scales to zero when idle."
    )


@pytest.mark.parametrize(
    "example", sorted((PROJECT / "endpoints").glob("*.yaml")), ids=lambda p: p.stem
)
def test_examples_validate_against_the_schema(example: Path) -> None:
    schema = json.loads(generated()["endpoint.schema.json"])
    jsonschema.validate(yaml.safe_load(example.read_text()), schema)


def test_schema_rejects_an_unknown_key() -> None:
    schema = json.loads(generated()["endpoint.schema.json"])
    spec = yaml.safe_load((PROJECT / "endpoints" / "fraud-scorer.yaml").read_text())
    with pytest.raises(jsonschema.ValidationError, match="servd"):
        jsonschema.validate({**spec, "servd": []}, schema)
