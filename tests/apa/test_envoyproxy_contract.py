"""The EnvoyProxy docs/guide/environments.md asks an Envoy Gateway cluster for, checked against
Envoy Gateway v1.9.0's own CRD (the subset in tests/apa/contract/envoy-gateway/
envoyproxy.schema.json, cut by tests/render/contract/regenerate_crd_subsets.py from
envoyproxy/gateway d32f282): what the query templates rely on is spelt as the API server takes it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads(
    (Path(__file__).parent / "contract" / "envoy-gateway" / "envoyproxy.schema.json").read_text()
)
MARKER = "<!-- envoyproxy:"


def documented() -> dict[str, Any]:
    page = (ROOT / "docs" / "guide" / "environments.md").read_text(encoding="utf-8")
    _, _, after = page.partition(MARKER)
    block = after.split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded: dict[str, Any] = yaml.safe_load(textwrap.dedent(block))
    return loaded


def errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    found = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]
    spec = document.get("spec", {})
    # The CRD's CEL rule on spec (restated: JSON Schema cannot say it).
    if spec.get("mergeGateways") and "mergeBackends" in spec:
        found.append("spec: mergeGateways and mergeBackends cannot both be enabled")
    return found


def test_the_documented_envoyproxy_is_valid_and_sets_what_the_templates_read() -> None:
    proxy = documented()
    assert errors(proxy) == []
    assert proxy["spec"]["mergeBackends"] == {}  # its presence turns merging on
    assert proxy["spec"]["telemetry"]["metrics"]["clusterStatName"] == "%BACKEND_REFS%"


def test_the_subset_refuses_what_the_api_server_would_drop_or_refuse() -> None:
    proxy = documented()
    typo = {**proxy, "spec": {**proxy["spec"], "mergeBackend": {}}}
    assert errors(typo) == [
        "spec: Additional properties are not allowed ('mergeBackend' was unexpected)"
    ]
    both = {**proxy, "spec": {**proxy["spec"], "mergeGateways": True}}
    assert errors(both) == ["spec: mergeGateways and mergeBackends cannot both be enabled"]
    wrong = {**proxy, "spec": {**proxy["spec"], "mergeBackends": True}}
    assert errors(wrong) == ["spec/mergeBackends: True is not of type 'object'"]
