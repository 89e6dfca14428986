"""Every rendered object validates: Kubernetes kinds with kubernetes-validate (strict, the
environment's Kubernetes version), the HTTPRoute with our own schema of the Gateway API subset."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from compiler.models.environment import KUBERNETES_VERSION

from .helpers import SCHEMA, pairs, render, resolve

PROJECT = Path(__file__).resolve().parents[2]
CRD_KINDS = {"HTTPRoute", "PodMonitor"}


@pytest.fixture(scope="module")
def route_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def rendered() -> list[tuple[str, dict[str, Any]]]:
    objects = []
    for environment, endpoint in pairs(PROJECT):
        for manifest in render(resolve(PROJECT, environment, endpoint)):
            objects.append((f"{environment}/{endpoint}/{manifest.filename}", manifest.body))
    return objects


def test_every_kubernetes_object_validates_strictly(rendered: list[Any]) -> None:
    kinds = set()
    for path, body in rendered:
        if body["kind"] in CRD_KINDS:
            continue  # checked against our CRD subsets (test_project_podmonitor, compile's check)
        kinds.add(body["kind"])
        try:
            kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path}: {error.message}")
    assert kinds == {
        "ConfigMap",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    }


def test_every_httproute_validates_against_the_gateway_api_subset(
    rendered: list[Any], route_validator: jsonschema.Draft7Validator
) -> None:
    routes = [(path, body) for path, body in rendered if body["kind"] == "HTTPRoute"]
    assert len(routes) == 11  # one per endpoint per environment (support-llm not in dev)
    for path, body in routes:
        errors = sorted(route_validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{path}: {errors[0].message} at {list(errors[0].path)}"


def test_schema_carries_the_kind_mapping() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert schema["x-knobless-kind"] == {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
    }


def _route() -> dict[str, Any]:
    context = resolve(PROJECT, "prod", "feed-ranker")
    return next(m.body for m in render(context) if m.kind == "HTTPRoute")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["spec"]["rules"][0]["backendRefs"][0].pop("port"), "'port' is a required"),
        (lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(weight=1_000_001), "maximum"),
        (lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(wieght=1), "wieght"),
        (lambda r: r["spec"]["rules"][0]["matches"][0]["path"].update(value="no-slash"), "^/"),
        (lambda r: r["spec"]["rules"][0]["matches"][0]["path"].update(value="/a//b"), "not"),
        (lambda r: r["spec"]["parentRefs"][0].update(namespace="Bad_NS"), "does not match"),
        (lambda r: r["spec"]["rules"][0]["filters"][0].pop("urlRewrite"), "'urlRewrite' is a"),
        (lambda r: r["spec"].update(rules=[r["spec"]["rules"][0]] * 17), "too long"),
        (lambda r: r.update(apiVersion="gateway.networking.k8s.io/v1beta1"), "was expected"),
    ],
)
def test_schema_rejects_what_the_crd_rejects(
    route_validator: jsonschema.Draft7Validator, mutate: Any, expected: str
) -> None:
    route = copy.deepcopy(_route())
    assert not list(route_validator.iter_errors(route))
    mutate(route)
    messages = [error.message for error in route_validator.iter_errors(route)]
    assert messages, "the schema accepted an invalid route"
    assert any(expected in message for message in messages), messages


def test_schema_is_loadable_by_the_compiled_validator() -> None:
    import fastjsonschema

    validate = fastjsonschema.compile(json.loads(SCHEMA.read_text()))
    validate(_route())
    broken = copy.deepcopy(_route())
    broken["spec"]["rules"][0]["backendRefs"][0]["port"] = 0
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        validate(broken)
