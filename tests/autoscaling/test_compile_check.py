"""The compiler's own check stage (compiler.schemacheck: fastjsonschema-compiled) accepts every
object this plugin renders and names the field when one is broken. tests/autoscaling's other
schema tests use jsonschema directly; this one proves the schemas also work where compile uses them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from compiler.schemacheck import CRD_SCHEMA_DIR, SchemaChecker
from plugins.autoscaling.scaledobject import render_scaled_object
from plugins.autoscaling.scaler_platform import render_platform
from plugins.autoscaling.triggerauth import render_trigger_authentication

from .contexts import ENVIRONMENT_NAMES, all_contexts, load_environment
from .test_scaledobject import FRAUD_SCORER_PROD


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> SchemaChecker:
    cache: Path = tmp_path_factory.mktemp("validators")
    return SchemaChecker("1.33", extra_schema_dirs=[CRD_SCHEMA_DIR], cache_dir=cache)


@pytest.mark.parametrize("environment_name", ENVIRONMENT_NAMES)
def test_everything_rendered_passes_the_compile_check(
    environment_name: str, checker: SchemaChecker
) -> None:
    environment = load_environment(
        environment_name,
        scaler={"tls": {"enabled": True}, "shards": 3},
        prometheus={"queries": {"queue": "sum(q)"}},
    )
    bodies = [m.body for m in render_platform(environment)]
    for endpoint in all_contexts(environment):
        bodies += [render_scaled_object(endpoint, served) for served in endpoint.served]
        bodies.append(render_trigger_authentication(endpoint.spec.name, environment))
    assert {body["kind"] for body in bodies} >= {"ScaledObject", "TriggerAuthentication"}
    assert {body["kind"]: checker.check(body) for body in bodies} == {
        body["kind"]: [] for body in bodies
    }


def test_a_broken_scaled_object_is_reported_at_its_field(checker: SchemaChecker) -> None:
    behavior = FRAUD_SCORER_PROD["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    broken = copy.deepcopy(FRAUD_SCORER_PROD)
    broken["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] = {
        **behavior,
        "scaleUp": {**behavior["scaleUp"], "selectPolicy": "Maximum"},
    }
    (problem,) = checker.check(broken)
    assert (
        problem.path == "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.selectPolicy"
    )
    assert problem.schema == "schemas/crds/keda-scaledobject.schema.json"


def test_a_value_below_its_minimum_is_reported_at_its_field(checker: SchemaChecker) -> None:
    broken = copy.deepcopy(FRAUD_SCORER_PROD)
    broken["spec"]["minReplicaCount"] = -1
    (problem,) = checker.check(broken)
    assert problem.path == "spec.minReplicaCount"
