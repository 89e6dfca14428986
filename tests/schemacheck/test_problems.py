"""Valid objects pass; each kind of mistake gives an exact path and message (real schemas)."""

from __future__ import annotations

import types

import pytest

from compiler.schemacheck import SchemaChecker, SchemaProblem

from .objects import KINDS, valid

K8S = "Kubernetes 1.33"


@pytest.mark.parametrize("kind", KINDS)
def test_valid_objects_pass(checker: SchemaChecker, kind: str) -> None:
    assert checker.check(valid(kind)) == []


def test_a_misspelt_field_is_unknown_in_strict_mode(checker: SchemaChecker) -> None:
    deployment = valid("Deployment")
    deployment["spec"]["replica"] = 2
    deployment["spec"]["template"]["spec"]["containers"][1]["imagePullPolicyy"] = "Always"
    deployment["spec"]["template"]["spec"]["zzz"] = 1
    assert checker.check(deployment) == [
        SchemaProblem("spec.replica", "unknown field; did you mean `replicas`?", K8S),
        SchemaProblem(
            "spec.template.spec.containers[1].imagePullPolicyy",
            "unknown field; did you mean `imagePullPolicy`?",
            K8S,
        ),
        SchemaProblem("spec.template.spec.zzz", "unknown field", K8S),
    ]


def test_wrong_types_name_the_expected_and_the_actual(checker: SchemaChecker) -> None:
    service = valid("Service")
    service["spec"]["ports"][0]["port"] = "80"
    service["spec"]["ports"][0]["targetPort"] = 1.5
    deployment = valid("Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][1]
    container["resources"]["requests"]["cpu"] = None
    container["ports"] = {"name": "metrics"}
    assert checker.check(service) == [
        SchemaProblem("spec.ports[0].port", 'expected integer, got string "80"', K8S),
        SchemaProblem(
            "spec.ports[0].targetPort", "expected string or integer, got number 1.5", K8S
        ),
    ]
    assert checker.check(deployment) == [
        SchemaProblem("spec.template.spec.containers[1].ports", "expected array, got object", K8S),
        SchemaProblem(
            "spec.template.spec.containers[1].resources.requests.cpu",
            "expected string or number, got null",
            K8S,
        ),
    ]


def test_keys_that_are_not_identifiers_are_quoted(checker: SchemaChecker) -> None:
    namespace = valid("Namespace")
    namespace["metadata"]["labels"]["team/owner"] = True
    namespace["metadata"]["labels"]["app.kubernetes.io/part-of"] = 3
    assert checker.check(namespace) == [
        SchemaProblem(
            'metadata.labels["app.kubernetes.io/part-of"]', "expected string, got integer 3", K8S
        ),
        SchemaProblem('metadata.labels["team/owner"]', "expected string, got boolean true", K8S),
    ]


def test_missing_required_fields_point_at_the_field(checker: SchemaChecker) -> None:
    deployment = valid("Deployment")
    del deployment["spec"]["selector"]
    del deployment["spec"]["template"]["spec"]["containers"][0]["name"]
    network_policy = valid("NetworkPolicy")
    del network_policy["spec"]["egress"][0]["to"][0]["ipBlock"]["cidr"]
    assert checker.check(deployment) == [
        SchemaProblem("spec.selector", "required field is missing", K8S),
        SchemaProblem("spec.template.spec.containers[0].name", "required field is missing", K8S),
    ]
    assert checker.check(network_policy) == [
        SchemaProblem("spec.egress[0].to[0].ipBlock.cidr", "required field is missing", K8S),
    ]


def test_int_or_string_rejects_null_and_arrays(checker: SchemaChecker) -> None:
    pdb = valid("PodDisruptionBudget")
    pdb["spec"]["maxUnavailable"] = [1]
    assert checker.check(pdb) == [
        SchemaProblem("spec.maxUnavailable", "expected string or integer, got array", K8S)
    ]
    pdb["spec"]["maxUnavailable"] = None  # oneOf [string|null, integer|null]: null matches both
    assert checker.check(pdb) == [
        SchemaProblem("spec.maxUnavailable", "expected string or integer, got null", K8S)
    ]


def test_unknown_kinds_and_malformed_headers(checker: SchemaChecker) -> None:
    assert checker.check({"apiVersion": "example.com/v1", "kind": "Widget"}) == [
        SchemaProblem("kind", "no schema for Widget example.com/v1 in Kubernetes 1.33")
    ]
    # kubernetes-validate's file names drop the group's domain: it must still be the right group.
    assert checker.check({"apiVersion": "networking.example.com/v1", "kind": "NetworkPolicy"}) == [
        SchemaProblem(
            "kind", "no schema for NetworkPolicy networking.example.com/v1 in Kubernetes 1.33"
        )
    ]
    assert checker.check({"apiVersion": "v1", "kind": "../../Namespace"}) == [
        SchemaProblem("kind", "no schema for ../../Namespace v1 in Kubernetes 1.33")
    ]
    assert checker.check({"kind": "Namespace"}) == [
        SchemaProblem("apiVersion", "required field is missing")
    ]
    assert checker.check({"apiVersion": "v1", "kind": 7}) == [
        SchemaProblem("kind", "expected string, got integer 7")
    ]
    assert checker.check([1, 2]) == [SchemaProblem("(root)", "expected object, got array")]  # type: ignore[arg-type]


def test_any_mapping_is_accepted_at_the_top(checker: SchemaChecker) -> None:
    assert checker.check(types.MappingProxyType(valid("Namespace"))) == []


def test_a_wrong_enum_value(checker: SchemaChecker) -> None:
    # apiVersion and kind are enums in the strict schemas; the schema is chosen by them, so an
    # enum failure can only come from a field, e.g. in a CRD (see test_crds) — here via `kind`
    # of a list-typed object whose schema pins it.
    namespace = valid("Namespace")
    namespace["apiVersion"] = "v1"
    namespace["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "X", "name": "x", "uid": "1", "controller": "yes"}
    ]
    assert checker.check(namespace) == [
        SchemaProblem(
            "metadata.ownerReferences[0].controller", 'expected boolean, got string "yes"', K8S
        )
    ]
