"""Sync waves added by the post-process hook, and the whole pipeline with the plugin in it."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from compiler.manifest import Manifest
from plugins.argocd import knobless_postprocess
from plugins.argocd.syncwaves import SYNC_WAVE, with_sync_waves
from tests.argocd.helpers import REPO, environment

GOLDEN = Path(__file__).parent / "golden"


def manifest(kind: str, **annotations: str) -> Manifest:
    metadata: dict[str, object] = {"name": "x", "namespace": "serving-x"}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return Manifest("x", {"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": {}})


@pytest.mark.parametrize(
    ("kind", "wave"),
    [
        ("Namespace", "-2"),
        ("ServiceAccount", "-1"),
        ("ConfigMap", "-1"),
        ("Secret", "-1"),
        ("ExternalSecret", "-1"),
        ("RoleBinding", "-1"),
        ("NetworkPolicy", "0"),
        ("Service", "0"),
        ("Deployment", "0"),
        ("StatefulSet", "0"),
        ("PodDisruptionBudget", "0"),
        ("HTTPRoute", "0"),
        ("ScaledObject", "1"),
        ("PodMonitor", "1"),
        ("AppProject", "-1"),
        ("TriggerAuthentication", "1"),
    ],
)
def test_wave_by_kind(kind: str, wave: str) -> None:
    (out,) = with_sync_waves([manifest(kind)])
    assert out.body["metadata"]["annotations"] == {SYNC_WAVE: wave}


def test_unknown_kinds_and_applications_are_left_alone() -> None:
    originals = [manifest("Application"), manifest("ServiceMonitor")]
    assert [a is b for a, b in zip(with_sync_waves(originals), originals, strict=True)] == [
        True,
        True,
    ]


def test_a_wave_already_set_is_kept_and_other_annotations_survive() -> None:
    (out,) = with_sync_waves([manifest("Deployment", **{SYNC_WAVE: "5", "b": "1", "a": "2"})])
    assert out.body["metadata"]["annotations"] == {SYNC_WAVE: "5", "b": "1", "a": "2"}
    (out,) = with_sync_waves([manifest("Deployment", b="1", a="2")])
    assert list(out.body["metadata"]["annotations"]) == ["a", SYNC_WAVE, "b"]


def test_inputs_are_never_modified() -> None:
    inputs = (manifest("Namespace"), manifest("ScaledObject", keep="me"))
    before = copy.deepcopy([m.body for m in inputs])
    outputs = knobless_postprocess(manifests=inputs, environment=environment("dev"))
    assert [m.body for m in inputs] == before
    assert outputs[1].body["metadata"]["annotations"] == {SYNC_WAVE: "1", "keep": "me"}
    assert outputs[1].folder == "x"


def test_the_compiled_repository_has_waves_the_goldens_and_no_tool_files() -> None:
    """The real pipeline with every built-in plugin: what `knobless compile` writes."""
    from compiler.pipeline import compile_repository

    result = compile_repository(REPO)
    for env in ("dev", "prod"):
        written = {
            path.rsplit("/", 1)[1]: content
            for path, content in result.files.items()
            if path.startswith(f"{env}/platform/argocd/application-")
        }  # the AppProject beside them is pinned by tests/render/test_project_podmonitor.py
        golden = {p.name: p.read_bytes() for p in (GOLDEN / env).glob("*.yaml")}
        assert written == golden
    assert [
        p
        for p in result.files
        if re.search(r"(?i)/(kustomization\.ya?ml|kustomization|chart\.yaml)$", p)
    ] == []
    waves: dict[str, set[str | None]] = {}
    for content in result.files.values():
        body = yaml.safe_load(content)
        waves.setdefault(body["kind"], set()).add(
            body["metadata"].get("annotations", {}).get(SYNC_WAVE)
        )
    assert waves["Namespace"] == {"-2"}
    assert waves["ServiceAccount"] == {"-1"}
    assert waves["Deployment"] == {"0"}
    assert waves["ScaledObject"] == {"1"}
    assert waves["Application"] == {None}
