"""A change that cannot affect the running model leaves every pod template byte-identical (so it
restarts nothing); a change that can, changes the template and its config hash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import add_environment, by_kind, edit_endpoint, pod_templates, render, resolve

ENDPOINTS = (
    "churn-classifier",
    "doc-embedder",
    "feed-ranker",
    "fraud-scorer",
    "support-llm",
    "triage-agent",
)


def _templates(root: Path, environment: str = "prod") -> dict[str, dict[str, str]]:
    return {name: pod_templates(render(resolve(root, environment, name))) for name in ENDPOINTS}


def _hashes(root: Path, endpoint: str) -> list[str]:
    deployments = by_kind(render(resolve(root, "prod", endpoint)), "Deployment")
    return [
        d["spec"]["template"]["metadata"]["annotations"]["knobless.dev/config-hash"]
        for d in deployments
    ]


def _traffic(data: dict[str, Any]) -> None:
    if data["name"] == "feed-ranker":
        data["traffic"] = {"v12": 0, "v13": 100}


def _concurrency(data: dict[str, Any]) -> None:
    data["scaling"]["concurrency"] = {"min": 1, "max": 7}


def _schedule(data: dict[str, Any]) -> None:
    data["scaling"]["schedule"] = [
        {"start": "0 6 * * *", "end": "0 9 * * *", "timezone": "UTC", "minConcurrency": 5}
    ]


def _per_replica(data: dict[str, Any]) -> None:
    if data["name"] != "support-llm":  # vLLM's --max-num-seqs follows it: a model input
        data["scaling"]["perReplica"] = {"min": 2, "max": 9}


def _owner_and_description(data: dict[str, Any]) -> None:
    data["owner"] = "someone-else@example.com"
    data["description"] = "now with a description"


NO_RESTART: dict[str, Callable[[dict[str, Any]], None]] = {
    "traffic": _traffic,
    "concurrency": _concurrency,
    "schedule": _schedule,
    "perReplica": _per_replica,
    "owner and description": _owner_and_description,
}


@pytest.mark.parametrize("change", sorted(NO_RESTART))
def test_changes_that_cannot_affect_the_model_leave_pod_templates_identical(
    repo: Path, change: str
) -> None:
    before = _templates(repo)
    for name in ENDPOINTS:
        edit_endpoint(repo, name, NO_RESTART[change])
    after = _templates(repo)
    assert after == before


def test_a_traffic_change_does_change_the_route(repo: Path) -> None:
    route = by_kind(render(resolve(repo, "prod", "feed-ranker")), "HTTPRoute")[0]
    edit_endpoint(repo, "feed-ranker", _traffic)
    changed = by_kind(render(resolve(repo, "prod", "feed-ranker")), "HTTPRoute")[0]
    weights = [b["weight"] for b in changed["spec"]["rules"][0]["backendRefs"]]
    assert weights == [0, 100] and route != changed


def _set_served(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["served"][0][field] = value

    return change


def _add_env(data: dict[str, Any]) -> None:
    data["served"][0]["env"] = [{"name": "LOG_LEVEL", "value": "debug"}]


def _payloads(data: dict[str, Any]) -> None:
    data["logging"] = {"payloads": {"sampleRate": 0.5}}


RESTART: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "model": ("fraud-scorer", _set_served("model", "models:/fraud-scorer/8")),
    "image": ("triage-agent", _set_served("image", "registry.example.com/ops/triage-agent:1.9")),
    "runtime": ("doc-embedder", _set_served("runtime", "mlflow")),
    "resources": ("churn-classifier", _set_served("compute", {"cpu": "2", "memory": "1Gi"})),
    "env": ("fraud-scorer", _add_env),
    "sidecar config (payload sampling)": ("triage-agent", _payloads),
}


@pytest.mark.parametrize("change", sorted(RESTART))
def test_changes_that_affect_the_model_change_template_and_hash(repo: Path, change: str) -> None:
    endpoint, edit = RESTART[change]
    before_templates, before_hashes = _templates(repo)[endpoint], _hashes(repo, endpoint)
    edit_endpoint(repo, endpoint, edit)
    assert _templates(repo)[endpoint] != before_templates
    assert _hashes(repo, endpoint)[0] != before_hashes[0]


def test_runtime_images_from_the_environment_change_the_hash(repo: Path) -> None:
    add_environment(
        repo, "staging", "prod", "{ runtimes+: { mlflow: 'ghcr.io/mlflow/mlflow:v3.7.0' } }"
    )
    prod = pod_templates(render(resolve(repo, "prod", "fraud-scorer")))
    staging = pod_templates(render(resolve(repo, "staging", "fraud-scorer")))
    assert "ghcr.io/mlflow/mlflow:v3.7.0" in staging["fraud-scorer-v7"]
    prod_hash = _hash_line(prod["fraud-scorer-v7"])
    assert prod_hash != _hash_line(staging["fraud-scorer-v7"])


def _hash_line(template: str) -> str:
    return next(line for line in template.splitlines() if "knobless.dev/config-hash" in line)


def test_vllm_per_replica_ceiling_is_a_model_input(repo: Path) -> None:
    before = _hashes(repo, "support-llm")
    edit_endpoint(
        repo, "support-llm", lambda d: d["scaling"].update(perReplica={"min": 8, "max": 64})
    )
    assert _hashes(repo, "support-llm") != before


def test_rendering_twice_is_identical(repo: Path) -> None:
    assert _templates(repo) == _templates(repo)


def test_no_deployment_renders_replicas() -> None:
    root = Path(__file__).resolve().parents[2]
    for name in ENDPOINTS:
        for deployment in by_kind(render(resolve(root, "prod", name)), "Deployment"):
            assert "replicas" not in deployment["spec"]
            strategy = deployment["spec"]["strategy"]
            assert strategy["type"] == "RollingUpdate"
            assert strategy["rollingUpdate"]["maxUnavailable"] == 0
            assert deployment["spec"]["minReadySeconds"] >= 10
            model = deployment["spec"]["template"]["spec"]["containers"][0]
            assert model["name"] == "model"
            assert model["lifecycle"]["preStop"]["sleep"]["seconds"] >= 10


@settings(max_examples=40, deadline=None)
@given(first=st.integers(min_value=0, max_value=100))
def test_any_traffic_split_routes_by_percent_and_restarts_nothing(first: int) -> None:
    root = Path(__file__).resolve().parents[2]
    context = resolve(root, "prod", "feed-ranker")
    split = {"v12": first, "v13": 100 - first}
    changed = replace(
        context,
        spec=context.spec.model_copy(update={"traffic": split}),
        served=tuple(replace(s, traffic_percent=split[s.spec.name]) for s in context.served),
    )
    manifests = render(changed)
    assert pod_templates(manifests) == pod_templates(render(context))
    (route,) = by_kind(manifests, "HTTPRoute")
    backends = route["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [
        ("feed-ranker-v12", first),
        ("feed-ranker-v13", 100 - first),
    ]
    services = {s["metadata"]["name"] for s in by_kind(manifests, "Service")}
    assert {b["name"] for rule in route["spec"]["rules"] for b in rule["backendRefs"]} == services
