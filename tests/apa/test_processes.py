"""The scaler's two processes: the gRPC process's directory of slots, the shared answer table,
and what happens when either process dies (real processes, a real gRPC client)."""

from __future__ import annotations

import json
import math
import os
import signal
from pathlib import Path

import grpc
import pytest
import yaml

from plugins.apa.answers import AnswerTable
from plugins.apa.directory import Directory, Items, Slot, TableFull
from plugins.apa.metadata import InvalidMetadata
from plugins.apa.proto import externalscaler_pb2 as pb

from .conftest import TEST_CONFIG, ScalerProcess, free_port, wait_for
from .test_server import metadata


def test_one_registration_per_distinct_map_and_slots_reused_after_release() -> None:
    registered: list[tuple[int, bool, Items]] = []

    def on_register(slot: Slot, new: bool, items: Items) -> None:
        registered.append((slot.index, new, items))

    directory = Directory(2, on_register)
    a, b = metadata("ns", "a-v1"), metadata("ns", "b-v1")
    first = directory.lookup_wire(b"a", "ns", "a-v1", a, 1.0)
    assert directory.lookup_wire(b"a", "ns", "a-v1", a, 2.0) is first  # cached: no message
    assert first.last_call == 2.0
    assert registered == [(0, True, tuple(sorted(a.items())))]
    # New metadata for a known ScaledObject: same slot (the sampler keeps what it learned).
    changed = {**a, "concurrencyMax": "50"}
    assert directory.lookup_wire(b"a2", "ns", "a-v1", changed, 3.0) is first
    assert registered[-1] == (0, False, tuple(sorted(changed.items())))
    second = directory.lookup_wire(b"b", "ns", "b-v1", b, 3.0)
    assert second.index == 1
    with pytest.raises(TableFull):
        directory.lookup_wire(b"c", "ns", "c-v1", metadata("ns", "c-v1"), 3.0)

    broken = {k: v for k, v in b.items() if k != "perReplicaMax"}
    for _ in range(2):  # the error is cached, and names the key each time
        with pytest.raises(InvalidMetadata) as caught:
            directory.lookup_wire(b"bad", "ns", "b-v1", broken, 4.0)
        assert caught.value.key == "perReplicaMax"

    idle = directory.take_idle(older_than=3.5)
    assert [(s.namespace, s.name) for s in idle] == [("ns", "a-v1"), ("ns", "b-v1")]
    assert len(directory) == 0
    # Not reused until the sampler says it stopped writing them.
    with pytest.raises(TableFull):
        directory.lookup_wire(b"c", "ns", "c-v1", metadata("ns", "c-v1"), 5.0)
    directory.release([1])
    assert directory.lookup_wire(b"c", "ns", "c-v1", metadata("ns", "c-v1"), 5.0).index == 1


def test_answer_table_is_shared_memory() -> None:
    writer = AnswerTable.create(capacity=64)
    reader = AnswerTable(os.dup(writer.fd), 64)  # a second mapping, as the other process has
    try:
        assert reader.value(3) == 0.0  # a fresh table is zeros: slots are cleared when taken
        writer.clear(3)
        assert math.isnan(reader.value(3))
        assert reader.active(3) is None
        writer.set(3, 2.5, True)
        writer.set(63, 0.0, False)
        assert (reader.value(3), reader.active(3)) == (2.5, True)
        assert (reader.value(63), reader.active(63)) == (0.0, False)
    finally:
        reader.close()
        writer.close()


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


UNREACHABLE = f"http://127.0.0.1:{free_port()}"  # Prometheus down: the scaler still serves


def test_the_scaler_exits_1_when_its_sampler_process_dies(
    tmp_path: Path, scalers: list[ScalerProcess]
) -> None:
    scaler = ScalerProcess(tmp_path / "scaler", UNREACHABLE)
    scalers.append(scaler)
    client = scaler.start()
    assert scaler.process is not None
    (sampler,) = _children(scaler.process.pid)
    md = metadata("t-proc", "p-v1")
    spec = client.stub.GetMetricSpec(client.ref("p-v1", "t-proc", md), timeout=5)
    assert spec.metricSpecs[0].metricName == "apa-replicas-p-v1"
    os.kill(sampler, signal.SIGKILL)
    assert scaler.process.wait(15) == 1  # a scaler that cannot learn must be restarted
    assert "the sampler process ended unexpectedly" in scaler.log()
    assert "Traceback" not in scaler.log()


def test_the_sampler_writes_the_state_and_ends_when_the_grpc_process_is_killed(
    tmp_path: Path, scalers: list[ScalerProcess]
) -> None:
    state = tmp_path / "state.json"
    scaler = ScalerProcess(tmp_path / "scaler", UNREACHABLE, state=state)
    scalers.append(scaler)
    client = scaler.start()
    assert scaler.process is not None
    (sampler,) = _children(scaler.process.pid)
    md = metadata("t-proc", "k-v1")
    client.stub.GetMetricSpec(client.ref("k-v1", "t-proc", md), timeout=5)
    # No sample (Prometheus is down): a first GetMetrics waits, then says why.
    with pytest.raises(grpc.RpcError) as caught:
        client.stub.GetMetrics(
            pb.GetMetricsRequest(scaledObjectRef=client.ref("k-v1", "t-proc", md)), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "no sample yet (degraded: prometheus " in str(caught.value.details())

    scaler.process.kill()
    scaler.process.wait(5)
    wait_for(lambda: not _alive(sampler), 10, what="the sampler process to end")
    saved = json.loads(state.read_text())["scaledObjects"]
    assert list(saved) == ["t-proc/k-v1"]
    assert saved["t-proc/k-v1"]["metadata"] == dict(sorted(md.items()))


def test_a_new_scaled_object_is_refused_at_once_while_prometheus_is_unreachable(
    tmp_path: Path, scalers: list[ScalerProcess]
) -> None:
    """The sampler already knows Prometheus is down: the first GetMetrics and IsActive of a new
    ScaledObject answer UNAVAILABLE at once, not after `firstAnswerWaitSeconds` (60 here, past
    the calls' 10 s deadline: waiting would be DEADLINE_EXCEEDED). An error, never a number:
    missing data scales nothing down or to zero."""
    scaler = ScalerProcess(tmp_path / "scaler", UNREACHABLE)
    (scaler.root / "config.yaml").write_text(
        yaml.safe_dump({**TEST_CONFIG, "firstAnswerWaitSeconds": 60})
    )
    scalers.append(scaler)
    client = scaler.start()
    other = metadata("t-proc", "o-v1")  # the sampler ticks for the ScaledObjects it has
    client.stub.GetMetricSpec(client.ref("o-v1", "t-proc", other), timeout=5)
    wait_for(
        lambda: scaler.healthz().startswith("degraded: prometheus "),
        20,
        what="the sampler to find Prometheus unreachable",
    )
    md = metadata("t-proc", "n-v1")
    ref = client.ref("n-v1", "t-proc", md)
    for call in (
        lambda: client.stub.GetMetrics(pb.GetMetricsRequest(scaledObjectRef=ref), timeout=10),
        lambda: client.stub.IsActive(ref, timeout=10),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, caught.value.details()
        assert "no sample yet (degraded: prometheus " in str(caught.value.details())
