"""The shard sizing rule and the compile-time checks of the scaler setup."""

from __future__ import annotations

from compiler.diagnostics import Diagnostic, Severity
from compiler.summary import EndpointSummary, ServedSummary
from plugins.autoscaling import knobless_lint_environment
from plugins.autoscaling.capacity import calls_per_second, shards_needed

from .contexts import load_environment


def summaries(count: int, served: int = 1) -> list[EndpointSummary]:
    version = [ServedSummary(f"v{i}", "mlflow", None, 100 // served, 0) for i in range(served)]
    return [EndpointSummary(f"e{i}", "team", f"serving-e{i}", tuple(version)) for i in range(count)]


def locate(path: tuple[str | int, ...]) -> tuple[str, int, int]:
    return ("environments/prod.jsonnet", 7, len(path))


def lint(environment: object, endpoints: list[EndpointSummary]) -> list[Diagnostic]:
    return list(knobless_lint_environment(environment, endpoints, locate))  # type: ignore[arg-type]


def test_the_worked_example_of_the_docs() -> None:
    # 10,000 endpoints at pollingInterval 15: 3/15 + 3/15 = 0.4 calls/s each.
    assert calls_per_second(10_000, 15) == 4000
    assert shards_needed(10_000, 15) == 3
    # At KEDA's default pollingInterval of 30 s: 0.3 calls/s each, 3,000 calls/s.
    assert round(calls_per_second(10_000, 30)) == 3000
    assert shards_needed(10_000, 30) == 2


def test_boundaries() -> None:
    assert shards_needed(0, 15) == 1
    assert shards_needed(4375, 15) == 1  # exactly 1,750 calls/s fits one shard
    assert shards_needed(4376, 15) == 2


def test_too_few_shards_warns_with_the_number_to_set() -> None:
    environment = load_environment("prod")
    assert lint(environment, summaries(13)) == []
    (warning,) = lint(environment, summaries(10_000))
    assert warning == Diagnostic(
        "environments/prod.jsonnet",
        7,
        2,
        "scaler.shards is 1, but 10,000 ScaledObjects polled every 15 s cost KEDA about 4,000 "
        "calls/s and one shard is planned for 1,750: set scaler.shards to at least 3 (or raise "
        "scaler.pollingInterval)",
        Severity.WARNING,
        "scaler-shards",
    )
    enough = load_environment("prod", scaler={"shards": 3})
    assert lint(enough, summaries(10_000)) == []
    # Every served version is one ScaledObject: 5,000 endpoints of two versions count 10,000.
    assert [d.rule for d in lint(environment, summaries(5_000, served=2))] == ["scaler-shards"]


def test_an_unknown_query_signal_is_an_error_naming_the_key() -> None:
    environment = load_environment(
        "prod", prometheus={"queries": {"concurrency": "sum(x)", "qeue": "y"}}
    )
    (error,) = lint(environment, [])
    assert error.path == "environments/prod.jsonnet" and error.line == 7 and error.col == 3
    assert error.severity is Severity.ERROR
    assert error.message.startswith(
        "prometheus.queries.qeue: unknown signal; the scaler would refuse to start (known: "
    )
    assert "queue" in error.message
