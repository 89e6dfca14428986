"""bench/autoscaling.py's equal-misses reading of issue 12's spike target: a verdict of its own,
beside the original one, pricing apa against `oracle-hpa` at apa's miss level."""

from __future__ import annotations

from bench.autoscaling import equal_misses_note, equal_misses_verdict

APA = {"replica_seconds": 32282.0, "over_slo_fraction": 0.0587, "rejected_fraction": 0.1058}


def test_equal_misses_prices_apa_against_the_spare_that_matches_its_misses() -> None:
    name, ok, detail = equal_misses_verdict("70B LLM", APA, (2.41, 34562.0, 0.1644))
    assert name.startswith("spike10x 70B LLM, at equal misses (next to the target above")
    assert ok  # 32,282 / 34,562 = 0.93 <= 1.2
    assert detail == (
        "apa 16.45%, 32,282 replica-s; oracle-hpa with 2.41x the demand standing 16.44%, "
        "34,562 replica-s: apa costs 0.93x that"
    )


def test_equal_misses_fails_above_the_cost_ratio_and_without_a_frontier() -> None:
    # 32,282 / 26,900 = 1.2001: just over REFERENCE_COST.
    assert not equal_misses_verdict("CPU classifier", APA, (1.0, 26900.0, 0.01))[1]
    assert equal_misses_verdict("CPU classifier", APA, (1.0, 26902.0, 0.01))[1]
    _, ok, detail = equal_misses_verdict("GPU embedder", APA, None)
    assert not ok
    assert detail == "oracle-hpa misses more than apa even with 20x the demand"
    assert equal_misses_note(APA, (2.41, 34562.0, 0.1644)) == (
        "at apa's misses oracle-hpa needs 2.41x the demand standing: apa costs 0.93x that"
    )
