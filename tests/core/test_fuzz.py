"""Fuzzing the loaders: whatever the bytes, the result is data or an InputError with positions
inside the file — never another exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.errors import InputError
from compiler.loader import load_yaml
from compiler.models.endpoint import EndpointSpec
from compiler.validation import spec_diagnostics

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "endpoints").glob("*.yaml"))

yaml_ish = st.text(
    alphabet=st.sampled_from(list("abcnmeo:-[]{},&*!|>'\"#\t\n 0123456789.~?%@`\\<")),
    max_size=200,
)


@settings(max_examples=400, deadline=None)
@given(yaml_ish)
def test_any_text_loads_or_fails_cleanly(text: str) -> None:
    try:
        loaded = load_yaml(text, "endpoints/f.yaml")
    except InputError as error:
        assert error.diagnostics
        for diagnostic in error.diagnostics:
            assert diagnostic.path == "endpoints/f.yaml"
            assert 0 <= diagnostic.line <= text.count("\n") + 2
        return
    assert all(line >= 1 and col >= 1 for line, col in loaded.values.values())


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**7),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(min_size=1, max_size=10), inner, max_size=3)
    ),
    max_leaves=12,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_specs_give_positioned_diagnostics(example: Path, data: st.DataObject) -> None:
    spec = yaml.safe_load(example.read_text())
    paths = _paths(spec)
    target = data.draw(st.sampled_from(paths))
    mutated = copy.deepcopy(spec)
    replacement = data.draw(values)
    if target:
        parent = mutated
        for part in target[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[target[-1]]
        else:
            parent[target[-1]] = replacement
    else:
        mutated = replacement
    text = yaml.safe_dump(mutated, sort_keys=False)
    try:
        loaded = load_yaml(text, "endpoints/e.yaml")
    except InputError:
        return
    lines = text.count("\n") + 1
    try:
        EndpointSpec.model_validate(loaded.data)
    except Exception as error:
        from pydantic import ValidationError

        assert isinstance(error, ValidationError), repr(error)
        found = spec_diagnostics(
            error,
            EndpointSpec,
            lambda path, key: ("endpoints/e.yaml", *loaded.position(path, key=key)),
            data=loaded.data,
        )
        assert found
        for diagnostic in found:
            assert 1 <= diagnostic.line <= lines, diagnostic.format()
            assert diagnostic.message and "Traceback" not in diagnostic.message


jsonnet_ish = st.text(
    alphabet=st.sampled_from(list("{}[]:;,+'\"abcxyz0123 \n()=.$/local import self super error")),
    max_size=80,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(jsonnet_ish)
def test_any_jsonnet_evaluates_or_fails_cleanly(tmp_path: Path, text: str) -> None:
    from compiler.environments import evaluate, validate

    (tmp_path / "environments").mkdir(exist_ok=True)
    file = tmp_path / "environments" / "fuzz.jsonnet"
    file.write_text(text)
    try:
        validate(evaluate(tmp_path, file), "fuzz")
    except InputError as error:
        assert error.diagnostics
        assert all(d.path.startswith("environments/") for d in error.diagnostics), error.diagnostics
