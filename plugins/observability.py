"""Observability: an OpenTelemetry Collector sidecar per pod, its ConfigMap, scrape annotations.

The model container sends traces, logs and metrics over OTLP to the sidecar on localhost. The
sidecar exports traces and logs to the environment's `observability.otlpEndpoint` and exposes
metrics for Prometheus. Payload logging: log records with the attribute `knobless.payload=true`
(request/response pairs) go through their own pipeline sampled at `logging.payloads.sampleRate`;
without a rate they are dropped, so payloads never leave the pod by accident.

The sidecar is a native sidecar (an init container with `restartPolicy: Always`): it starts
before the model and stops after it, so telemetry of the last drained requests is exported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compiler import hookimpl
from compiler.manifest import Manifest
from compiler.yamlout import YamlWriter
from plugins.workload.labels import endpoint_labels, namespace_of
from plugins.workload.probes import http_probe

if TYPE_CHECKING:
    from compiler.context import EndpointContext

CONFIG_KEY = "config.yaml"
CONFIG_DIR = "/etc/otelcol"
OTLP_GRPC = "127.0.0.1:4317"
OTLP_HTTP = "127.0.0.1:4318"
METRICS_PORT = 8889
"""The sidecar's Prometheus exporter: metrics the model sends over OTLP."""
HEALTH_PORT = 13133
PAYLOAD_ATTRIBUTE = "knobless.payload"


def config_map_name(endpoint: str) -> str:
    return f"{endpoint}-otel"


def collector_config(endpoint: EndpointContext) -> dict[str, Any]:
    """The collector's configuration (also part of the pod's config hash)."""
    observability = endpoint.environment.observability
    logging = endpoint.spec.logging
    rate = logging.payloads.sampleRate if logging and logging.payloads else None
    processors: dict[str, Any] = {
        "memory_limiter": {
            "check_interval": "1s",
            "limit_percentage": 80,
            "spike_limit_percentage": 20,
        },
        "resource": {
            "attributes": [
                {"key": "service.name", "value": endpoint.spec.name, "action": "upsert"},
                {"key": "k8s.namespace.name", "value": namespace_of(endpoint), "action": "upsert"},
                {"key": "k8s.pod.name", "value": "${env:K8S_POD_NAME}", "action": "upsert"},
                {"key": "knobless.served", "value": "${env:KNOBLESS_SERVED}", "action": "upsert"},
                {
                    "key": "deployment.environment.name",
                    "value": endpoint.environment.name,
                    "action": "upsert",
                },
            ]
        },
        "filter/drop-payloads": {
            "error_mode": "ignore",
            "logs": {"log_record": [f'attributes["{PAYLOAD_ATTRIBUTE}"] == true']},
        },
    }
    pipelines: dict[str, Any] = {
        "traces": {
            "receivers": ["otlp"],
            "processors": ["memory_limiter", "resource", "batch"],
            "exporters": ["otlp"],
        },
        "metrics": {
            "receivers": ["otlp"],
            "processors": ["memory_limiter", "resource", "batch"],
            "exporters": ["prometheus"],
        },
        "logs": {
            "receivers": ["otlp"],
            "processors": ["memory_limiter", "filter/drop-payloads", "resource", "batch"],
            "exporters": ["otlp"],
        },
    }
    if rate:
        processors["filter/only-payloads"] = {
            "error_mode": "ignore",
            "logs": {"log_record": [f'attributes["{PAYLOAD_ATTRIBUTE}"] != true']},
        }
        processors["probabilistic_sampler/payloads"] = {"sampling_percentage": round(rate * 100, 6)}
        pipelines["logs/payloads"] = {
            "receivers": ["otlp"],
            "processors": [
                "memory_limiter",
                "filter/only-payloads",
                "probabilistic_sampler/payloads",
                "resource",
                "batch",
            ],
            "exporters": ["otlp"],
        }
    processors["batch"] = {}
    return {
        "extensions": {"health_check": {"endpoint": f"0.0.0.0:{HEALTH_PORT}"}},
        "receivers": {
            "otlp": {
                "protocols": {"grpc": {"endpoint": OTLP_GRPC}, "http": {"endpoint": OTLP_HTTP}}
            }
        },
        "processors": processors,
        "exporters": {
            "otlp": {
                "endpoint": observability.otlpEndpoint,
                "tls": {"insecure": observability.otlpInsecure},
            },
            "prometheus": {"endpoint": f"0.0.0.0:{METRICS_PORT}"},
        },
        "service": {"extensions": ["health_check"], "pipelines": pipelines},
    }


def collector_config_text(endpoint: EndpointContext) -> str:
    # The compiler's YAML writer: same bytes as PyYAML, without its slow Python representer.
    return YamlWriter().dump(collector_config(endpoint))


def sidecar_container(endpoint: EndpointContext, served_name: str) -> dict[str, Any]:
    """The collector container (security context added by the workload, like every container)."""
    return {
        "name": "otel-collector",
        "image": endpoint.environment.runtimes.otelCollector,
        "args": [f"--config={CONFIG_DIR}/{CONFIG_KEY}"],
        "ports": [
            {"name": "otel-metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
            {"name": "otel-health", "containerPort": HEALTH_PORT, "protocol": "TCP"},
        ],
        "env": [
            {"name": "KNOBLESS_SERVED", "value": served_name},
            {"name": "K8S_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "GOMEMLIMIT", "value": "100MiB"},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "startupProbe": http_probe("/", "otel-health", period=2, failures=30),
        # No readiness probe: a native sidecar's readiness counts towards the pod's Ready
        # condition, so a collector hiccup would take a healthy model out of its Service.
        "livenessProbe": http_probe("/", "otel-health", period=10, failures=3),
        "volumeMounts": [{"name": "otel-config", "mountPath": CONFIG_DIR, "readOnly": True}],
        # A native sidecar: started before the model, stopped after it.
        "restartPolicy": "Always",
    }


def sidecar_volume(endpoint: EndpointContext) -> dict[str, Any]:
    return {"name": "otel-config", "configMap": {"name": config_map_name(endpoint.spec.name)}}


def model_env(endpoint: EndpointContext, served_name: str) -> tuple[dict[str, Any], ...]:
    """Standard OpenTelemetry SDK settings pointing the model's telemetry at the sidecar."""
    return (
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": f"http://{OTLP_GRPC}"},
        {"name": "OTEL_SERVICE_NAME", "value": endpoint.spec.name},
        {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": f"knobless.served={served_name}"},
    )


def scrape_annotations(metrics_port: int | None, metrics_path: str) -> dict[str, str]:
    """Prometheus scrape annotations: the runtime's own metrics if it has them, else the
    sidecar's exporter (only one port per pod can be named this way)."""
    port, path = (metrics_port, metrics_path) if metrics_port else (METRICS_PORT, "/metrics")
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": path,
    }


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(endpoint.spec.name),
            "namespace": namespace_of(endpoint),
            "labels": endpoint_labels(endpoint.spec.name),
        },
        "data": {CONFIG_KEY: collector_config_text(endpoint)},
    }
    return [Manifest(endpoint.spec.name, body)]
