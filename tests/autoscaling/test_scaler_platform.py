"""The scaler's platform objects, validated against the Kubernetes 1.33 OpenAPI schemas (strict).

No API server runs here: kubernetes-validate checks the published contract, strict about unknown
fields, as the cluster would on apply.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pytest

from compiler.manifest import PLATFORM
from compiler.models.environment import Environment
from plugins.autoscaling.scaler_platform import render_platform

from .contexts import ENVIRONMENT_NAMES, load_environment

K8S = "1.33"


def platform(environment: Environment) -> dict[str, dict[str, Any]]:
    manifests = render_platform(environment)
    assert {m.folder for m in manifests} == {PLATFORM}
    return {m.kind: m.body for m in manifests}


def container(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (only,) = objects["StatefulSet"]["spec"]["template"]["spec"]["containers"]
    return only


VARIANTS = [
    {},
    {"scaler": {"tls": {"enabled": True}, "shards": 5}},
    {"prometheus": {"queries": {"concurrency": 'sum(rate(x{namespace="{namespace}"}[1m]))'}}},
    {"prometheus": {"url": "https://prometheus.example.com"}, "scaler": {"namespace": "apa"}},
]


@pytest.mark.parametrize("environment_name", ENVIRONMENT_NAMES)
@pytest.mark.parametrize("changes", VARIANTS)
def test_every_platform_object_validates_strictly(environment_name: str, changes: dict) -> None:
    for body in platform(load_environment(environment_name, **changes)).values():
        kubernetes_validate.validate(body, K8S, strict=True)


def test_strict_validation_really_rejects_unknown_fields() -> None:
    body = copy.deepcopy(platform(load_environment("prod"))["StatefulSet"])
    body["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(body, K8S, strict=True)


def test_objects_without_tls_or_queries() -> None:
    objects = platform(load_environment("prod"))
    assert sorted(objects) == [
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    ]
    spec = objects["StatefulSet"]["spec"]
    assert spec["replicas"] == 1
    assert spec["serviceName"] == "knobless-apa"
    assert objects["Service"]["spec"]["clusterIP"] == "None"
    assert container(objects)["args"] == [
        "scaler",
        "--listen",
        "0.0.0.0:9090",
        "--prometheus",
        "http://prometheus-operated.monitoring.svc:9090",
        "--state",
        "/var/lib/knobless/state.json",
        "--metrics-listen",
        "0.0.0.0:9100",
    ]
    probe = container(objects)["readinessProbe"]
    assert probe == {"grpc": {"port": 9090}, "periodSeconds": 5, "failureThreshold": 2}
    assert {v["name"] for v in spec["template"]["spec"]["volumes"]} == {"state", "tmp"}


def test_one_pod_per_shard_and_tls_flags_mounts_and_probe() -> None:
    environment = load_environment(
        "prod", scaler={"shards": 6, "tls": {"enabled": True, "secretName": "apa-server"}}
    )
    objects = platform(environment)
    assert objects["StatefulSet"]["spec"]["replicas"] == 6
    scaler = container(objects)
    assert scaler["args"][-6:] == [
        "--tls-cert",
        "/etc/knobless/tls/tls.crt",
        "--tls-key",
        "/etc/knobless/tls/tls.key",
        "--tls-client-ca",
        "/etc/knobless/tls/ca.crt",
    ]
    volumes = objects["StatefulSet"]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tls", "secret": {"secretName": "apa-server"}} in volumes
    # The kubelet's gRPC probe has no TLS: probe the plain metrics port instead.
    assert scaler["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert scaler["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['apps.kubernetes.io/pod-index']"
    )


def test_restricted_pod_security() -> None:
    objects = platform(load_environment("prod"))
    pod = objects["StatefulSet"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = container(objects)["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert objects["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )
    assert objects["ServiceAccount"]["automountServiceAccountToken"] is False


def test_queries_config_map_is_mounted_and_sorted() -> None:
    queries = {"queue": "sum(q)", "concurrency": "sum(c)"}
    objects = platform(load_environment("dev", prometheus={"queries": queries}))
    data = objects["ConfigMap"]["data"]["queries.json"]
    assert json.loads(data) == queries
    assert list(json.loads(data)) == ["concurrency", "queue"]
    assert container(objects)["args"][-2:] == ["--queries", "/etc/knobless/queries/queries.json"]


def test_network_policy_lets_keda_in_and_prometheus_out() -> None:
    environment = load_environment("prod", scaler={"kedaNamespace": "keda-system", "port": 7000})
    policy = platform(environment)["NetworkPolicy"]["spec"]
    keda, monitoring = policy["ingress"]
    assert keda == {
        "from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda-system"}}}
        ],
        "ports": [{"protocol": "TCP", "port": 7000}],
    }
    assert monitoring["ports"] == [{"protocol": "TCP", "port": 9100}]
    prometheus, dns = policy["egress"]
    assert prometheus == {
        "to": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ],
        "ports": [{"protocol": "TCP", "port": 9090}],
    }
    assert {p["port"] for p in dns["ports"]} == {53}


def test_network_policy_for_a_prometheus_outside_the_cluster() -> None:
    environment = load_environment("prod", prometheus={"url": "https://prom.example.com"})
    prometheus = platform(environment)["NetworkPolicy"]["spec"]["egress"][0]
    assert prometheus == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }


def test_the_environments_gateway_picks_templates_the_queries_override() -> None:
    # Envoy Gateway's templates go to the scaler as `--queries`; the environment's own
    # `prometheus.queries` win over them, signal by signal. The scaler reads the file the same
    # way (tests/apa/test_config_state.py), so every signal can be set for any gateway.
    from plugins.apa.config import GATEWAY_QUERIES, load_config

    prometheus = {"gateway": "envoy-gateway", "queries": {"latency": "sum(l)"}}
    objects = platform(load_environment("dev", prometheus=prometheus))
    data = json.loads(objects["ConfigMap"]["data"]["queries.json"])
    assert data == {**GATEWAY_QUERIES["envoy-gateway"], "latency": "sum(l)"}
    assert container(objects)["args"][-2:] == ["--queries", "/etc/knobless/queries/queries.json"]
    assert "ConfigMap" not in platform(load_environment("dev", prometheus={"gateway": "istio"}))
    assert load_config().queries["concurrency"].count('reporter="source"') == 1
