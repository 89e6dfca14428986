"""The shard sizing rule and the compile-time checks of the scaler setup."""

from __future__ import annotations

from compiler.diagnostics import Diagnostic, Severity
from compiler.manifest import Manifest
from plugins.autoscaling import knobless_check
from plugins.autoscaling.capacity import calls_per_second, shards_needed

from .contexts import environment_context, load_environment


def scaled_objects(count: int) -> tuple[Manifest, ...]:
    return tuple(
        Manifest(f"e{i}", {"kind": "ScaledObject", "metadata": {"name": f"e{i}-v1"}})
        for i in range(count)
    )


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
    environment = environment_context(load_environment("prod"))
    assert list(knobless_check(scaled_objects(13), environment)) == []
    (warning,) = knobless_check(scaled_objects(10_000), environment)
    assert warning == Diagnostic(
        "environments/prod.jsonnet",
        0,
        0,
        "scaler.shards is 1, but 10,000 ScaledObjects polled every 15 s cost KEDA about 4,000 "
        "calls/s and one shard is planned for 1,750: set scaler.shards to at least 3 (or raise "
        "scaler.pollingInterval)",
        Severity.WARNING,
        "scaler-shards",
    )
    enough = environment_context(load_environment("prod", scaler={"shards": 3}))
    assert list(knobless_check(scaled_objects(10_000), enough)) == []


def test_an_unknown_query_signal_is_an_error_naming_the_key() -> None:
    environment = environment_context(
        load_environment("prod", prometheus={"queries": {"concurrency": "sum(x)", "qeue": "y"}})
    )
    (error,) = knobless_check((), environment)
    assert error.severity is Severity.ERROR
    assert error.message.startswith(
        "prometheus.queries.qeue: unknown signal; the scaler would refuse to start (known: "
    )
    assert "queue" in error.message
