"""ScaledObjects and TriggerAuthentications: exact output, TLS on/off, schemas, scaler contract."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from plugins.apa.metadata import TriggerMetadata
from plugins.autoscaling.scaledobject import render_scaled_object
from plugins.autoscaling.triggerauth import render_trigger_authentication

from .contexts import ENVIRONMENT_NAMES, all_contexts, endpoint_context, load_environment

Validators = dict[tuple[str, str], jsonschema.Draft202012Validator]


def behavior(max_replicas: int) -> dict[str, Any]:
    """The rendered behavior, written out: one sync may add up to maxReplicaCount pods."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": max_replicas, "periodSeconds": 15}],
            "selectPolicy": "Max",
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
            "selectPolicy": "Min",
        },
    }


FRAUD_SCORER_PROD: dict[str, Any] = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": {
        "name": "fraud-scorer-v7",
        "namespace": "serving-fraud-scorer",
        "labels": {
            "app.kubernetes.io/name": "fraud-scorer",
            "app.kubernetes.io/instance": "fraud-scorer-v7",
            "app.kubernetes.io/managed-by": "knobless",
            "knobless.dev/endpoint": "fraud-scorer",
            "knobless.dev/served": "v7",
        },
    },
    "spec": {
        "scaleTargetRef": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "fraud-scorer-v7",
        },
        "pollingInterval": 15,
        "cooldownPeriod": 300,
        "minReplicaCount": 2,
        "maxReplicaCount": 1000,  # capacity.maxReplicas: 10,000 at MLflow's default min of 1
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": behavior(1000)}},
        "triggers": [
            {
                "type": "external",
                "metricType": "AverageValue",
                "metadata": {
                    "concurrencyMax": "10000",
                    "concurrencyMin": "64",
                    "endpoint": "fraud-scorer",
                    "perReplicaInitial": "8",
                    "perReplicaMax": "32",
                    "perReplicaMin": "1",
                    "runtime": "mlflow",
                    "scalerAddress": "knobless-apa-0.knobless-apa.knobless-system"
                    ".svc.cluster.local:9090",
                    "schedule": "[]",
                    "selector.container": "model",
                    "selector.namespace": "serving-fraud-scorer",
                    "selector.pod": "fraud-scorer-v7-[a-z0-9]{1,10}-[a-z0-9]{5}",
                    "selector.service": "fraud-scorer-v7",
                    "served": "v7",
                    "windowSeconds": "20",
                },
            }
        ],
    },
}

FEED_RANKER_V13_PROD_TLS: dict[str, Any] = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": {
        "name": "feed-ranker-v13",
        "namespace": "serving-feed-ranker",
        "labels": {
            "app.kubernetes.io/name": "feed-ranker",
            "app.kubernetes.io/instance": "feed-ranker-v13",
            "app.kubernetes.io/managed-by": "knobless",
            "knobless.dev/endpoint": "feed-ranker",
            "knobless.dev/served": "v13",
        },
    },
    "spec": {
        "scaleTargetRef": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "feed-ranker-v13",
        },
        "pollingInterval": 15,
        "cooldownPeriod": 300,
        "minReplicaCount": 2,  # prod minReplicas
        "maxReplicaCount": 400,
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": behavior(400)}},
        "triggers": [
            {
                "type": "external",
                "metricType": "AverageValue",
                "authenticationRef": {"name": "knobless-apa", "kind": "TriggerAuthentication"},
                "metadata": {
                    "concurrencyMax": "400",
                    "concurrencyMin": "4",
                    "enableTLS": "true",
                    "endpoint": "feed-ranker",
                    "perReplicaInitial": "16",
                    "perReplicaMax": "64",
                    "perReplicaMin": "1",
                    "runtime": "mlflow",
                    "scalerAddress": "knobless-apa-2.knobless-apa.knobless-system"
                    ".svc.cluster.local:9090",
                    "schedule": '[{"end":"0 19 * * 1-5","minConcurrency":40,'
                    '"start":"0 7 * * 1-5","timezone":"Europe/Berlin"}]',
                    "selector.container": "model",
                    "selector.namespace": "serving-feed-ranker",
                    "selector.pod": "feed-ranker-v13-[a-z0-9]{1,10}-[a-z0-9]{5}",
                    "selector.service": "feed-ranker-v13",
                    "served": "v13",
                    "windowSeconds": "20",
                },
            }
        ],
    },
}

TLS = {"tls": {"enabled": True}, "shards": 4}


def test_golden_fraud_scorer_in_prod() -> None:
    endpoint = endpoint_context("fraud-scorer", load_environment("prod"))
    assert render_scaled_object(endpoint, endpoint.served[0]) == FRAUD_SCORER_PROD


def test_golden_feed_ranker_canary_in_prod_with_tls_and_four_shards() -> None:
    endpoint = endpoint_context("feed-ranker", load_environment("prod", scaler=TLS))
    body = render_scaled_object(endpoint, endpoint.served[1])
    assert body == FEED_RANKER_V13_PROD_TLS
    # The YAML writer keeps insertion order: the object reads top-down.
    assert list(body) == ["apiVersion", "kind", "metadata", "spec"]
    assert list(body["spec"])[:2] == ["scaleTargetRef", "pollingInterval"]


def test_tls_off_has_no_tls_keys_and_no_authentication() -> None:
    for endpoint in all_contexts(load_environment("prod")):
        for served in endpoint.served:
            trigger = render_scaled_object(endpoint, served)["spec"]["triggers"][0]
            assert "authenticationRef" not in trigger
            assert "enableTLS" not in trigger["metadata"]


def test_trigger_authentication_maps_pem_keys_from_the_named_secret() -> None:
    environment = load_environment(
        "prod", scaler={"tls": {"enabled": True, "secretName": "apa-client"}}
    )
    assert render_trigger_authentication("x", environment) == {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {
            "name": "knobless-apa",
            "namespace": "serving-x",
            "labels": {
                "app.kubernetes.io/name": "x",
                "app.kubernetes.io/managed-by": "knobless",
                "knobless.dev/endpoint": "x",
            },
        },
        "spec": {
            "secretTargetRef": [
                {"parameter": "caCert", "name": "apa-client", "key": "ca.crt"},
                {"parameter": "tlsClientCert", "name": "apa-client", "key": "tls.crt"},
                {"parameter": "tlsClientKey", "name": "apa-client", "key": "tls.key"},
            ]
        },
    }


def test_polling_interval_comes_from_the_environment() -> None:
    endpoint = endpoint_context(
        "churn-classifier", load_environment("dev", scaler={"pollingInterval": 30})
    )
    assert render_scaled_object(endpoint, endpoint.served[0])["spec"]["pollingInterval"] == 30


@pytest.mark.parametrize("environment_name", ENVIRONMENT_NAMES)
@pytest.mark.parametrize("tls", [False, True])
def test_every_rendered_object_passes_its_schema_and_the_scaler_contract(
    environment_name: str, tls: bool, keda_validators: Validators
) -> None:
    environment = load_environment(environment_name, scaler={"tls": {"enabled": tls}})
    scaled_objects = keda_validators[("keda.sh/v1alpha1", "ScaledObject")]
    for endpoint in all_contexts(environment):
        for served in endpoint.served:
            body = render_scaled_object(endpoint, served)
            scaled_objects.validate(body)
            spec = body["spec"]
            # The CRD's CEL rule, which JSON Schema cannot say.
            assert spec["minReplicaCount"] <= spec["maxReplicaCount"]
            # What the scaler will read back from KEDA's ScaledObjectRef.scalerMetadata.
            namespace = body["metadata"]["namespace"]
            parsed = TriggerMetadata.from_metadata(namespace, spec["triggers"][0]["metadata"])
            assert (parsed.endpoint, parsed.served) == (endpoint.spec.name, served.spec.name)
            assert parsed.selector("service") == body["metadata"]["name"]
        if tls:
            auth = render_trigger_authentication(endpoint.spec.name, environment)
            keda_validators[("keda.sh/v1alpha1", "TriggerAuthentication")].validate(auth)


def _broken(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(body)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return broken


_DELETE = object()
BEHAVIOR_PATH = ("spec", "advanced", "horizontalPodAutoscalerConfig", "behavior")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("spec", "triggers"), [], "should be non-empty"),
        (("spec", "scaleTargetRef"), _DELETE, "'scaleTargetRef' is a required property"),
        (("spec", "minReplicaCount"), -1, "less than the minimum of 0"),
        (("spec", "maxReplicaCount"), 0, "less than the minimum of 1"),
        (("spec", "pollingInterval"), 0, "less than the minimum of 1"),
        (("spec", "pollingInterval"), "15", "is not of type 'integer'"),
        (("spec", "replicas"), 3, "Additional properties are not allowed"),
        (("spec", "triggers", 0, "metadata", "concurrencyMax"), 10000, "is not of type 'string'"),
        (
            ("spec", "triggers", 0, "metadata", "scalerAddress"),
            _DELETE,
            "'scalerAddress' is a required",
        ),
        (("spec", "triggers", 0, "metricType"), "Utilisation", "is not one of"),
        (
            ("spec", "triggers", 0, "authenticationRef"),
            {"kind": "Secret", "name": "x"},
            "is not one of",
        ),
        ((*BEHAVIOR_PATH, "scaleUp", "selectPolicy"), "Maximum", "is not one of"),
        ((*BEHAVIOR_PATH, "scaleDown", "stabilizationWindowSeconds"), 7200, "maximum of 3600"),
        ((*BEHAVIOR_PATH, "scaleUp", "policies", 0, "periodSeconds"), 0, "minimum of 1"),
        ((*BEHAVIOR_PATH, "scaleUp", "tolerance"), "ten percent", "is not valid under any"),
        (("kind",), "ScaledJob", "'ScaledObject' was expected"),
    ],
)
def test_a_broken_scaled_object_fails_its_schema(
    path: tuple[str | int, ...], value: Any, message: str, keda_validators: Validators
) -> None:
    validator = keda_validators[("keda.sh/v1alpha1", "ScaledObject")]
    validator.validate(FRAUD_SCORER_PROD)
    errors = [e.message for e in validator.iter_errors(_broken(FRAUD_SCORER_PROD, path, value))]
    assert any(message in e for e in errors), errors


def test_a_broken_trigger_authentication_fails_its_schema(keda_validators: Validators) -> None:
    validator = keda_validators[("keda.sh/v1alpha1", "TriggerAuthentication")]
    good = render_trigger_authentication("x", load_environment("prod"))
    validator.validate(good)
    missing_key = _broken(good, ("spec", "secretTargetRef", 0, "key"), _DELETE)
    assert "'key' is a required property" in [e.message for e in validator.iter_errors(missing_key)]
    extra = _broken(good, ("spec", "secretTargetRef", 0, "value"), "-----BEGIN CERTIFICATE-----")
    assert any("Additional properties" in e.message for e in validator.iter_errors(extra))


def test_schemas_name_their_kind_for_the_compile_checker() -> None:
    from .conftest import SCHEMA_DIR

    kinds = {
        path.name: json.loads(path.read_text())["x-knobless-kind"]
        for path in sorted(SCHEMA_DIR.glob("keda-*.schema.json"))
    }
    assert kinds == {
        "keda-scaledobject.schema.json": {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject"},
        "keda-triggerauthentication.schema.json": {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "TriggerAuthentication",
        },
    }


def test_pod_selector_matches_only_its_own_versions_pods() -> None:
    import re

    data = {
        "name": "ranker",
        "owner": "feed-ml@example.com",
        "served": [
            {
                "name": name,
                "model": f"models:/r/{i}",
                "flavor": "lightgbm",
                "compute": {"cpu": "1", "memory": "1Gi"},
            }
            for i, name in enumerate(("v1", "v1-canary"), start=1)
        ],
        "traffic": {"v1": 90, "v1-canary": 10},
        "scaling": {"concurrency": {"min": 0, "max": 10}},
    }
    endpoint = endpoint_context("ranker", load_environment("prod"), data)
    pattern = render_scaled_object(endpoint, endpoint.served[0])["spec"]["triggers"][0]["metadata"][
        "selector.pod"
    ]
    # PromQL regex matchers are fully anchored, like re.fullmatch.
    assert re.fullmatch(pattern, "ranker-v1-7d9f8b6c5d-x2k4q")
    assert not re.fullmatch(pattern, "ranker-v1-canary-7d9f8b6c5d-x2k4q")
