"""Per-replica bounds come from the runtime plugin (one table) unless the endpoint sets them."""

from __future__ import annotations

from dataclasses import replace

from compiler.context import RuntimeChoice
from plugins.autoscaling.defaults import PerReplica, per_replica

from .contexts import endpoint_context, load_environment


def test_runtime_defaults_when_the_spec_has_no_per_replica() -> None:
    prod = load_environment("prod")
    got = {}
    for name in ("churn-classifier", "fraud-scorer", "doc-embedder", "triage-agent"):
        endpoint = endpoint_context(name, prod)
        got[name] = per_replica(endpoint, endpoint.served[0])
    assert got == {
        # mlflow: one worker per core; about two in flight per worker, at most eight.
        "churn-classifier": PerReplica(1, 2, 8),
        "fraud-scorer": PerReplica(1, 8, 32),
        # triton: dynamic batching, a few batches' worth in flight.
        "doc-embedder": PerReplica(4, 32, 256),
        # custom: unknown code starts low and may grow into the hundreds.
        "triage-agent": PerReplica(1, 10, 1000),
    }


def test_spec_bounds_win_and_initial_is_clamped_into_them() -> None:
    endpoint = endpoint_context("support-llm", load_environment("prod"))
    assert per_replica(endpoint, endpoint.served[0]) == PerReplica(8, 32, 128)
    scaling = endpoint.spec.scaling
    assert scaling.perReplica is not None
    tighter = scaling.perReplica.model_copy(update={"min": 64})
    narrow = endpoint.spec.model_copy(
        update={"scaling": scaling.model_copy(update={"perReplica": tighter})}
    )
    assert per_replica(replace(endpoint, spec=narrow), endpoint.served[0]) == PerReplica(
        64, 64, 128
    )


def test_a_plugin_runtime_gets_the_wide_fallback() -> None:
    endpoint = endpoint_context("churn-classifier", load_environment("prod"))
    served = replace(endpoint.served[0], runtime=RuntimeChoice("onnxruntime-plugin", "a plugin"))
    bounds = per_replica(endpoint, served)
    assert bounds.min <= bounds.initial <= bounds.max
    assert bounds.min == 1
