"""Shared fixtures: the repository's own KEDA schemas, loaded as the compile-time checker would."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from .contexts import ROOT

SCHEMA_DIR = ROOT / "schemas" / "crds"


def load_validators() -> dict[tuple[str, str], jsonschema.Draft202012Validator]:
    """(apiVersion, kind) -> validator, mapped through each schema's `x-knobless-kind`."""
    validators = {}
    for path in sorted(SCHEMA_DIR.glob("keda-*.schema.json")):
        schema: dict[str, Any] = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        kind = schema["x-knobless-kind"]
        validators[(kind["apiVersion"], kind["kind"])] = jsonschema.Draft202012Validator(schema)
    return validators


@pytest.fixture(scope="session")
def keda_validators() -> dict[tuple[str, str], jsonschema.Draft202012Validator]:
    return load_validators()
