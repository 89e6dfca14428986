"""The plugin API's deprecations (compiler.deprecation): old plugins keep working and warn once
per line, at their own line.

Hooks used to receive an `EnvironmentContext` (an Environment and its file) in the
environment-wide hooks and an `Environment` elsewhere; every hook now receives the Environment.
A plugin package written the old way, really built and installed by pip with an entry point, still
compiles and says what to change."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

import compiler
from compiler.deprecation import KnoblessDeprecationWarning
from compiler.environments import load_environment
from compiler.writer import read_tree

PROJECT = Path(__file__).resolve().parents[2]

OLD_PLUGIN = '''\
"""Labels every object with its cluster, written against the EnvironmentContext API."""

from __future__ import annotations

from compiler import EnvironmentContext, Manifest, hookimpl

LABEL = "acme.example/cluster"


@hookimpl
def knobless_postprocess(
    manifests: tuple[Manifest, ...], environment: EnvironmentContext
) -> tuple[Manifest, ...]:
    cluster = environment.environment.cluster.name
    labelled = []
    for manifest in manifests:
        metadata = dict(manifest.body["metadata"])
        metadata["labels"] = {**metadata.get("labels", {}), LABEL: cluster}
        labelled.append(manifest.replace({**manifest.body, "metadata": metadata}))
    return tuple(labelled)


@hookimpl
def knobless_check(manifests: tuple[Manifest, ...], environment: EnvironmentContext) -> list:
    assert isinstance(environment, EnvironmentContext)
    assert environment.source == f"environments/{environment.name}.jsonnet"
    return []
'''

PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "acme-cluster-label"
version = "1.0.0"

[project.entry-points."knobless.plugins"]
acme-cluster = "acme_cluster"
"""


@pytest.fixture(scope="module")
def installed_old_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The old plugin as a package, built and installed by pip into its own folder."""
    work = tmp_path_factory.mktemp("old-plugin")
    package = work / "src"
    package.mkdir()
    (package / "pyproject.toml").write_text(PYPROJECT)
    (package / "acme_cluster.py").write_text(OLD_PLUGIN)
    site = work / "site"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"),
            *("--no-build-isolation", "--target", str(site), str(package)),
        ],
        check=True,
        capture_output=True,
    )
    assert (site / "acme_cluster.py").is_file()
    return site


def test_an_old_plugin_installed_with_an_entry_point_compiles_and_warns_once_per_line(
    installed_old_plugin: Path, repo: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "compiler", "compile", "--jobs", "1", "--root", str(repo)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(installed_old_plugin)},
    )
    assert done.returncode == 0, done.stderr
    plugin = installed_old_plugin / "acme_cluster.py"
    warned = [line for line in done.stderr.splitlines() if "KnoblessDeprecationWarning" in line]
    assert warned == [
        f"{plugin}:5: KnoblessDeprecationWarning: `EnvironmentContext` is deprecated: hooks "
        "receive the Environment itself; import `Environment` from compiler instead "
        "(`environment.environment.X` becomes `environment.X`); see "
        "docs/contributing/plugins.md#deprecations",
        f"{plugin}:14: KnoblessDeprecationWarning: `environment.environment` is deprecated: "
        "hooks receive the Environment itself (write `environment.images`, not "
        "`environment.environment.images`); see docs/contributing/plugins.md#deprecations",
    ]
    clusters = {"dev": "dev-eu-west-1", "prod": "prod-us-east-1"}
    files = read_tree(repo / "rendered")
    assert {p.split("/")[0] for p in files} == set(clusters)
    for path, content in files.items():
        labels = yaml.safe_load(content)["metadata"]["labels"]
        assert labels["acme.example/cluster"] == clusters[path.split("/")[0]], path


def test_the_old_names_still_work_and_warn_at_the_callers_line() -> None:
    environment, _source = load_environment(PROJECT, PROJECT / "environments" / "dev.jsonnet")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old: Any = compiler.EnvironmentContext  # for mypy an alias of Environment
        wrapped = old(environment, "environments/dev.jsonnet")
        unwrapped = environment.environment
    assert wrapped is environment and unwrapped is environment
    assert isinstance(environment, old) and not isinstance("dev", old)
    assert [(w.category, Path(w.filename).name) for w in caught] == [
        (KnoblessDeprecationWarning, "test_deprecations.py")
    ] * 2
    assert issubclass(KnoblessDeprecationWarning, FutureWarning)  # shown to users by default
    assert "EnvironmentContext" not in compiler.__all__


def test_every_hook_receives_an_environment() -> None:
    source = (PROJECT / "compiler" / "hookspecs.py").read_text()
    assert "EnvironmentContext" not in source
    hooks = textwrap.dedent(source).count("environment: Environment")
    assert hooks == 6  # validate_endpoint, select_runtime, and the four environment-wide hooks
