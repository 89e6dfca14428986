"""The schemacheck plugin: knobless_check turns schema problems into Diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import Diagnostic, Environment, Manifest
from compiler.environments import load_environment
from compiler.plugins import build_plugin_manager
from plugins import schemacheck

from .objects import KINDS, valid

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dev() -> Environment:
    environment, _source = load_environment(PROJECT, PROJECT / "environments" / "dev.jsonnet")
    return environment


def test_the_plugin_is_built_in() -> None:
    manager = build_plugin_manager(entry_points=False)
    assert manager.get_plugin("knobless.schemacheck") is schemacheck


def test_valid_manifests_give_no_diagnostics(dev: Environment) -> None:
    manifests = tuple(Manifest("fraud-scorer", valid(kind)) for kind in KINDS)
    assert list(schemacheck.knobless_check(manifests=manifests, environment=dev)) == []


def test_each_problem_names_file_object_field_and_schema(dev: Environment) -> None:
    deployment = valid("Deployment")
    deployment["spec"]["replica"] = 1
    del deployment["spec"]["template"]["spec"]["containers"][0]["name"]
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    scaled = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "s", "namespace": "n"},
    }
    manifests = (
        Manifest("fraud-scorer", valid("Service")),
        Manifest("fraud-scorer", deployment),
        Manifest("platform", widget),
        Manifest("fraud-scorer", scaled),
        Manifest("platform", {"kind": "Thing"}),
    )
    file = "rendered/dev/fraud-scorer/deployment-fraud-scorer.yaml"
    assert list(schemacheck.knobless_check(manifests=manifests, environment=dev)) == [
        Diagnostic(
            file,
            0,
            0,
            "Deployment/fraud-scorer: spec.replica: unknown field; did you mean `replicas`? "
            "(schema: Kubernetes 1.33)",
        ),
        Diagnostic(
            file,
            0,
            0,
            "Deployment/fraud-scorer: spec.template.spec.containers[0].name: "
            "required field is missing (schema: Kubernetes 1.33)",
        ),
        Diagnostic(
            "rendered/dev/platform/widget-w.yaml",
            0,
            0,
            "Widget/w: kind: no schema for Widget example.com/v1 in Kubernetes 1.33 "
            "or schemas/crds (schema: Kubernetes 1.33)",
        ),
        Diagnostic(
            "rendered/dev/fraud-scorer/scaledobject-s.yaml",
            0,
            0,
            "ScaledObject/s: spec: required field is missing "
            "(schema: schemas/crds/keda-scaledobject.schema.json)",
        ),
        Diagnostic(
            "rendered/dev/platform",
            0,
            0,
            "Thing/(no name): apiVersion: required field is missing (schema: Kubernetes 1.33)",
        ),
    ]


def test_an_unsupported_kubernetes_version_points_at_the_environment(
    dev: Environment,
) -> None:
    old = dev.model_copy(update={"kubernetesVersion": "1.9"})
    assert list(schemacheck.knobless_check(manifests=(), environment=old)) == [
        Diagnostic(
            "environments/dev.jsonnet",
            0,
            0,
            "kubernetesVersion: no Kubernetes schemas for version `1.9` (kubernetes-validate ships "
            "1.25 to 1.37; set kubernetesVersion to one of them)",
        )
    ]


def test_the_version_of_the_environment_is_used(dev: Environment) -> None:
    # ValidatingAdmissionPolicy became admissionregistration.k8s.io/v1 in Kubernetes 1.30.
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "p"},
        "spec": {"validations": [{"expression": "true"}]},
    }
    manifests = (Manifest("platform", policy),)
    assert list(schemacheck.knobless_check(manifests=manifests, environment=dev)) == []
    older = dev.model_copy(update={"kubernetesVersion": "1.29"})
    assert list(schemacheck.knobless_check(manifests=manifests, environment=older)) == [
        Diagnostic(
            "rendered/dev/platform/validatingadmissionpolicy-p.yaml",
            0,
            0,
            "ValidatingAdmissionPolicy/p: kind: no schema for ValidatingAdmissionPolicy "
            "admissionregistration.k8s.io/v1 in Kubernetes 1.29 or schemas/crds "
            "(schema: Kubernetes 1.29)",
        )
    ]
