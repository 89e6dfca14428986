"""Regenerate the JSON Schemas of the Prometheus Operator PodMonitor and Argo CD AppProject subsets
knobless renders, and of the Envoy Gateway EnvoyProxy subset the docs ask for (run by hand, not
by pytest):

    python -m tests.render.contract.regenerate_crd_subsets PODMONITOR_CRD APPPROJECT_CRD [ENVOYPROXY_CRD]

- PODMONITOR_CRD: example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml of
  prometheus-operator/prometheus-operator v0.93.0 (commit 6adcebc5076c), Apache-2.0;
- APPPROJECT_CRD: manifests/crds/appproject-crd.yaml of argoproj/argo-cd v3.5.1 (commit
  109ca7ca7113), Apache-2.0 (../shared/reference/argocd/appproject-crd.yaml);
- ENVOYPROXY_CRD: charts/gateway-helm/charts/crds/crds/generated/
  gateway.envoyproxy.io_envoyproxies.yaml of envoyproxy/gateway v1.9.0 (commit d32f282942), Apache-2.0.

Each keeps exactly the fields knobless renders, with the CRD's own types, patterns and required
lists, closed with `additionalProperties: false` (the API server silently prunes unknown fields).
The output is committed; tests use it without the CRDs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.render.contract.crd_subset import KEEP, METADATA, cut

ROOT = Path(__file__).resolve().parents[3]
CRDS = ROOT / "schemas" / "crds"
UPSTREAM = {
    "PodMonitor": "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml of "
    "prometheus-operator/prometheus-operator v0.93.0 (commit 6adcebc5076c), Apache-2.0",
    "AppProject": "manifests/crds/appproject-crd.yaml of argoproj/argo-cd v3.5.1 (commit "
    "109ca7ca7113), Apache-2.0",
    "EnvoyProxy": "charts/gateway-helm/charts/crds/crds/generated/"
    "gateway.envoyproxy.io_envoyproxies.yaml of envoyproxy/gateway v1.9.0 (commit "
    "d32f28294245), Apache-2.0",
}
SUBSETS: dict[str, dict[str, Any]] = {
    "PodMonitor": {
        "selector": KEEP,
        "podMetricsEndpoints": {"port": KEEP, "path": KEEP, "interval": KEEP},
    },
    "AppProject": {
        "description": KEEP,
        "sourceRepos": KEEP,
        "destinations": KEEP,
        "clusterResourceWhitelist": KEEP,
        "namespaceResourceWhitelist": KEEP,
    },
    "EnvoyProxy": {
        "mergeBackends": KEEP,
        "mergeGateways": KEEP,
        "telemetry": {"metrics": {"clusterStatName": KEEP, "prometheus": KEEP}},
    },
}
USE = {"EnvoyProxy": "asks the cluster for"}
OUTPUT = {
    "PodMonitor": CRDS / "monitoring-podmonitor.schema.json",
    "AppProject": CRDS / "argocd-appproject.schema.json",
    # Not rendered: what docs/guide/environments.md asks of the cluster (tests only).
    "EnvoyProxy": ROOT / "tests" / "apa" / "contract" / "envoy-gateway" / "envoyproxy.schema.json",
}


def subset_schema(crd: dict[str, Any]) -> dict[str, Any]:
    kind = crd["spec"]["names"]["kind"]
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    root = version["schema"]["openAPIV3Schema"]
    api_version = f"{crd['spec']['group']}/{version['name']}"
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": f"The subset of the {kind} CRD knobless {USE.get(kind, 'renders')}, cut from {UPSTREAM[kind]} "
        "by tests/render/contract/regenerate_crd_subsets.py. metadata follows ObjectMeta.",
        "title": f"{kind} (knobless subset)",
        "x-knobless-kind": {"apiVersion": api_version, "kind": kind},
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": METADATA,
            "spec": cut(root["properties"]["spec"], SUBSETS[kind]),
        },
    }


def main(argv: list[str]) -> int:
    for path in argv[1:]:
        crd = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        schema = subset_schema(crd)
        kind = schema["x-knobless-kind"]["kind"]
        OUTPUT[kind].write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
