"""What the knobless MLflow runtime's own command needs in a model image, beyond the model.

The rendered container runs `sh -c '... mlflow artifacts download ...; exec uvicorn ...
mlflow.pyfunc.scoring_server.app:app'` (plugins/runtimes/mlflow.py). MLflow's generated
Dockerfile installs `mlflow==<version>` and the model's requirements with nothing else pinned,
so the scoring server's web stack is whatever PyPI has that day: in December 2026 that is
starlette 1.x, and MLflow 3.6's scoring app calls `app.route`, which starlette 1.0 removed (it
crashes at import). These pins go into the image's requirements and into the lock's dependency
digest, so a change to them is a new image, reviewed in the pull request.

The pins are those the tests' MLflow environment runs (tests/mlflow_support/constraints.txt),
per MLflow minor version: a model logged with another MLflow version gets no image until its
pins are added here and tested (serving it with pins nobody ran is the crash-loop this avoids).
"""

from __future__ import annotations

import re

SERVER_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "3.6": ("fastapi==0.163.2", "starlette==0.52.1", "uvicorn==0.55.0"),
}
"""MLflow minor version -> the exact pins of the scoring server's web stack."""

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXACT = re.compile(r"==\s*([^\s,;]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """The canonical project name of a requirement line (None for options like `-c`)."""
    found = _NAME.match(line)
    return _canonical(found[1]) if found else None


class ServerProblem(ValueError):
    """The model's MLflow version or requirements leave the scoring server no known-good stack."""


def server_requirements(mlflow_version: str, requirements: tuple[str, ...]) -> tuple[str, ...]:
    """The pins the runtime's command needs for a model logged with `mlflow_version` whose own
    requirements are `requirements`; ServerProblem when none are known or they conflict."""
    minor = ".".join(mlflow_version.split(".")[:2])
    pins = SERVER_REQUIREMENTS.get(minor)
    if pins is None:
        known = ", ".join(sorted(SERVER_REQUIREMENTS))
        raise ServerProblem(
            f"it was logged with MLflow {mlflow_version or '(unknown)'}, and knobless' MLflow "
            f"runtime knows the scoring server's pins only for MLflow {known}: log it with "
            f"MLflow {known}, or serve it from your own image (`image:`, runtime custom)"
        )
    wanted = {requirement_name(pin): pin for pin in pins}
    for line in requirements:
        name = requirement_name(line)
        exact = _EXACT.search(line)
        if name in wanted and exact and exact[1] != wanted[name].partition("==")[2]:
            raise ServerProblem(
                f"its requirements pin `{line}`, but MLflow {minor}'s scoring server runs with "
                f"`{wanted[name]}`: drop the pin from the model's requirements, or serve it "
                "from your own image (`image:`, runtime custom)"
            )
    return pins
