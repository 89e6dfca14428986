"""`knobless images build`: a Dockerfile per locked image from MLflow's own generator, then the
image from the container builder present.

    <output>/<tag>/deps/           what the image installs (compiler.images.dependencies)
    <output>/<tag>/Dockerfile      `mlflow models generate-dockerfile -m deps --env-manager local`
    <output>/<tag>/model_dir/      the generator's copy of deps/ (its build context)

The generator comes from the mlflow CLI (`--mlflow PATH`, KNOBLESS_MLFLOW_CLI, else `mlflow` on
PATH); knobless writes no installer of its own. Builders: docker, buildah, or kaniko's executor.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from compiler.errors import ImagesError
from compiler.images.dependencies import write_model_dir
from compiler.images.lock import IMAGE_DIGEST, Dependencies, ImageLock

MLFLOW_CLI_ENV = "KNOBLESS_MLFLOW_CLI"
BUILDERS = ("docker", "buildah", "kaniko")
KANIKO_EXECUTOR = "/kaniko/executor"


def mlflow_cli(configured: str | None) -> str:
    """The mlflow executable: the option, KNOBLESS_MLFLOW_CLI, else `mlflow` on PATH."""
    wanted = configured or os.environ.get(MLFLOW_CLI_ENV) or "mlflow"
    found = shutil.which(wanted)
    if found is None:
        raise ImagesError(
            f"the mlflow CLI (`{wanted}`) was not found: knobless generates model Dockerfiles "
            "with MLflow's own `mlflow models generate-dockerfile`. Install MLflow (pip install "
            f"mlflow) or point --mlflow or {MLFLOW_CLI_ENV} at its `mlflow` executable."
        )
    return found


def generate_dockerfile(mlflow: str, dependencies: Dependencies, context: Path) -> Path:
    """The build context of one image, from MLflow's generator; its Dockerfile's path."""
    if context.exists():
        shutil.rmtree(context)
    deps = write_model_dir(dependencies, context / "deps")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    done = subprocess.run(
        [
            mlflow,
            "models",
            "generate-dockerfile",
            "-m",
            str(deps),
            "-d",
            str(context),
            "--env-manager",
            "local",
        ],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    dockerfile = context / "Dockerfile"
    if done.returncode != 0 or not dockerfile.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise ImagesError(
            f"`mlflow models generate-dockerfile` failed (exit {done.returncode}) for "
            f"{context.name}:\n  " + "\n  ".join(tail)
        )
    return dockerfile


@dataclass(frozen=True)
class Builder:
    name: str
    executable: str

    def commands(
        self, context: Path, reference: str, push: bool, digest_file: Path
    ) -> list[list[str]]:
        """The commands that build (and push) one image; the digest lands in digest_file."""
        dockerfile = str(context / "Dockerfile")
        if self.name == "kaniko":  # it builds and pushes in one step
            return [self._kaniko(context, dockerfile, reference, push, digest_file)]
        build = [self.executable, "build", "--file", dockerfile, "--tag", reference, str(context)]
        if self.name == "docker":
            push_command = [self.executable, "push", reference]
        else:  # buildah
            push_command = [self.executable, "push", "--digestfile", str(digest_file), reference]
        return [build, push_command] if push else [build]

    def _kaniko(
        self, context: Path, dockerfile: str, reference: str, push: bool, digest_file: Path
    ) -> list[str]:
        return [
            self.executable,
            "--context",
            str(context),
            "--dockerfile",
            dockerfile,
            "--destination",
            reference,
            "--digest-file",
            str(digest_file),
            *([] if push else ["--no-push"]),
        ]


def find_builder(wanted: str | None) -> Builder:
    """The builder named, else the first present of docker, buildah, kaniko."""
    candidates = [wanted] if wanted else list(BUILDERS)
    for name in candidates:
        executable = (
            (
                shutil.which("executor")
                or (KANIKO_EXECUTOR if os.access(KANIKO_EXECUTOR, os.X_OK) else None)
            )
            if name == "kaniko"
            else shutil.which(name)
        )
        if executable:
            return Builder(name, executable)
    raise ImagesError(
        f"no container builder found (looked for {', '.join(candidates)}: `docker`, `buildah` "
        f"or kaniko's `executor` on PATH or at {KANIKO_EXECUTOR}): run this where one is "
        "installed (CI), or use --dockerfile-only to write the Dockerfiles without building"
    )


def _pushed_digest(builder: Builder, reference: str, digest_file: Path) -> str:
    if builder.name == "docker":
        done = subprocess.run(
            [
                builder.executable,
                "image",
                "inspect",
                "--format",
                "{{json .RepoDigests}}",
                reference,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        text = done.stdout
    else:
        text = digest_file.read_text() if digest_file.is_file() else ""
    repository = reference.rsplit(":", 1)[0]
    for match in re.finditer(
        r"(?:(?P<repo>[^\s\"@\[\],]+)@)?(?P<digest>sha256:[0-9a-f]{64})", text
    ):
        if match["repo"] in (None, repository):
            return match["digest"]
    raise ImagesError(f"{builder.name} pushed {reference} but reported no digest")


@dataclass
class Built:
    reference: str
    context: Path
    digest: str | None = None


def build_images(
    lock: ImageLock,
    environments: set[str] | None,
    *,
    output: Path | None,
    mlflow: str | None,
    builder_name: str | None,
    push: bool,
    dockerfile_only: bool,
    rebuild: bool = False,
) -> list[Built]:
    """Generate (and build, and push) every image the environments' lock entries use. Images
    whose digest is already recorded are skipped (their tag is their dependencies: immutable)
    unless `rebuild`."""
    builder = None if dockerfile_only else find_builder(builder_name)
    images = {
        ref: digest
        for ref, digest in lock.images(environments).items()
        if rebuild or dockerfile_only or ref not in lock.pushed
    }
    if not images:
        return []
    cli = mlflow_cli(mlflow)
    base = output or Path(tempfile.mkdtemp(prefix="knobless-images-"))
    built = []
    for reference, digest in images.items():
        context = base / reference.rsplit(":", 1)[1]
        generate_dockerfile(cli, lock.dependencies[digest], context)
        pushed = None if builder is None else _build_one(builder, context, reference, push)
        built.append(Built(reference, context, pushed))
    return built


def _build_one(builder: Builder, context: Path, reference: str, push: bool) -> str | None:
    """Build (and push) one image from its context; the digest it was pushed with."""
    digest_file = context / ".digest"
    for command in builder.commands(context, reference, push, digest_file):
        done = subprocess.run(command, check=False)
        if done.returncode != 0:
            raise ImagesError(
                f"`{' '.join(command[:2])} ...` failed (exit {done.returncode}) for "
                f"{reference}; images.lock was left as it was (run it again once fixed)"
            )
    if not push:
        return None
    digest = _pushed_digest(builder, reference, digest_file)
    assert IMAGE_DIGEST.match(digest)
    return digest


def with_digests(lock: ImageLock, built: Sequence[Built]) -> ImageLock:
    pushed = dict(lock.pushed)
    pushed.update({b.reference: b.digest for b in built if b.digest})
    return ImageLock(lock.environments, lock.dependencies, dict(sorted(pushed.items())))
