"""The AppProject the Applications belong to, and the PodMonitors a Prometheus Operator reads:
exact objects, checked against the upstream CRDs' schemas (schemas/crds/)."""

from __future__ import annotations

from pathlib import Path

from compiler.schemacheck import CRD_SCHEMA_DIR, SchemaChecker
from plugins.argocd.project import app_project
from plugins.podmonitor import metrics_port_name
from plugins.runtimes.base import RuntimePod
from tests.render.helpers import add_environment, by_kind, render, resolve

PROJECT = Path(__file__).resolve().parents[2]


def _rendered(env: str, folder: str, prefix: str) -> list[Path]:
    return sorted((PROJECT / "rendered" / env / folder).glob(f"{prefix}-*.yaml"))


def test_the_project_admits_namespaces_and_only_knobless_destinations() -> None:
    import yaml

    [path] = _rendered("prod", "platform/argocd", "appproject")
    project = yaml.safe_load(path.read_text())
    assert path.name == "appproject-model-serving-prod.yaml"
    assert project["metadata"]["namespace"] == "argocd"
    assert project["spec"] == {
        "description": "knobless: model endpoints of environment prod",
        "sourceRepos": ["https://git.example.com/ml-platform/serving-config.git"],
        "destinations": [
            {"server": "https://prod-us-east-1.k8s.example.com", "namespace": "serving-*"},
            {"server": "https://prod-us-east-1.k8s.example.com", "namespace": "knobless-system"},
            {"server": "https://kubernetes.default.svc", "namespace": "argocd"},
        ],
        # Argo CD refuses every cluster-scoped kind a project does not list: the endpoint
        # Applications sync a Namespace each.
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
    }
    # Every Application of the environment names it, and every destination is in it.
    for app_path in _rendered("prod", "platform/argocd", "application"):
        app = yaml.safe_load(app_path.read_text())
        assert app["spec"]["project"] == "model-serving-prod"


def test_argo_cds_default_project_is_never_rendered(repo: Path) -> None:
    add_environment(repo, "plain", "prod", "{ argocd+: { project: 'default' } }")
    context = resolve(repo, "plain", "fraud-scorer")
    assert app_project(context.environment, ()) is None
    add_environment(repo, "managed", "prod", "{ argocd+: { renderProject: false } }")
    assert app_project(resolve(repo, "managed", "fraud-scorer").environment, ()) is None


def test_without_a_prefix_each_endpoint_namespace_is_a_destination(repo: Path) -> None:
    from compiler.summary import EndpointSummary

    add_environment(
        repo, "bare", "prod", "{ namespacePrefix: '', argocd+: { rootProject: 'ops' } }"
    )
    env = resolve(repo, "bare", "fraud-scorer").environment
    summaries = [EndpointSummary(n, "o@example.com", n, ()) for n in ("b-model", "a-model")]
    project = app_project(env, summaries)
    assert project is not None
    assert [d["namespace"] for d in project["spec"]["destinations"]] == [
        "a-model",
        "b-model",
        "knobless-system",  # no argocd destination: the root app lives in project `ops`
    ]


def test_each_version_gets_a_pod_monitor_on_its_metrics_port() -> None:
    ports = {}
    for endpoint in ("support-llm", "doc-embedder", "fraud-scorer"):
        manifests = render(resolve(PROJECT, "prod", endpoint))
        (deployment,) = by_kind(manifests, "Deployment")
        (monitor,) = by_kind(manifests, "PodMonitor")
        assert monitor["spec"]["selector"] == {
            "matchLabels": deployment["spec"]["selector"]["matchLabels"]
        }
        (scrape,) = monitor["spec"]["podMetricsEndpoints"]
        ports[endpoint] = scrape
        # The port is one the pod declares, the one its scrape annotation names.
        template = deployment["spec"]["template"]
        declared = {
            p["name"]: p["containerPort"]
            for c in template["spec"]["containers"] + template["spec"]["initContainers"]
            for p in c.get("ports", ())
        }
        annotations = template["metadata"]["annotations"]
        assert str(declared[scrape["port"]]) == annotations["prometheus.io/port"]
    assert ports == {
        "support-llm": {"port": "http", "path": "/metrics", "interval": "10s"},  # vLLM
        "doc-embedder": {"port": "metrics", "path": "/metrics", "interval": "10s"},  # Triton
        "fraud-scorer": {"port": "otel-metrics", "path": "/metrics", "interval": "10s"},
    }


def test_pod_monitors_are_opt_in_and_carry_the_selector_labels(repo: Path) -> None:
    add_environment(repo, "off", "prod", "{ observability+: { podMonitors: false } }")
    assert by_kind(render(resolve(repo, "off", "fraud-scorer")), "PodMonitor") == []
    add_environment(
        repo, "kps", "prod", "{ observability+: { podMonitorLabels: { release: 'kps' } } }"
    )
    (monitor,) = by_kind(render(resolve(repo, "kps", "fraud-scorer")), "PodMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kps"


def test_the_scalers_pod_monitor() -> None:
    import yaml

    monitor = yaml.safe_load(
        (PROJECT / "rendered/prod/platform/podmonitor-knobless-apa.yaml").read_text()
    )
    statefulset = yaml.safe_load(
        (PROJECT / "rendered/prod/platform/statefulset-knobless-apa.yaml").read_text()
    )
    assert monitor["spec"]["selector"] == statefulset["spec"]["selector"]
    ports = [p["name"] for p in statefulset["spec"]["template"]["spec"]["containers"][0]["ports"]]
    assert monitor["spec"]["podMetricsEndpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "10s"}
    ]
    assert "metrics" in ports


def test_a_metrics_port_must_be_a_named_port() -> None:
    import pytest

    runtime = RuntimePod(image="x", port=8080, metrics_port=9400)
    with pytest.raises(ValueError, match="metrics port 9400 is not a named container port"):
        metrics_port_name(runtime)


def test_the_crd_schemas_catch_a_wrong_field() -> None:
    checker = SchemaChecker("1.33", extra_schema_dirs=[CRD_SCHEMA_DIR])
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "m", "namespace": "n"},
        "spec": {"selector": {}, "podMetricsEndpoints": [{"port": "x", "interval": "10 s"}]},
    }
    assert checker.check(monitor)
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "p", "namespace": "argocd"},
        "spec": {"clusterResourceWhitelist": [{"kind": "Namespace"}]},  # group is required
    }
    assert checker.check(project)
