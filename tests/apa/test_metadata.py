"""The trigger-metadata contract: round trip, defaults, and errors naming the key."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.apa.metadata import InvalidMetadata, ScheduleFloor, TriggerMetadata

GOOD = {
    "scalerAddress": "apa-0.apa.knobless-system:9090",
    "enableTLS": "true",
    "endpoint": "fraud",
    "served": "v2",
    "runtime": "mlflow",
    "concurrencyMin": "2.5",
    "concurrencyMax": "40",
    "perReplicaMin": "1",
    "perReplicaMax": "16",
    "perReplicaInitial": "4",
    "schedule": '[{"end":"0 18 * * 1-5","minConcurrency":10,"start":"0 8 * * 1-5",'
    '"timezone":"Europe/Berlin"}]',
    "selector.service": "fraud-v2",
    "selector.container": "model",
}


def test_parse_reads_every_key_and_ignores_kedas_own() -> None:
    parsed = TriggerMetadata.from_metadata("models-fraud", GOOD)
    assert parsed == TriggerMetadata(
        endpoint="fraud",
        served="v2",
        namespace="models-fraud",
        runtime="mlflow",
        concurrency_min=2.5,
        concurrency_max=40.0,
        per_replica_min=1.0,
        per_replica_max=16.0,
        per_replica_initial=4.0,
        window_seconds=20.0,
        schedule=(ScheduleFloor("0 8 * * 1-5", "0 18 * * 1-5", "Europe/Berlin", 10.0),),
        selectors=(("container", "model"), ("service", "fraud-v2")),
    )
    assert parsed.selector("service") == "fraud-v2"
    assert parsed.selector("pod", "x") == "x"


def test_to_metadata_is_the_documented_map() -> None:
    parsed = TriggerMetadata.from_metadata("models-fraud", GOOD)
    expected = {k: v for k, v in GOOD.items() if k not in ("scalerAddress", "enableTLS")}
    expected["windowSeconds"] = "20"
    assert parsed.to_metadata() == expected
    assert list(parsed.to_metadata())[:3] == ["endpoint", "served", "runtime"]


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"endpoint": None}, "endpoint", "is required"),
        ({"concurrencyMax": ""}, "concurrencyMax", "is required"),
        ({"concurrencyMin": "abc"}, "concurrencyMin", "'abc' is not a number"),
        ({"concurrencyMin": "nan"}, "concurrencyMin", "not a finite number"),
        ({"concurrencyMin": "-1"}, "concurrencyMin", "must be >= 0"),
        ({"concurrencyMax": "0", "concurrencyMin": "0"}, "concurrencyMax", "must be > 0"),
        ({"concurrencyMin": "50"}, "concurrencyMin", "50 is greater than concurrencyMax 40"),
        ({"perReplicaMin": "20"}, "perReplicaMin", "20 is greater than perReplicaMax 16"),
        ({"perReplicaInitial": "17"}, "perReplicaInitial", "outside perReplicaMin..perReplicaMax"),
        ({"windowSeconds": "0"}, "windowSeconds", "must be > 0"),
        ({"schedule": "{"}, "schedule", "is not JSON"),
        ({"schedule": "{}"}, "schedule", "must be a JSON list"),
        ({"schedule": '[{"start":"0 8 * * *"}]'}, "schedule", "window 0 must have exactly"),
        (
            {
                "schedule": '[{"start":"0 8 * *","end":"0 9 * * *","timezone":"UTC",'
                '"minConcurrency":1}]'
            },
            "schedule",
            "window 0 start: needs five cron fields",
        ),
        (
            {
                "schedule": '[{"start":"0 25 * * *","end":"0 9 * * *","timezone":"UTC",'
                '"minConcurrency":1}]'
            },
            "schedule",
            "is not valid cron",
        ),
        (
            {
                "schedule": '[{"start":"0 8 * * *","end":"0 9 * * *","timezone":"Mars/Base",'
                '"minConcurrency":1}]'
            },
            "schedule",
            "'Mars/Base' is not an IANA zone",
        ),
        (
            {
                "schedule": '[{"start":"0 8 * * *","end":"0 9 * * *","timezone":"UTC",'
                '"minConcurrency":-3}]'
            },
            "schedule",
            "minConcurrency: must be a number >= 0",
        ),
        ({"selector.": "x"}, "selector.", "needs a selector name"),
    ],
)
def test_bad_metadata_names_the_key(change: dict[str, str | None], key: str, message: str) -> None:
    metadata = dict(GOOD)
    for k, v in change.items():
        if v is None:
            del metadata[k]
        else:
            metadata[k] = v
    with pytest.raises(InvalidMetadata) as caught:
        TriggerMetadata.from_metadata("ns", metadata)
    assert caught.value.key == key
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"scalerMetadata key `{key}`: ")


names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
crons = st.sampled_from(["0 8 * * 1-5", "*/15 * * * *", "30 2 * * 0", "0 0 1 * *"])
zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
floors = st.builds(
    ScheduleFloor,
    start=crons,
    end=crons,
    timezone=zones,
    min_concurrency=st.floats(min_value=0, max_value=1e6, allow_nan=False),
)


@st.composite
def metadata(draw: st.DrawFn) -> TriggerMetadata:
    low, high = sorted((draw(positive), draw(positive)))
    pr_low, pr_mid, pr_high = sorted((draw(positive), draw(positive), draw(positive)))
    selectors = draw(st.dictionaries(names, st.text(max_size=30), max_size=4))
    return TriggerMetadata(
        endpoint=draw(names),
        served=draw(names),
        namespace=draw(names),
        runtime=draw(st.sampled_from(["mlflow", "vllm", "triton", "custom"])),
        concurrency_min=draw(st.sampled_from([0.0, low])),
        concurrency_max=high,
        per_replica_min=pr_low,
        per_replica_max=pr_high,
        per_replica_initial=pr_mid,
        window_seconds=draw(positive),
        schedule=tuple(draw(st.lists(floors, max_size=3))),
        selectors=tuple(sorted(selectors.items())),
    )


@given(metadata())
def test_round_trip(m: TriggerMetadata) -> None:
    rendered = m.to_metadata()
    assert all(isinstance(v, str) for v in rendered.values())
    assert TriggerMetadata.from_metadata(m.namespace, rendered) == m
    # schedule is compact JSON with sorted keys: byte-stable for the renderer's golden files
    assert rendered["schedule"] == json.dumps(
        json.loads(rendered["schedule"]), sort_keys=True, separators=(",", ":")
    )
