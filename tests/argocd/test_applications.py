"""The rendered Applications: golden files for the example environments, schema, settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import fastjsonschema
import jsonschema
import pytest

from compiler.argocd.naming import label_value
from compiler.manifest import Manifest
from compiler.plugins import BUILTIN_PLUGINS
from compiler.writer import dump
from plugins.argocd import forbidden_files
from plugins.argocd.applications import sync_options
from tests.argocd.helpers import REPO, environment, render

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((REPO / "schemas/crds/argocd-application.schema.json").read_text())
UPDATE = os.environ.get("KNOBLESS_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_rendered_applications_match_golden_files(env: str) -> None:
    rendered = {m.filename: dump(m.body) for m in render(environment(env))}
    folder = GOLDEN / env
    if UPDATE:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        for name, content in rendered.items():
            (folder / name).write_bytes(content)
    golden = {p.name: p.read_bytes() for p in sorted(folder.glob("*.yaml"))}
    problems = [f"missing: {n}" for n in sorted(set(golden) - set(rendered))]
    problems += [f"unexpected: {n}" for n in sorted(set(rendered) - set(golden))]
    problems += [
        f"differs: {n}" for n in sorted(set(golden) & set(rendered)) if golden[n] != rendered[n]
    ]
    assert problems == [], "set KNOBLESS_UPDATE_GOLDEN=1 to accept\n" + "\n".join(problems)


def test_one_application_per_endpoint_plus_platform_and_root() -> None:
    names = [m.name for m in render(environment("dev"))]
    assert names == [
        "dev-churn-classifier",
        "dev-doc-embedder",
        "dev-feed-ranker",
        "dev-fraud-scorer",
        "dev-platform",
        "dev-root",
        "dev-triage-agent",  # support-llm is excluded from dev
    ]
    assert {m.folder for m in render(environment("dev"))} == {"platform/argocd"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_application_validates_against_the_schema(env: str) -> None:
    validate = fastjsonschema.compile(SCHEMA)
    for manifest in render(environment(env)):
        validate(manifest.body)
        jsonschema.Draft7Validator(SCHEMA).validate(manifest.body)


def test_the_schema_rejects_what_the_crd_would_prune_or_argo_cd_refuses() -> None:
    body = render(environment("dev"))[0].body
    validator = jsonschema.Draft7Validator(SCHEMA)
    typo = {**body, "spec": {**body["spec"], "syncPolicies": {}}}
    both = {**body, "spec": {**body["spec"], "destination": {"server": "https://x", "name": "x"}}}
    no_project = {**body, "spec": {k: v for k, v in body["spec"].items() if k != "project"}}
    bad_label = {**body, "metadata": {**body["metadata"], "labels": {"a": "x@y"}}}
    for wrong in (typo, both, no_project, bad_label):
        assert list(validator.iter_errors(wrong)), wrong
    assert SCHEMA["x-knobless-kind"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
    }


def test_what_production_needs_is_set_on_endpoint_applications() -> None:
    apps = {m.name: m.body for m in render(environment("prod"))}
    app = apps["prod-fraud-scorer"]
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert app["metadata"]["annotations"]["argocd.argoproj.io/manifest-generate-paths"] == "."
    assert app["metadata"]["labels"] == {
        "knobless.dev/component": "endpoint",
        "knobless.dev/endpoint": "fraud-scorer",
        "knobless.dev/env": "prod",
        "knobless.dev/owner": "risk-platform_example.com",
    }
    assert app["metadata"]["annotations"]["knobless.dev/owner"] == "risk-platform@example.com"
    assert app["spec"]["project"] == "model-serving-prod"
    assert app["spec"]["source"] == {
        "repoURL": "https://git.example.com/ml-platform/serving-config.git",
        "targetRevision": "main",
        "path": "rendered/prod/fraud-scorer",
    }
    # No trailing slash: Argo CD matches the registered cluster URL as a string.
    assert app["spec"]["destination"] == {
        "server": "https://prod-us-east-1.k8s.example.com",
        "namespace": "serving-fraud-scorer",
    }
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert app["spec"]["ignoreDifferences"] == [
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
    ]


def test_root_and_platform_applications() -> None:
    apps = {m.name: m.body for m in render(environment("dev", rootProject="platform-admin"))}
    root, platform = apps["dev-root"], apps["dev-platform"]
    assert "finalizers" not in root["metadata"]  # deleting the root must not wipe the environment
    assert root["spec"]["project"] == "platform-admin"
    assert root["spec"]["source"]["path"] == "rendered/dev/platform/argocd"
    assert root["spec"]["destination"] == {
        "server": "https://kubernetes.default.svc",
        "namespace": "argocd",
    }
    assert platform["spec"]["source"]["path"] == "rendered/dev/platform"
    assert platform["spec"]["source"]["directory"] == {"exclude": "argocd/*"}
    assert platform["spec"]["destination"]["namespace"] == "knobless-system"
    assert platform["spec"]["project"] == "model-serving"


def test_manual_sync_environment_has_no_automated_block_and_retry_can_be_off() -> None:
    from compiler.models.environment import Retry

    apps = render(environment("dev", automated=None, retry=Retry(limit=0)))
    for manifest in apps:
        policy = manifest.body["spec"]["syncPolicy"]
        assert "automated" not in policy
        assert "retry" not in policy


def test_false_automated_flags_are_left_out() -> None:
    from compiler.models.environment import Automated

    (app, *_) = render(environment("dev", automated=Automated(prune=False, selfHeal=True)))
    assert app.body["spec"]["syncPolicy"]["automated"] == {"selfHeal": True}


def test_sync_options_can_be_overridden_removed_and_extended() -> None:
    settings = environment(
        "dev",
        syncOptions={"ServerSideApply": "false", "PruneLast": "", "ApplyOutOfSyncOnly": "true"},
    ).argocd
    assert sync_options(settings) == [
        "CreateNamespace=true",
        "ServerSideApply=false",
        "RespectIgnoreDifferences=true",
        "SkipDryRunOnMissingResource=true",
        "ApplyOutOfSyncOnly=true",
    ]


@pytest.mark.parametrize(
    ("owner", "label"),
    [
        ("risk-platform@example.com", "risk-platform_example.com"),
        ("Team ML (EU)", "Team_ML_EU"),
        ("@@weird--", "weird"),
        ("a" * 80, "a" * 63),
        ("x" * 62 + "@y", "x" * 62),
    ],
)
def test_owner_becomes_a_valid_label_value(owner: str, label: str) -> None:
    assert label_value(owner) == label


def test_no_kustomization_or_chart_file_is_ever_rendered() -> None:
    for env in ("dev", "prod"):
        assert forbidden_files(render(environment(env)), env) == []

    class Odd(Manifest):
        @property
        def filename(self) -> str:
            return "Chart.yaml"

    (problem,) = forbidden_files(
        [Odd("fraud-scorer", {"kind": "ConfigMap", "metadata": {"name": "x"}})], "dev"
    )
    assert problem.path == "rendered/dev/fraud-scorer/Chart.yaml"
    assert "as Kustomize or Helm" in problem.message


def test_plugin_is_registered_as_a_builtin() -> None:
    assert ("knobless.argocd", "plugins.argocd") in BUILTIN_PLUGINS
