"""Execute a generated model Dockerfile's install steps into a virtualenv, as far as this machine
can without a container engine: the same requirement files, the same pip commands, the same
order, against the same package index.

What differs from a real build, and why:
- `FROM python:<version>-slim`: a virtualenv of this machine's Python instead, which must be the
  same version exactly (checked); the Debian base image's own libraries are not there.
- `RUN apt-get ...`, `RUN rm -rf /var/lib/apt/lists/*`: not run (root on the host). MLflow's
  generator installs nginx for its own entrypoint, which the rendered command replaces.
- `/opt/ml/model` and `/opt/mlflow` live under a scratch root; `ENTRYPOINT` is not run (the pod's
  command replaces it).
Any other instruction fails the run, so a change in MLflow's generator is noticed, not skipped.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_RUNS = ("apt-get ", "rm -rf /var/lib/apt/lists/")
RUNS = ("pip install ", "python -c ", "chmod ")
IMAGE_PATHS = ("/opt/ml/model", "/opt/mlflow")


@dataclass
class Built:
    venv: Path
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    """The Dockerfile's ENV lines."""
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def bin(self) -> Path:
        return self.venv / "bin"


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, argument) pairs, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.splitlines():
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, argument = line.strip().partition(" ")
        found.append((keyword.upper(), argument.strip()))
    return found


def _local(text: str, root: Path) -> str:
    for path in IMAGE_PATHS:
        text = text.replace(path, f"{root}{path}")
    return text


def build_venv(context: Path, target: Path, *, log: Path) -> Built:
    """Run the Dockerfile in `context` into a virtualenv at `target` (scratch root beside it)."""
    root = target.parent / f"{target.name}-root"
    built = Built(target, root)
    version = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    workdir = root
    with log.open("w") as out:
        for keyword, argument in instructions((context / "Dockerfile").read_text()):
            if keyword == "FROM":
                assert argument == f"python:{version}-slim", (argument, version)
                subprocess.run(
                    [getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(target)],
                    check=True,
                )
            elif keyword == "WORKDIR":
                workdir = Path(_local(argument, root))
                workdir.mkdir(parents=True, exist_ok=True)
            elif keyword == "COPY":
                source, destination = shlex.split(argument)
                shutil.copytree(context / source, _local(destination, root), dirs_exist_ok=True)
            elif keyword == "ENV":
                name, _, value = argument.partition("=")
                built.env[name] = value
            elif keyword == "ENTRYPOINT":
                continue
            elif keyword == "RUN" and argument.startswith(SKIPPED_RUNS):
                built.skipped.append(argument)
            elif keyword == "RUN" and argument.startswith(RUNS):
                command = _local(argument, root)
                env = {
                    **{
                        k: v
                        for k, v in os.environ.items()
                        if not k.startswith(("PYTHON", "VIRTUAL"))
                    },
                    **built.env,
                    "PATH": f"{built.bin}:/usr/bin:/bin",
                    "VIRTUAL_ENV": str(target),
                }
                out.write(f"\n$ {command}\n")
                out.flush()
                done = subprocess.run(
                    ["bash", "-c", command],
                    cwd=workdir,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=1800,
                    check=False,
                )
                assert done.returncode == 0, f"`{command}` failed; see {log}"
                built.ran.append(argument)
            else:
                raise AssertionError(
                    f"a Dockerfile instruction this runner does not know: {keyword} {argument}"
                )
    return built


def installed(built: Built, *names: str) -> dict[str, str]:
    """Installed versions of `names` in the venv (importlib.metadata)."""
    code = (
        "import importlib.metadata as m, json, sys;"
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    done = subprocess.run(
        [str(built.bin / "python"), "-c", code, *names],
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    return dict(json.loads(done.stdout))
