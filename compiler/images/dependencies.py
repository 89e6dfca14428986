"""From a model's own files to the Dependencies its image installs, and back to files.

MLflow logs `MLmodel`, `python_env.yaml`, `requirements.txt` and `conda.yaml` with every model.
With `--env-manager local` (how knobless serves, and how MLflow's generated Dockerfile installs)
only python_env.yaml and requirements.txt count: the Python version, the build dependencies, then
the requirements, to which knobless adds the pins its runtime's command needs
(compiler.images.server). conda.yaml is read only for models logged before python_env.yaml existed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from compiler.images.lock import Dependencies
from compiler.images.server import ServerProblem, server_requirements

MLMODEL = "MLmodel"
PYTHON_ENV = "python_env.yaml"
REQUIREMENTS = "requirements.txt"
CONDA = "conda.yaml"
CONSTRAINTS = "constraints.txt"
PYFUNC = "python_function"
MODEL_FILES = (MLMODEL, PYTHON_ENV, REQUIREMENTS, CONDA, CONSTRAINTS)
"""What resolve reads of a model (the weights are never downloaded)."""


class ModelProblem(ValueError):
    """The model's files say something knobless cannot turn into an image (message: what)."""


def _yaml(files: Mapping[str, str], name: str) -> Any:
    try:
        return yaml.safe_load(files[name])
    except yaml.YAMLError as error:
        raise ModelProblem(f"its {name} is not valid YAML ({error.__class__.__name__})") from None


def _lines(text: str) -> list[str]:
    """Requirement lines as pip reads them: comments and blank lines dropped."""
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


_FILE_OPTIONS = ("-r", "--requirement", "-c", "--constraint", "-e", "--editable")


def _expand(entries: list[str], files: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(requirements, constraints): `-r requirements.txt` inlined, `-c constraints.txt` read."""
    requirements: list[str] = []
    constraints: list[str] = []
    for entry in entries:
        option, _, target = entry.partition(" ")
        target = target.strip()
        if option in ("-r", "--requirement") and target == REQUIREMENTS and REQUIREMENTS in files:
            nested, more = _expand(_lines(files[REQUIREMENTS]), {**files, REQUIREMENTS: ""})
            requirements += nested
            constraints += more
        elif option in ("-c", "--constraint") and target == CONSTRAINTS and CONSTRAINTS in files:
            constraints += _lines(files[CONSTRAINTS])
        elif (
            option in _FILE_OPTIONS
            or entry.startswith((".", "/", "code/", "wheels/"))
            or (entry.endswith((".whl", ".tar.gz", ".zip")))
        ):
            raise ModelProblem(
                f"its requirements refer to files of the model (`{entry}`): an image shared by "
                "versions cannot hold one version's files; publish the package to an index, or "
                "serve the model from your own image (`image:`, runtime custom)"
            )
        else:
            requirements.append(entry)
    return requirements, constraints


def _from_conda(conda: Any) -> tuple[str, list[str], list[str]]:
    """(python, build, pip dependencies) of a conda.yaml, as MLflow reads old models."""
    python, build, pip = "", [], []
    for entry in (conda or {}).get("dependencies", []) if isinstance(conda, dict) else []:
        if isinstance(entry, dict) and isinstance(entry.get("pip"), list):
            pip = [str(item) for item in entry["pip"]]
        elif isinstance(entry, str) and entry.startswith("python="):
            python = entry.split("=", 1)[1]
        elif isinstance(entry, str) and entry.startswith("pip"):
            build.append(re.sub(r"(?<![<>=!~])=(?!=)", "==", entry))  # conda's pin, pip's way
        elif isinstance(entry, str):
            raise ModelProblem(
                f"its conda.yaml needs the conda package `{entry}`, which the local environment "
                "manager (pip) cannot install; serve the model from your own image (`image:`)"
            )
    return python, build, pip


def dependencies_of(files: Mapping[str, str]) -> Dependencies:
    """The Dependencies of a model from its files (MLmodel required); ModelProblem if none."""
    if MLMODEL not in files:
        raise ModelProblem("it has no MLmodel file: not an MLflow model")
    mlmodel = _yaml(files, MLMODEL)
    flavors = mlmodel.get("flavors") if isinstance(mlmodel, dict) else None
    if not isinstance(flavors, dict) or PYFUNC not in flavors:
        raise ModelProblem(
            "its MLmodel has no python_function flavor: `mlflow models serve` cannot serve it"
        )
    pyfunc = flavors[PYFUNC] or {}
    if PYTHON_ENV in files:
        env = _yaml(files, PYTHON_ENV) or {}
        python = str(env.get("python") or "")
        build = [str(d) for d in env.get("build_dependencies") or []]
        entries = [str(d) for d in env.get("dependencies") or []]
    elif CONDA in files:
        python, build, entries = _from_conda(_yaml(files, CONDA))
    elif REQUIREMENTS in files:
        python, build, entries = "", [], [f"-r {REQUIREMENTS}"]
    else:
        raise ModelProblem("it has none of python_env.yaml, conda.yaml, requirements.txt")
    python = python or str(pyfunc.get("python_version") or "")
    if not python:
        raise ModelProblem("neither its python_env.yaml nor its MLmodel names a Python version")
    requirements, constraints = _expand(entries, files)
    mlflow = str(mlmodel.get("mlflow_version") or "")
    try:
        server = server_requirements(mlflow, (*requirements, *constraints))
    except ServerProblem as error:
        raise ModelProblem(str(error)) from None
    return Dependencies(
        mlflow=mlflow,
        python=python,
        flavors=tuple(sorted(name for name in flavors if name != PYFUNC)),
        build=tuple(build),
        requirements=tuple(requirements),
        constraints=tuple(constraints),
        server=server,
    )


def write_model_dir(dependencies: Dependencies, directory: Path) -> Path:
    """A model directory holding only what the image installs (no weights): the input MLflow's
    Dockerfile generator reads. The same Dependencies give the same bytes, so the image built
    from it is shared by every version that needs exactly these."""
    directory.mkdir(parents=True, exist_ok=True)
    mlmodel: dict[str, Any] = {
        "flavors": {
            PYFUNC: {
                "env": {"conda": CONDA, "virtualenv": PYTHON_ENV},
                "loader_module": "mlflow.pyfunc.model",
                "python_version": dependencies.python,
            },
            **{name: {} for name in dependencies.flavors},
        },
        "mlflow_version": dependencies.mlflow,
    }
    # The runtime's pins beside the model's own: one pip resolution, so a conflict fails the build.
    requirement_lines = [*dependencies.requirements, *dependencies.server]
    if dependencies.constraints:
        requirement_lines.append(f"-c {CONSTRAINTS}")
        (directory / CONSTRAINTS).write_text("\n".join(dependencies.constraints) + "\n")
    python_env = {
        "python": dependencies.python,
        "build_dependencies": list(dependencies.build),
        "dependencies": [f"-r {REQUIREMENTS}"],
    }
    conda = {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={dependencies.python}", "pip", {"pip": requirement_lines}],
    }
    for name, data in ((MLMODEL, mlmodel), (PYTHON_ENV, python_env), (CONDA, conda)):
        (directory / name).write_text(yaml.safe_dump(data, sort_keys=True))
    (directory / REQUIREMENTS).write_text("\n".join(requirement_lines) + "\n")
    return directory
