"""What each endpoint becomes: pod security, secrets by reference, isolation, routing,
observability. Exact expectations on the rendered objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.errors import InputError
from plugins.networkpolicy import in_cluster_target
from plugins.workload.security import restricted_violations

from .helpers import add_environment, by_kind, edit_endpoint, pairs, render, resolve

PROJECT = Path(__file__).resolve().parents[2]


def _all_deployments() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{environment}/{endpoint}", deployment)
        for environment, endpoint in pairs(PROJECT)
        for deployment in by_kind(render(resolve(PROJECT, environment, endpoint)), "Deployment")
    ]


def test_every_container_meets_pod_security_restricted() -> None:
    deployments = _all_deployments()
    assert len(deployments) == 13
    for where, deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert restricted_violations(pod) == [], where
        containers = [*pod["initContainers"], *pod["containers"]]
        assert all(c["securityContext"]["readOnlyRootFilesystem"] for c in containers)
        assert pod["automountServiceAccountToken"] is False


def test_the_restricted_check_catches_violations() -> None:
    (_, deployment) = _all_deployments()[0]
    pod = yaml.safe_load(yaml.safe_dump(deployment["spec"]["template"]["spec"]))
    pod["initContainers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    pod["containers"][0]["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}
    pod["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    assert restricted_violations(pod) == [
        "pod: seccompProfile must be RuntimeDefault or Localhost",
        "otel-collector: allowPrivilegeEscalation must be false",
        "model: capabilities must drop ALL",
    ]


def test_namespace_enforces_restricted_and_carries_owner() -> None:
    (namespace,) = by_kind(render(resolve(PROJECT, "prod", "fraud-scorer")), "Namespace")
    assert namespace["metadata"]["name"] == "serving-fraud-scorer"
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.33"
    assert namespace["metadata"]["annotations"] == {
        "knobless.dev/owner": "risk-platform@example.com"
    }


def test_service_account_mounts_no_token() -> None:
    (account,) = by_kind(render(resolve(PROJECT, "prod", "fraud-scorer")), "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert account["metadata"] == {
        "name": "fraud-scorer",
        "namespace": "serving-fraud-scorer",
        "labels": {
            "app.kubernetes.io/name": "fraud-scorer",
            "app.kubernetes.io/managed-by": "knobless",
            "knobless.dev/endpoint": "fraud-scorer",
        },
    }


def test_secrets_are_references_never_values(repo: Path) -> None:
    add_environment(
        repo, "secured", "prod", "{ mlflow+: { credentials: { name: 'mlflow', key: 'token' } } }"
    )
    (agent,) = by_kind(render(resolve(repo, "secured", "triage-agent")), "Deployment")
    env = agent["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {
        "name": "API_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "triage-agent", "key": "token"}},
    } in env
    (llm,) = by_kind(render(resolve(repo, "secured", "support-llm")), "Deployment")
    fetch = next(
        c for c in llm["spec"]["template"]["spec"]["initContainers"] if c["name"] == "fetch-model"
    )
    token = {
        "name": "MLFLOW_TRACKING_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "mlflow", "key": "token"}},
    }
    assert token in fetch["env"]
    (fraud,) = by_kind(render(resolve(repo, "secured", "fraud-scorer")), "Deployment")
    assert token in fraud["spec"]["template"]["spec"]["containers"][0]["env"]
    assert all("value" not in e for e in env if e["name"] in ("API_TOKEN", "MLFLOW_TRACKING_TOKEN"))


def test_user_env_wins_over_runtime_env_without_duplicates(repo: Path) -> None:
    edit_endpoint(
        repo,
        "fraud-scorer",
        lambda d: d["served"][0].update(env=[{"name": "HOME", "value": "/tmp/me"}]),
    )
    (deployment,) = by_kind(render(resolve(repo, "prod", "fraud-scorer")), "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    names = [e["name"] for e in env]
    assert len(names) == len(set(names))
    assert {"name": "HOME", "value": "/tmp/me"} in env


def test_one_deployment_service_and_pdb_per_served_version() -> None:
    manifests = render(resolve(PROJECT, "prod", "feed-ranker"))
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        assert [b["metadata"]["name"] for b in by_kind(manifests, kind)] == [
            "feed-ranker-v12",
            "feed-ranker-v13",
        ]
    (pdb, _) = by_kind(manifests, "PodDisruptionBudget")
    assert pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {
            "matchLabels": {"knobless.dev/endpoint": "feed-ranker", "knobless.dev/served": "v12"}
        },
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    labels = by_kind(manifests, "Deployment")[1]["spec"]["template"]["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/name": "feed-ranker",
        "app.kubernetes.io/instance": "feed-ranker-v13",
        "app.kubernetes.io/managed-by": "knobless",
        "knobless.dev/endpoint": "feed-ranker",
        "knobless.dev/served": "v13",
    }


def test_route_splits_by_percent_and_names_only_rendered_services(repo: Path) -> None:
    edit_endpoint(repo, "feed-ranker", lambda d: d.update(traffic={"v12": 100, "v13": 0}))
    manifests = render(resolve(repo, "prod", "feed-ranker"))
    (route,) = by_kind(manifests, "HTTPRoute")
    split = route["spec"]["rules"][0]
    assert [(b["name"], b["weight"]) for b in split["backendRefs"]] == [
        ("feed-ranker-v12", 100),
        ("feed-ranker-v13", 0),
    ]
    assert split["matches"] == [{"path": {"type": "PathPrefix", "value": "/feed-ranker"}}]
    services = {s["metadata"]["name"] for s in by_kind(manifests, "Service")}
    deployments = {d["metadata"]["name"] for d in by_kind(manifests, "Deployment")}
    for rule in route["spec"]["rules"]:
        for backend in rule["backendRefs"]:
            assert backend["name"] in services and backend["port"] == 80
    assert "feed-ranker-v13" in deployments  # 0% still runs, ready to take traffic
    pinned = route["spec"]["rules"][2]
    assert pinned["matches"][0]["headers"] == [
        {"type": "Exact", "name": "x-knobless-served", "value": "v13"}
    ]
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "serving",
            "namespace": "gateway-system",
        }
    ]


@pytest.mark.parametrize(
    ("endpoint", "timeout"),
    [
        ("support-llm", "585s"),  # vLLM: 600 s grace - 15 s drain, for long streamed answers
        ("doc-embedder", "110s"),  # Triton
        ("fraud-scorer", "65s"),  # MLflow: 75 s grace - 10 s drain
        ("triage-agent", "50s"),  # the team's own container: 60 s - 10 s
    ],
)
def test_every_rule_times_out_when_the_runtime_would_cut_the_request(
    endpoint: str, timeout: str
) -> None:
    (route,) = by_kind(render(resolve(PROJECT, "prod", endpoint)), "HTTPRoute")
    assert [rule["timeouts"] for rule in route["spec"]["rules"]] == [{"request": timeout}]


def test_a_split_over_runtimes_times_out_at_the_slowest(repo: Path) -> None:
    # A canary on another runtime: the split rule takes the longest, each pinned rule its own.
    def canary(data: dict[str, Any]) -> None:
        data["served"][1].update(image="registry.example.com/feed/ranker:13", port=8080)
        del data["served"][1]["model"], data["served"][1]["flavor"]

    edit_endpoint(repo, "feed-ranker", canary)
    (route,) = by_kind(render(resolve(repo, "prod", "feed-ranker")), "HTTPRoute")
    assert [rule["timeouts"]["request"] for rule in route["spec"]["rules"]] == ["65s", "65s", "50s"]


def test_single_version_route_has_one_rule() -> None:
    (route,) = by_kind(render(resolve(PROJECT, "prod", "fraud-scorer")), "HTTPRoute")
    assert len(route["spec"]["rules"]) == 1
    assert route["spec"]["rules"][0]["backendRefs"][0]["weight"] == 100


def test_network_policy_denies_by_default_and_allows_what_serving_needs(repo: Path) -> None:
    add_environment(
        repo,
        "egress",
        "prod",
        "{ egress: [{ cidr: '10.20.0.0/16', ports: [443] }, { namespace: 'feature-store' }] }",
    )
    (policy,) = by_kind(render(resolve(repo, "egress", "fraud-scorer")), "NetworkPolicy")
    spec = policy["spec"]
    assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress", "Egress"]

    def namespace(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

    assert spec["ingress"] == [
        {"from": [namespace("gateway-system")], "ports": [{"protocol": "TCP", "port": "http"}]},
        {"from": [namespace("monitoring")]},
    ]
    assert spec["egress"] == [
        {
            "to": [namespace("kube-system")],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
        {"to": [namespace("mlflow")], "ports": [{"protocol": "TCP", "port": 5000}]},
        {"to": [namespace("monitoring")], "ports": [{"protocol": "TCP", "port": 4317}]},
        {
            "to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
            "ports": [{"protocol": "TCP", "port": 443}],
        },
        {"to": [namespace("feature-store")]},
    ]


def test_an_image_only_endpoint_gets_no_mlflow_egress() -> None:
    (policy,) = by_kind(render(resolve(PROJECT, "prod", "triage-agent")), "NetworkPolicy")
    assert "mlflow" not in str(policy["spec"]["egress"])


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("http://mlflow.mlflow.svc:5000", ("mlflow", 5000)),
        ("https://mlflow.tracking.svc.cluster.local", ("tracking", 443)),
        ("otel-collector.monitoring.svc:4317", ("monitoring", 4317)),
        ("https://mlflow.example.com", None),
        ("10.0.0.1:4317", None),
    ],
)
def test_in_cluster_targets(address: str, expected: Any) -> None:
    assert in_cluster_target(address) == expected


def _collector_config(environment: str, endpoint: str) -> dict[str, Any]:
    (config_map,) = by_kind(render(resolve(PROJECT, environment, endpoint)), "ConfigMap")
    return yaml.safe_load(config_map["data"]["config.yaml"])


def test_payload_logging_is_sampled_at_the_spec_rate() -> None:
    config = _collector_config("prod", "triage-agent")
    assert config["processors"]["probabilistic_sampler/payloads"] == {"sampling_percentage": 5.0}
    assert config["service"]["pipelines"]["logs/payloads"]["processors"] == [
        "memory_limiter",
        "filter/only-payloads",
        "probabilistic_sampler/payloads",
        "resource",
        "batch",
    ]
    assert config["exporters"]["otlp"] == {
        "endpoint": "otel-collector.monitoring.svc:4317",
        "tls": {"insecure": True},
    }
    assert config["receivers"]["otlp"]["protocols"]["grpc"] == {"endpoint": "127.0.0.1:4317"}


def test_without_a_sample_rate_payloads_are_dropped() -> None:
    config = _collector_config("prod", "fraud-scorer")
    assert "logs/payloads" not in config["service"]["pipelines"]
    assert "filter/drop-payloads" in config["service"]["pipelines"]["logs"]["processors"]


@pytest.mark.parametrize(
    ("endpoint", "port", "path"),
    [
        ("support-llm", "8000", "/metrics"),
        ("doc-embedder", "8002", "/metrics"),
        ("fraud-scorer", "8889", "/metrics"),
        ("triage-agent", "8889", "/metrics"),
    ],
)
def test_scrape_annotations_point_at_the_runtime_metrics(
    endpoint: str, port: str, path: str
) -> None:
    (deployment,) = by_kind(render(resolve(PROJECT, "prod", endpoint)), "Deployment")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (port, path)
    sidecar = deployment["spec"]["template"]["spec"]["initContainers"][0]
    assert sidecar["name"] == "otel-collector" and sidecar["restartPolicy"] == "Always"


def _endpoint_file(repo: Path, name: str, served: str) -> None:
    (repo / "endpoints" / f"{name}.yaml").write_text(
        f"name: {name}\nowner: team@example.com\nserved:\n  - name: {served}\n"
        "    model: models:/m/1\n    compute: {cpu: '1', memory: 1Gi}\n"
        "scaling:\n  concurrency: {min: 0, max: 10}\n"
    )


def test_names_too_long_for_a_service_are_errors_at_their_line(repo: Path) -> None:
    endpoint, served = "e" * 40, "v" * 30
    _endpoint_file(repo, endpoint, served)
    with pytest.raises(InputError) as raised:
        resolve(repo, "prod", endpoint)
    assert [d.format() for d in raised.value.diagnostics] == [
        f"endpoints/{endpoint}.yaml:4:11: error: served[0].name: `{endpoint}-{served}` (endpoint "
        "name, '-', served name) names this version's Service and is 71 characters long; at "
        "most 63 are allowed, so shorten the served or the endpoint name"
    ]


def test_a_service_name_must_start_with_a_letter(repo: Path) -> None:
    _endpoint_file(repo, "9lives", "v1")
    with pytest.raises(InputError) as raised:
        resolve(repo, "prod", "9lives")
    assert [d.format() for d in raised.value.diagnostics] == [
        "endpoints/9lives.yaml:1:7: error: name: `9lives-v1` names a Service, which must start "
        "with a letter; rename the endpoint to start with a letter"
    ]


def test_a_namespace_too_long_is_an_error(repo: Path) -> None:
    endpoint = "n" * 60
    _endpoint_file(repo, endpoint, "v1")
    with pytest.raises(InputError) as raised:
        resolve(repo, "prod", endpoint)
    messages = [d.format() for d in raised.value.diagnostics]
    assert (
        f"endpoints/{endpoint}.yaml:1:7: error: name: the namespace `serving-{endpoint}` (prefix "
        "`serving-` of environment `prod` + endpoint name) is 68 characters long; at most 63 are "
        "allowed, so shorten the endpoint name"
    ) in messages


@pytest.mark.parametrize(
    ("endpoint", "uid"),
    [
        ("fraud-scorer", 65532),
        ("support-llm", 65532),
        ("doc-embedder", 65532),
        ("triage-agent", None),
    ],
)
def test_our_images_run_as_a_fixed_uid_a_team_image_as_its_own_user(
    endpoint: str, uid: Any
) -> None:
    (deployment,) = by_kind(render(resolve(PROJECT, "prod", endpoint)), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["securityContext"].get("runAsUser") == uid
    assert all(c["securityContext"]["runAsUser"] == 65532 for c in pod["initContainers"])
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "fsGroup": 65532,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


L4_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        {"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-L4"]}
                    ]
                }
            ]
        }
    }
}


def test_gpu_pods_get_the_workload_node_selector_and_tolerations(repo: Path) -> None:
    add_environment(
        repo,
        "pools",
        "prod",
        "{ workloads+: { 'gpu-small'+: { nodeSelector: { 'pool.example.com/name': 'l4' },"
        " tolerations: [{ key: 'pool.example.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] } } }",
    )
    (deployment,) = by_kind(render(resolve(repo, "pools", "doc-embedder")), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool.example.com/name": "l4"}
    assert pod["tolerations"] == [
        {"key": "pool.example.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    ]
    # ephemeral-storage: one L4's 24 GiB bounds the ONNX files, plus Triton's 1 GiB /tmp
    assert pod["containers"][0]["resources"] == {
        "requests": {
            "cpu": "8",
            "memory": "32Gi",
            "nvidia.com/gpu": "1",
            "ephemeral-storage": "25Gi",
        },
        "limits": {"memory": "32Gi", "nvidia.com/gpu": "1"},
    }
    assert pod["affinity"] == L4_AFFINITY
    (cpu,) = by_kind(render(resolve(repo, "pools", "fraud-scorer")), "Deployment")
    assert "tolerations" not in cpu["spec"]["template"]["spec"]
    assert "nodeSelector" not in cpu["spec"]["template"]["spec"]
    assert "affinity" not in cpu["spec"]["template"]["spec"]


def test_gateway_data_plane_and_dns_are_environment_settings(repo: Path) -> None:
    # Envoy Gateway's proxies in its controller namespace; NodeLocal DNSCache on the host
    # network; an endpoint calling another through the gateway (proxies serve 80 on 10080).
    add_environment(
        repo,
        "shapes",
        "prod",
        "{ gateway+: { dataPlaneNamespaces: ['envoy-gateway-system'], internalPort: 10080,"
        " internalUrl: 'http://envoy-serving.envoy-gateway-system.svc' },"
        " dns: { namespace: null, cidrs: ['169.254.20.10/32'] } }",
    )
    manifests = render(resolve(repo, "shapes", "triage-agent"))
    (policy,) = by_kind(manifests, "NetworkPolicy")

    def namespace(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

    assert policy["spec"]["ingress"][0] == {
        "from": [namespace("envoy-gateway-system")],
        "ports": [{"protocol": "TCP", "port": "http"}],
    }
    assert policy["spec"]["egress"][:2] == [
        {
            "to": [{"ipBlock": {"cidr": "169.254.20.10/32"}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
        {"to": [namespace("envoy-gateway-system")], "ports": [{"protocol": "TCP", "port": 10080}]},
    ]
    (deployment,) = by_kind(manifests, "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {
        "name": "LLM_URL",
        "value": "http://envoy-serving.envoy-gateway-system.svc/support-llm",
    } in env
    # An endpoint that calls nothing gets no egress to the gateway.
    (other,) = by_kind(render(resolve(repo, "shapes", "fraud-scorer")), "NetworkPolicy")
    assert "envoy-gateway-system" not in str(other["spec"]["egress"])


def test_calling_an_endpoint_needs_the_gateways_internal_url(repo: Path) -> None:
    add_environment(repo, "nourl", "prod", "{ gateway+: { internalUrl: null } }")
    with pytest.raises(InputError) as raised:
        resolve(repo, "nourl", "triage-agent")
    assert [d.format() for d in raised.value.diagnostics] == [
        "endpoints/triage-agent.yaml:11:35: error: served[0].env[0].endpoint: `support-llm` is "
        "called through the gateway, and environment `nourl` does not say where it is: set "
        "`gateway.internalUrl` (the in-cluster URL of the gateway's Service)"
    ]


def test_dns_cidrs_must_be_cidrs(repo: Path) -> None:
    add_environment(repo, "baddns", "prod", "{ dns: { cidrs: ['169.254.20.10/33'] } }")
    with pytest.raises(InputError) as raised:
        resolve(repo, "baddns", "fraud-scorer")
    [message] = [d.format() for d in raised.value.diagnostics]
    assert "dns.cidrs.0" in message or "dns.cidrs[0]" in message
    assert "is not a CIDR block such as 169.254.20.10/32" in message


def test_replicas_spread_over_zones_then_hosts() -> None:
    (deployment,) = by_kind(render(resolve(PROJECT, "prod", "support-llm")), "Deployment")
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    selector = deployment["spec"]["selector"]
    assert spread == [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": selector,
            "matchLabelKeys": ["pod-template-hash"],
            "nodeTaintsPolicy": "Honor",
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]
