"""Range and replica arithmetic: unit cases, then every example endpoint in every environment."""

from __future__ import annotations

import math

import pytest

from plugins.autoscaling.defaults import PerReplica
from plugins.autoscaling.scaledobject import plan, render_scaled_object
from plugins.autoscaling.sizing import ServedBounds, schedule_floor, served_bounds, share_up

from .contexts import ENVIRONMENT_NAMES, all_contexts, endpoint_context, load_environment

MLFLOW_1CPU = PerReplica(1, 2, 8)


def bounds(lo: int, hi: int, pct: int, pr: PerReplica = MLFLOW_1CPU, sched: bool = False):
    return served_bounds(
        endpoint_min=lo, endpoint_max=hi, percent=pct, per_replica=pr, has_schedule=sched
    )


def test_share_rounds_up_in_integers() -> None:
    assert share_up(4000, 90) == 3600
    assert share_up(32, 90) == 29  # 28.8
    assert share_up(32, 10) == 4  # 3.2
    assert share_up(1, 1) == 1
    assert share_up(0, 50) == 0
    # 29 * 100 / 100 as floats is 29.000000000000004; integers give exactly 29.
    assert share_up(29, 100) == 29


def test_scale_to_zero_only_with_zero_floor_traffic_and_no_schedule() -> None:
    assert bounds(0, 40, 100) == ServedBounds(0, 40, 0, 40)
    assert bounds(0, 40, 100, sched=True) == ServedBounds(0, 40, 1, 40)
    assert bounds(1, 40, 100) == ServedBounds(1, 40, 1, 40)


def test_min_replicas_hold_the_floor_at_the_largest_per_replica() -> None:
    assert bounds(64, 10_000, 100, PerReplica(4, 8, 32)) == ServedBounds(64, 10_000, 2, 2500)
    assert bounds(65, 10_000, 100, PerReplica(4, 8, 32)).min_replicas == 3


def test_max_replicas_cover_the_ceiling_at_the_smallest_per_replica() -> None:
    assert bounds(0, 800, 100, PerReplica(16, 32, 64)).max_replicas == 50
    assert bounds(0, 801, 100, PerReplica(16, 32, 64)).max_replicas == 51
    # A ceiling below one replica's minimum still allows one replica.
    assert bounds(0, 5, 100, PerReplica(50, 200, 1000)).max_replicas == 1


def test_the_environments_replica_floor_holds_for_versions_with_traffic() -> None:
    # prod's minReplicas 2: a version keeping a floor survives a node drain; one scaling to zero
    # still may, and a 0% version keeps its single ready replica.
    def floor(lo: int, pct: int, sched: bool = False) -> int:
        return served_bounds(
            endpoint_min=lo, endpoint_max=100, percent=pct, per_replica=MLFLOW_1CPU,
            has_schedule=sched, replica_floor=2,
        ).min_replicas  # fmt: skip

    assert floor(1, 100) == 2
    assert floor(40, 100) == 5  # the floor's own need wins: ceil(40 / 8)
    assert floor(0, 100) == 0
    assert floor(0, 100, sched=True) == 2
    assert floor(8, 0) == 1


def test_traffic_share_splits_the_range() -> None:
    assert bounds(32, 4000, 90) == ServedBounds(29, 3600, 4, 3600)
    assert bounds(32, 4000, 10) == ServedBounds(4, 400, 1, 400)


def test_zero_percent_version_stays_ready_with_a_one_percent_ceiling() -> None:
    assert bounds(32, 4000, 0) == ServedBounds(0, 40, 1, 40)
    assert bounds(0, 50, 0) == ServedBounds(0, 1, 1, 1)


def test_schedule_floor_is_shared_and_capped_by_the_ceiling() -> None:
    assert schedule_floor(400, 90, 3600) == 360
    assert schedule_floor(400, 10, 400) == 40
    assert schedule_floor(400, 0, 40) == 4
    assert schedule_floor(5000, 100, 4000) == 4000


def test_min_never_exceeds_max_even_at_extremes() -> None:
    for lo in (0, 1, 7, 999, 1_000_000):
        for pct in (0, 1, 33, 100):
            for pr in (PerReplica(1, 1, 1), PerReplica(1, 2, 8), PerReplica(50, 200, 1000)):
                result = bounds(lo, 1_000_000, pct, pr)
                assert 0 <= result.concurrency_min <= result.concurrency_max
                assert 1 <= max(result.min_replicas, 1) <= result.max_replicas


@pytest.mark.parametrize("environment_name", ENVIRONMENT_NAMES)
def test_every_example_follows_the_rules(environment_name: str) -> None:
    environment = load_environment(environment_name)
    contexts = all_contexts(environment)
    assert contexts, "no example endpoints resolved"
    for endpoint in contexts:
        scaling = endpoint.spec.scaling
        for served in endpoint.served:
            metadata, result = plan(endpoint, served)
            spec = render_scaled_object(endpoint, served)["spec"]
            pct = served.traffic_percent
            assert metadata.concurrency_max == math.ceil(
                scaling.concurrency.max * max(pct, 1) / 100
            )
            assert metadata.concurrency_min == math.ceil(scaling.concurrency.min * pct / 100)
            assert spec["minReplicaCount"] == result.min_replicas
            assert spec["maxReplicaCount"] == result.max_replicas
            floor = math.ceil(metadata.concurrency_min / metadata.per_replica_max)
            assert spec["minReplicaCount"] >= floor
            zero = metadata.concurrency_min == 0 and pct > 0 and not scaling.schedule
            assert (spec["minReplicaCount"] == 0) == zero
            needed = math.ceil(metadata.concurrency_max / metadata.per_replica_min)
            if scaling.perReplica is None:  # runtime defaults: capped by the capacity guards
                gpus = served.resources.gpu_count
                guards = endpoint.environment.capacity
                needed = min(needed, guards.maxReplicas)
                if gpus:
                    needed = min(needed, guards.maxGpus // gpus)
            assert spec["maxReplicaCount"] == max(spec["minReplicaCount"], 1, needed)
            assert (
                metadata.per_replica_min <= metadata.per_replica_initial <= metadata.per_replica_max
            )


def test_examples_in_numbers() -> None:
    """The figures the README's "Autoscaling" section quotes, per environment."""
    prod, dev = load_environment("prod"), load_environment("dev")
    got = {}
    for environment in (dev, prod):
        for endpoint in all_contexts(environment):
            for served in endpoint.served:
                spec = render_scaled_object(endpoint, served)["spec"]
                key = f"{environment.name}/{endpoint.spec.name}-{served.spec.name}"
                got[key] = (spec["minReplicaCount"], spec["maxReplicaCount"])
    assert got == {
        "dev/churn-classifier-v3": (0, 40),
        "dev/doc-embedder-v2": (0, 200),
        "dev/feed-ranker-v12": (0, 90),
        "dev/feed-ranker-v13": (0, 10),
        "dev/fraud-scorer-v7": (0, 50),
        "dev/triage-agent-main": (0, 1000),
        "prod/churn-classifier-v3": (0, 40),
        "prod/doc-embedder-v2": (2, 200),
        "prod/feed-ranker-v12": (2, 1000),  # 3,600 at MLflow's default perReplica.min 1: capped
        "prod/feed-ranker-v13": (2, 400),
        "prod/fraud-scorer-v7": (2, 1000),  # 10,000 at perReplica.min 1: capped
        "prod/support-llm-ft-2026-11": (2, 64),
        "prod/triage-agent-main": (2, 1000),
    }


def test_zero_percent_served_version_renders_ready() -> None:
    prod = load_environment("prod")
    data = {
        "name": "feed-ranker",
        "owner": "feed-ml@example.com",
        "served": [
            {
                "name": "v12",
                "model": "models:/f/12",
                "flavor": "lightgbm",
                "compute": {"cpu": "1", "memory": "1Gi"},
            },
            {
                "name": "v13",
                "model": "models:/f/13",
                "flavor": "lightgbm",
                "compute": {"cpu": "1", "memory": "1Gi"},
            },
        ],
        "traffic": {"v12": 100, "v13": 0},
        "scaling": {"concurrency": {"min": 0, "max": 4000}},
    }
    endpoint = endpoint_context("feed-ranker", prod, data)
    staged = render_scaled_object(endpoint, endpoint.served[1])
    assert staged["spec"]["minReplicaCount"] == 1
    assert staged["spec"]["maxReplicaCount"] == 40
    metadata = staged["spec"]["triggers"][0]["metadata"]
    assert (metadata["concurrencyMin"], metadata["concurrencyMax"]) == ("0", "40")
    live = render_scaled_object(endpoint, endpoint.served[0])
    assert live["spec"]["minReplicaCount"] == 0
