"""compiler.fingerprint: the compile cache fingerprints the code a compile runs, nothing else."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from compiler.fingerprint import compile_code, output_files
from compiler.plugins import build_plugin_manager

PROJECT = Path(__file__).resolve().parents[2]
AGAIN = re.compile(r"\((\d+) endpoint-environment pairs compiled again")


def project_files() -> set[str]:
    code = compile_code(build_plugin_manager(entry_points=False))
    assert code is not None
    return {path.relative_to(PROJECT).as_posix() for path in code}


def test_what_shapes_output_is_fingerprinted_and_the_rest_is_not() -> None:
    files = project_files()
    shaping = [
        "compiler/pipeline.py",
        "compiler/sources.py",
        "compiler/writer.py",
        "compiler/yamlout.py",
        "compiler/review/lint.py",  # lint findings are cached with the output
        "compiler/argocd/naming.py",
        "compiler/images/lock.py",
        "plugins/workload/deployment.py",
        "plugins/apa/metadata.py",  # the trigger-metadata contract
        "plugins/apa/queries.py",  # the default queries, rendered into the scaler's config
    ]
    assert [f for f in shaping if f not in files] == []
    not_output = [
        "plugins/apa/simulator/plot.py",
        "plugins/apa/simulator/cli.py",
        "plugins/apa/server.py",
        "plugins/apa/sampler.py",
        "plugins/apa/decision.py",
        "plugins/apa/cli.py",
        "compiler/argocd/client.py",
        "compiler/review/diff.py",
        "compiler/images/build.py",
        "compiler/cli.py",
    ]
    assert [f for f in not_output if f in files] == []


def write_package(root: Path) -> None:
    package = root / "acme"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from compiler import Manifest, hookimpl

            from .labels import TEAM


            @hookimpl
            def knobless_postprocess(manifests: tuple[Manifest, ...]) -> tuple[Manifest, ...]:
                patched = []
                for manifest in manifests:
                    metadata = dict(manifest.body["metadata"])
                    metadata["labels"] = {**metadata.get("labels", {}), "team": TEAM}
                    patched.append(manifest.replace({**manifest.body, "metadata": metadata}))
                return tuple(patched)
            """
        )
    )
    (package / "labels.py").write_text('TEAM = "blue"\n')
    (package / "tools.py").write_text('"""A helper no compile imports."""\n')
    (root / "knobless.toml").write_text('plugins = ["acme"]\n')


def test_imports_are_followed_within_the_plugin_package(repo: Path) -> None:
    write_package(repo)
    sys.path.insert(0, str(repo))
    try:
        manager = build_plugin_manager(root=repo, local=["acme"], entry_points=False)
        code = compile_code(manager)
    finally:
        sys.path.remove(str(repo))
        for name in [m for m in sys.modules if m == "acme" or m.startswith("acme.")]:
            del sys.modules[name]
    assert code is not None
    acme = sorted(p.name for p in code if p.parent.name == "acme")
    assert acme == ["__init__.py", "labels.py"]


def test_relative_and_parenthesised_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import (\n    b,\n    c as see,\n)\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("from ..d import x\n")
    (package / "sub" / "c.py").write_text("def f():\n    import pkg.e\n")
    (package / "d.py").write_text("x = 1\n")
    (package / "e.py").write_text("")
    (package / "unused.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        __import__("pkg")
        files = output_files(["pkg.a"], ["pkg"])
    finally:
        sys.path.remove(str(tmp_path))
        del sys.modules["pkg"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == [
        "pkg/__init__.py",
        "pkg/a.py",
        "pkg/d.py",
        "pkg/e.py",
        "pkg/sub/__init__.py",
        "pkg/sub/b.py",
        "pkg/sub/c.py",
    ]


def test_editing_code_no_compile_runs_keeps_the_cache(repo: Path) -> None:
    # A subprocess per compile: edited modules are imported afresh.
    write_package(repo)

    def compile_() -> int | None:
        done = subprocess.run(
            [sys.executable, "-m", "compiler", "compile", "--root", str(repo)],
            check=True,
            capture_output=True,
            text=True,
        )
        match = AGAIN.search(done.stderr.strip().splitlines()[-1])
        return int(match.group(1)) if match else None

    assert compile_() is None  # the first compile is a full one
    (repo / "acme" / "tools.py").write_text('"""A helper no compile imports, edited."""\n')
    assert compile_() == 0  # nothing compiled again
    (repo / "acme" / "labels.py").write_text('TEAM = "green"\n')
    assert compile_() is None  # code that shapes output changed: a full compile
    deployment = repo / "rendered/dev/fraud-scorer"
    assert any("team: green" in p.read_text() for p in deployment.glob("*.yaml"))
