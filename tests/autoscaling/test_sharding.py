"""Rendezvous hashing: stable under added endpoints and shards, even, and pinned across runs."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from plugins.autoscaling.scaledobject import render_scaled_object
from plugins.autoscaling.sharding import assign_shard, shard_address

from .contexts import all_contexts, load_environment

KEYS = [(f"serving-endpoint-{i}", f"endpoint-{i}-v{i % 3}") for i in range(1000)]


def test_adding_100_endpoints_moves_none_of_the_existing() -> None:
    for shards in (1, 2, 3, 8, 64):
        before = {key: assign_shard(*key, shards) for key in KEYS}
        grown = KEYS + [(f"serving-new-{i}", f"new-{i}-main") for i in range(100)]
        after = {key: assign_shard(*key, shards) for key in grown}
        assert {key: after[key] for key in KEYS} == before


def test_adding_a_shard_moves_only_what_the_new_shard_wins() -> None:
    before = {key: assign_shard(*key, 8) for key in KEYS}
    after = {key: assign_shard(*key, 9) for key in KEYS}
    moved = [key for key in KEYS if before[key] != after[key]]
    assert all(after[key] == 8 for key in moved)
    # About 1/9 of the keys move; a modulo hash would move about 8/9.
    assert 60 <= len(moved) <= 170


@pytest.mark.parametrize("shards", [2, 4, 8])
def test_distribution_is_roughly_even(shards: int) -> None:
    counts = Counter(assign_shard(*key, shards) for key in KEYS)
    assert sorted(counts) == list(range(shards))
    expected = len(KEYS) / shards
    assert all(abs(n - expected) <= 0.25 * expected for n in counts.values()), counts


def test_pinned_assignments_are_the_same_in_a_fresh_interpreter() -> None:
    # Unlike hash(), blake2b is not salted per process: another Python run agrees.
    code = (
        "from plugins.autoscaling.sharding import assign_shard;"
        "print([assign_shard(f'ns-{i}', f'ep-{i}', 7) for i in range(20)])"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert fresh == str([assign_shard(f"ns-{i}", f"ep-{i}", 7) for i in range(20)])
    assert assign_shard("serving-feed-ranker", "feed-ranker-v13", 4) == 2
    assert assign_shard("serving-fraud-scorer", "fraud-scorer-v7", 4) == 3


def test_one_shard_takes_everything_and_zero_shards_is_refused() -> None:
    assert {assign_shard(*key, 1) for key in KEYS} == {0}
    with pytest.raises(ValueError, match="at least 1"):
        assign_shard("ns", "name", 0)


def test_shard_address_is_the_stateful_set_pod_behind_the_headless_service() -> None:
    assert (
        shard_address(3, "knobless-system", 9090)
        == "knobless-apa-3.knobless-apa.knobless-system.svc.cluster.local:9090"
    )


def test_rendered_scaler_address_follows_the_assignment() -> None:
    environment = load_environment("prod", scaler={"shards": 4, "namespace": "apa", "port": 7000})
    seen = set()
    for endpoint in all_contexts(environment):
        for served in endpoint.served:
            body = render_scaled_object(endpoint, served)
            meta = body["metadata"]
            shard = assign_shard(meta["namespace"], meta["name"], 4)
            address = body["spec"]["triggers"][0]["metadata"]["scalerAddress"]
            assert address == f"knobless-apa-{shard}.knobless-apa.apa.svc.cluster.local:7000"
            seen.add(shard)
    assert len(seen) > 1
