"""The proving ground's pure parts: the rendered command moved to a loopback port, and the knee
read from latency by load."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.proving.analysis import Level, knee
from bench.proving.rendered import ModelContainer, model_container, trigger

SITE = Path(__file__).resolve().parents[2] / "bench" / "proving" / "site" / "rendered" / "local"


def _container(command: tuple[str, ...], args: tuple[str, ...]) -> ModelContainer:
    return ModelContainer(command, args, {}, 8080, 1.0, "/ping")


def test_the_rendered_deployment_gives_the_mlflow_command() -> None:
    container = model_container(SITE / "digits" / "deployment-digits-v1.yaml")
    # The rendered command fetches the model, then execs the server (uvicorn as PID 1, issue 17).
    script = container.argv(host="127.0.0.1", port=4567)[2]
    assert 'mlflow artifacts download --artifact-uri "$MODEL_URI"' in script
    assert container.argv(host="127.0.0.1", port=4567) == [
        "/bin/sh",
        "-c",
        script,
        "mlflow-model-server",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        "4567",
        "--workers",
        "1",
        "--timeout-graceful-shutdown",
        "60",
        "mlflow.pyfunc.scoring_server.app:app",
    ]
    assert container.env["MODEL_URI"] == "models:/digits/1"
    assert (container.port, container.cpu_limit_cores, container.readiness_path) == (
        8080,
        1.0,
        "/ping",
    )
    assert container.env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"
    found = trigger(SITE / "digits" / "scaledobject-digits-v1.yaml")
    assert (found.name, found.polling_interval_s, found.metadata["perReplicaInitial"]) == (
        "digits-v1",
        15,
        "2",
    )


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (
            ("mlflow",),
            ("--port=8080", "--host=0.0.0.0"),
            ["mlflow", "--port=4567", "--host=127.0.0.1"],
        ),
        (("tini", "--", "mlflow"), ("--port", "8080"), ["tini", "--", "mlflow", "--port", "4567"]),
        (
            ("sh", "-c"),
            ("exec mlflow models serve --port 8080 --workers 18080",),
            ["sh", "-c", "exec mlflow models serve --port 4567 --workers 18080"],
        ),
    ],
)
def test_the_port_moves_in_any_form_and_nothing_else(
    command: tuple[str, ...], args: tuple[str, ...], expected: list[str]
) -> None:
    assert _container(command, args).argv(host="127.0.0.1", port=4567) == expected


def _level(rate: float, in_flight: float, p50: float) -> Level:
    return Level(rate, rate, in_flight, p50, 2 * p50, p50, 0.3, 0, 0)


def test_the_knee_is_where_p50_stays_above_one_and_a_half_times_low_load() -> None:
    low = _level(5, 0.1, 10.0)
    sweep = [
        _level(10, 0.2, 10.0),
        _level(20, 0.5, 20.0),
        _level(30, 1.0, 11.0),
        _level(40, 1.5, 12.0),
        _level(50, 3.0, 22.0),
    ]
    found = knee(low, sweep)
    assert found is not None
    # The spike at 20 rps is ignored (a later level is back at 11 ms); between 40 and 50 rps,
    # p50 crosses 15 ms three tenths of the way: in flight 1.5 + 0.3 x 1.5.
    assert found.rate == pytest.approx(43.0)
    assert found.in_flight == pytest.approx(1.95)
    assert knee(low, [*sweep[:2], _level(30, 1.0, 11.0)]) is None
