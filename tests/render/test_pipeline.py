"""Through the whole compile: the built-in plugins render every object, and the compiler's own
schema check validates each one (the HTTPRoute against schemas/crds/gateway-httproute.schema.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler import Manifest, hookimpl
from compiler.errors import InputError
from compiler.pipeline import compile_repository
from compiler.plugins import build_plugin_manager

from .helpers import edit_endpoint

EXPECTED_FEED_RANKER = {
    "configmap-feed-ranker-otel.yaml",
    "deployment-feed-ranker-v12.yaml",
    "deployment-feed-ranker-v13.yaml",
    "httproute-feed-ranker.yaml",
    "namespace-serving-feed-ranker.yaml",
    "networkpolicy-feed-ranker.yaml",
    "poddisruptionbudget-feed-ranker-v12.yaml",
    "poddisruptionbudget-feed-ranker-v13.yaml",
    "service-feed-ranker-v12.yaml",
    "service-feed-ranker-v13.yaml",
    "serviceaccount-feed-ranker.yaml",
}


def test_compile_renders_every_object_of_an_endpoint(repo: Path) -> None:
    result = compile_repository(repo, environments=["prod"])
    names = {
        path.rsplit("/", 1)[1] for path in result.files if path.startswith("prod/feed-ranker/")
    }
    assert names >= EXPECTED_FEED_RANKER
    assert not [d for d in result.diagnostics if "httproute" in d.path]


class BreaksTheRoute:
    """Post-processing that makes the HTTPRoute invalid, to prove the check looks at it."""

    @hookimpl
    def knobless_postprocess(self, manifests: tuple[Manifest, ...], environment: Any) -> Any:
        changed = []
        for manifest in manifests:
            if manifest.kind == "HTTPRoute":
                body = {**manifest.body, "spec": {**manifest.body["spec"], "rules": []}}
                manifest = manifest.replace(body)
            changed.append(manifest)
        return tuple(changed)


def test_an_invalid_route_fails_the_compile_schema_check(repo: Path) -> None:
    manager = build_plugin_manager(entry_points=False, extra=[("zz.break", BreaksTheRoute())])
    with pytest.raises(InputError) as raised:
        compile_repository(repo, environments=["prod"], manager=manager)
    (problem,) = [
        d for d in raised.value.diagnostics if d.path.endswith("httproute-feed-ranker.yaml")
    ]
    assert problem.path == "rendered/prod/feed-ranker/httproute-feed-ranker.yaml"
    assert "spec.rules" in problem.message
    assert "schemas/crds/gateway-httproute.schema.json" in problem.message


def _compiled_templates(root: Path) -> dict[str, Any]:
    result = compile_repository(root, environments=["prod"])
    return {
        m.path("prod"): m.body["spec"]["template"]
        for m in result.manifests["prod"]
        if m.kind == "Deployment"
    }


def _owner_and_scaling(data: dict[str, Any]) -> None:
    data.update(owner="new-owner@example.com", description="changed")
    data["scaling"]["concurrency"] = {"min": 2, "max": 3}


def test_after_every_plugin_and_post_processing_routing_and_scaling_changes_restart_nothing(
    repo: Path,
) -> None:
    before = _compiled_templates(repo)
    edit_endpoint(repo, "feed-ranker", lambda d: d.update(traffic={"v12": 50, "v13": 50}))
    for name in ("fraud-scorer", "churn-classifier"):
        edit_endpoint(repo, name, _owner_and_scaling)
    assert _compiled_templates(repo) == before


class LabelsOnlyFromManifests:
    """A post-processor taking only `manifests` (pluggy lets an implementation take any subset of
    the spec's arguments), registered under another function name with `specname`."""

    @hookimpl(specname="knobless_postprocess")
    def stamp(self, manifests: tuple[Manifest, ...]) -> tuple[Manifest, ...]:
        stamped = []
        for manifest in manifests:
            metadata = manifest.body["metadata"]
            labels = {**metadata.get("labels", {}), "stamped": "yes"}
            stamped.append(
                manifest.replace({**manifest.body, "metadata": {**metadata, "labels": labels}})
            )
        return tuple(stamped)


def test_postprocess_is_called_with_the_arguments_the_implementation_names(repo: Path) -> None:
    manager = build_plugin_manager(
        entry_points=False, extra=[("zz.stamp", LabelsOnlyFromManifests())]
    )
    result = compile_repository(repo, environments=["dev"], manager=manager)
    labels = [m.body["metadata"].get("labels", {}).get("stamped") for m in result.manifests["dev"]]
    assert labels and set(labels) == {"yes"}
