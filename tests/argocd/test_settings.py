"""The environment's `argocd` block: defaults, and readable errors pointing at the jsonnet line."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.environments import load_environment
from compiler.errors import InputError
from tests.argocd.helpers import REPO


def test_defaults() -> None:
    environment, _ = load_environment(REPO, REPO / "environments" / "dev.jsonnet")
    settings = environment.argocd
    assert (settings.retry.limit, settings.retry.backoff.duration) == (5, "5s")
    assert (settings.retry.backoff.factor, settings.retry.backoff.maxDuration) == (2, "3m")
    assert settings.controlPlaneServer == "https://kubernetes.default.svc"
    assert (settings.rootProject, settings.syncOptions) == (None, {})


def test_bad_settings_are_reported_at_their_line(tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    base = (REPO / "environments" / "base.libsonnet").read_text()
    (tmp_path / "environments" / "base.libsonnet").write_text(base)
    (tmp_path / "environments" / "dev.jsonnet").write_text(
        "local base = import 'base.libsonnet';\n"
        "base {\n"
        "  name: 'dev',\n"
        "  cluster: { name: 'dev', server: 'https://dev.k8s.example.com' },\n"
        "  argocd+: {\n"
        "    retry: { backoff: { duration: '5 minutes' } },\n"
        "    controlPlaneServer: 'https://hub.example.com/',\n"
        "    syncOptions: { 'Server-Side': 'true' },\n"
        "  },\n"
        "}\n"
    )
    with pytest.raises(InputError) as caught:
        load_environment(tmp_path, tmp_path / "environments" / "dev.jsonnet")
    assert [d.format() for d in caught.value.diagnostics] == [
        "environments/dev.jsonnet:6:25: error: argocd.retry.backoff.duration: `5 minutes` is not "
        "a duration: use seconds (30) or Go units (30s, 5m, 1h30m)",
        "environments/dev.jsonnet:7:5: error: argocd.controlPlaneServer: "
        "`https://hub.example.com/` must be an https:// URL without a trailing slash, written as "
        "the cluster is registered in Argo CD",
        "environments/dev.jsonnet:8:20: error: argocd.syncOptions.Server-Side: `Server-Side` is "
        "not an Argo CD sync option name (letters only, e.g. PrunePropagationPolicy)",
    ]
