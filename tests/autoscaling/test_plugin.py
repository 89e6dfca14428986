"""The autoscaling plugin through pluggy, as the pipeline calls it."""

from __future__ import annotations

import pluggy

import plugins.autoscaling
from compiler import hookspecs
from compiler.manifest import Manifest
from compiler.plugins import BUILTIN_PLUGINS

from .contexts import all_contexts, endpoint_context, load_environment


def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(plugins.autoscaling, name="knobless.autoscaling")
    return pm


def flatten(results: list) -> list[Manifest]:
    return [m for result in results for m in (result or ())]


def test_registered_as_a_builtin() -> None:
    assert ("knobless.autoscaling", "plugins.autoscaling") in BUILTIN_PLUGINS


def test_one_scaled_object_per_served_version_in_the_endpoint_folder() -> None:
    endpoint = endpoint_context("feed-ranker", load_environment("prod"))
    manifests = flatten(manager().hook.knobless_render_endpoint(endpoint=endpoint))
    assert [(m.folder, m.filename) for m in manifests] == [
        ("feed-ranker", "scaledobject-feed-ranker-v12.yaml"),
        ("feed-ranker", "scaledobject-feed-ranker-v13.yaml"),
    ]


def test_tls_adds_one_trigger_authentication_per_endpoint() -> None:
    environment = load_environment("prod", scaler={"tls": {"enabled": True}})
    endpoint = endpoint_context("feed-ranker", environment)
    manifests = flatten(manager().hook.knobless_render_endpoint(endpoint=endpoint))
    assert [m.filename for m in manifests] == [
        "scaledobject-feed-ranker-v12.yaml",
        "scaledobject-feed-ranker-v13.yaml",
        "triggerauthentication-knobless-apa.yaml",
    ]
    assert manifests[2].namespace == "serving-feed-ranker"


def test_platform_objects_rendered_once_per_environment() -> None:
    environment = load_environment("dev")
    manifests = flatten(
        manager().hook.knobless_render_environment(
            environment=environment,
            summaries=(),
            endpoints=all_contexts(environment),
        )
    )
    assert [m.path("dev") for m in manifests] == [
        "dev/platform/namespace-knobless-system.yaml",
        "dev/platform/serviceaccount-knobless-apa.yaml",
        "dev/platform/service-knobless-apa.yaml",
        "dev/platform/statefulset-knobless-apa.yaml",
        "dev/platform/poddisruptionbudget-knobless-apa.yaml",
        "dev/platform/networkpolicy-knobless-apa.yaml",
    ]


def test_rendering_is_deterministic_and_does_not_share_mutable_parts() -> None:
    environment = load_environment("prod", scaler={"tls": {"enabled": True}, "shards": 3})
    first = [
        m.body
        for e in all_contexts(environment)
        for m in flatten(manager().hook.knobless_render_endpoint(endpoint=e))
    ]
    first[0]["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleUp"][
        "policies"
    ].clear()
    second = [
        m.body
        for e in all_contexts(environment)
        for m in flatten(manager().hook.knobless_render_endpoint(endpoint=e))
    ]
    assert second[0]["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleUp"][
        "policies"
    ]
    assert len(second) == len(first)


def _shared_parts(value: object, seen: dict[int, object]) -> list[object]:
    if not isinstance(value, dict | list):
        return []
    if id(value) in seen:
        return [value]
    seen[id(value)] = value
    children = value.values() if isinstance(value, dict) else value
    return [shared for child in children for shared in _shared_parts(child, seen)]


def test_no_object_shares_a_dict_or_list_with_another() -> None:
    # The writer turns a shared part into a YAML anchor (&id001): every part must be its own.
    environment = load_environment(
        "prod", scaler={"tls": {"enabled": True}}, prometheus={"queries": {"queue": "q"}}
    )
    bodies = [
        m.body
        for e in all_contexts(environment)
        for m in flatten(manager().hook.knobless_render_endpoint(endpoint=e))
    ]
    bodies += [
        m.body
        for m in flatten(
            manager().hook.knobless_render_environment(
                environment=environment, summaries=(), endpoints=()
            )
        )
    ]
    seen: dict[int, object] = {}
    assert [shared for body in bodies for shared in _shared_parts(body, seen)] == []
