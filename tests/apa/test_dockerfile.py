"""The project image: what the rendered scaler StatefulSet relies on (no Docker daemon needed)."""

from __future__ import annotations

from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), " ".join(rest.split())))
    return result


def test_image_runs_knobless_as_the_non_root_user_the_statefulset_expects() -> None:
    steps = instructions()
    assert [rest for keyword, rest in steps if keyword == "FROM"] == [
        "python:3.11-slim AS build",
        "python:3.11-slim",
    ]
    final = steps[[k for k, _ in steps].index("FROM", 1) :]
    assert ("USER", "65532:65532") in final  # plugins/autoscaling renders runAsUser 65532
    assert ("ENTRYPOINT", '["knobless"]') in final
    install = next(rest for keyword, rest in final if keyword == "RUN")
    assert "pip install" in install and "/wheels/*.whl" in install
    assert "install -d -o 65532 -g 65532 /var/lib/knobless" in install  # the --state folder
    # the scaler's dependencies are an optional extra: the image must build with it
    assert any(k == "RUN" and "pip wheel" in r and r.endswith(" '.[scaler]'") for k, r in steps)
