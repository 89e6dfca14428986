"""`images build --push` plumbing with a stand-in `buildah` (a shell script that records its argv
and writes the digest file, as `buildah push --digestfile` does) and a stand-in `mlflow` that
writes a Dockerfile. Not a container build — no engine runs here — but the commands knobless
composes and the digest it records in images.lock. The real generator runs in
tests/realparts/test_images.py."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from compiler.cli import main
from compiler.images.lock import load_lock, write_lock
from tests.images.test_lock import PROJECT, REPOSITORY, SKLEARN, _lock

BUILDAH = """#!/bin/sh
echo "$@" >> "{log}"
if [ "$1" = push ]; then printf 'sha256:{digest}' > "$3"; fi
"""
MLFLOW = """#!/bin/sh
# mlflow models generate-dockerfile -m DEPS -d OUT --env-manager local
echo "$@" >> "{log}"
printf 'FROM python:3.11.7-slim\\n' > "$6/Dockerfile"
"""


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_push_records_the_digest_and_skips_pushed_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    (repo / "environments").mkdir(parents=True)
    for name in ("base.libsonnet", "dev.jsonnet"):
        (repo / "environments" / name).write_text((PROJECT / "environments" / name).read_text())
    write_lock(repo, _lock())
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    _script(bin_dir / "buildah", BUILDAH.format(log=log, digest="4" * 64))
    _script(bin_dir / "mlflow", MLFLOW.format(log=log))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    image = f"{REPOSITORY}:deps-{SKLEARN.digest[:16]}"
    out = tmp_path / "contexts"
    argv = ["images", "build", "--push", "--output", str(out), "--root", str(repo)]
    assert main(argv) == 0
    context = out / f"deps-{SKLEARN.digest[:16]}"
    calls = log.read_text().splitlines()
    assert calls == [
        f"models generate-dockerfile -m {context}/deps -d {context} --env-manager local",
        f"build --file {context}/Dockerfile --tag {image} {context}",
        f"push --digestfile {context}/.digest {image}",
    ]
    assert (context / "deps" / "requirements.txt").read_text() == (
        "mlflow==3.6.0\nscikit-learn==1.9.1\n"
    )
    assert load_lock(repo).pushed == {image: "sha256:" + "4" * 64}
    assert f"{image}: pushed sha256:{'4' * 64}" in capsys.readouterr().out
    assert main(argv) == 0  # pushed already: its tag is its dependencies, nothing to do
    assert len(log.read_text().splitlines()) == 3
    assert "0 images; 1 already pushed" in capsys.readouterr().err
