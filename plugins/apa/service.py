"""KEDA's `externalscaler.ExternalScaler` service, answered from the shared answer table.

The HPA target is fixed at 1 (AverageValue) and GetMetrics reports replicas needed, because KEDA
v2.20 reads the target only when it reconciles the ScaledObject (DESIGN.md, "Coupling").
The answers come from the sampler process (`worker.py`) through shared memory (`answers.py`):
a call is a serialization, a dict hit and an index, never a wait on Prometheus or on a tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from hashlib import blake2b

import grpc

from plugins.apa.answers import AnswerTable
from plugins.apa.directory import Directory, Slot, TableFull
from plugins.apa.link import Channel
from plugins.apa.metadata import InvalidMetadata
from plugins.apa.proto import externalscaler_pb2 as pb
from plugins.apa.proto import externalscaler_pb2_grpc as pb_grpc

TARGET_SIZE = 1.0


class Link:
    """The gRPC process's end of the sampler process: its channel, health and tick events."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.health = "starting"
        self.ticked = asyncio.Event()  # set after every tick or registration, then replaced
        self.failed = False  # the sampler process ended on its own

    def notify(self, health: str) -> None:
        self.health = health
        self.ticked.set()
        self.ticked = asyncio.Event()

    @property
    def prometheus_down(self) -> bool:
        """The sampler's last tick could not query Prometheus (its health text, set in
        plugins.apa.sampler): a slot with no answer yet gets none before Prometheus is back."""
        return self.health.startswith("degraded: prometheus ")


class ExternalScaler(pb_grpc.ExternalScalerServicer):
    def __init__(
        self,
        directory: Directory,
        table: AnswerTable,
        link: Link,
        first_answer_wait_s: float,
        stop: asyncio.Event,
    ) -> None:
        self.directory = directory
        self.table = table
        self.link = link
        self.first_answer_wait_s = first_answer_wait_s
        self.stop = stop

    def _lookup(self, ref: pb.ScaledObjectRef) -> Slot | InvalidMetadata | TableFull:
        # Synchronous on purpose: the common call is one serialization and a dict hit, and an
        # extra coroutine per call is a measurable share of the per-call cost.
        try:
            return self.directory.lookup_wire(
                # A 16-byte digest of the deterministic serialization rather than the ~700 bytes
                # themselves: 6.5 MB less at 10,000 objects for about a microsecond a call.
                blake2b(ref.SerializeToString(deterministic=True), digest_size=16).digest(),
                ref.namespace,
                ref.name,
                ref.scalerMetadata,
                time.time(),
            )
        except (InvalidMetadata, TableFull) as error:
            return error

    async def _slot(self, ref: pb.ScaledObjectRef, context: grpc.aio.ServicerContext) -> Slot:
        found = self._lookup(ref)
        if isinstance(found, InvalidMetadata):
            self.link.channel.send("invalid", found.key)  # counted where /metrics is served
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"ScaledObject {ref.namespace}/{ref.name}: {found}",
            )
        if isinstance(found, TableFull):
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"ScaledObject {ref.namespace}/{ref.name}: {found}; add scaler shards",
            )
        assert isinstance(found, Slot)  # abort raises
        return found

    async def _answered(self, ref: pb.ScaledObjectRef, context: grpc.aio.ServicerContext) -> Slot:
        """The slot, once it has an answer: a new ScaledObject is answered by the sampler from
        its recent history, or after its next tick (memory only, never a query of its own)."""
        slot = await self._slot(ref, context)
        value = self.table.value
        if value(slot.index) != value(slot.index):  # NaN: not answered yet
            # When the last tick already found Prometheus unreachable, no tick will answer in
            # time: say so at once. (A tick failing during the wait is fresh news: the next one
            # may succeed, so the wait goes on.)
            if not self.link.prometheus_down:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._until_answered(slot), self.first_answer_wait_s)
            if value(slot.index) != value(slot.index):
                # An error, not a number: KEDA and the HPA keep the replicas as they are, so
                # missing data never scales down or to zero.
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE,
                    f"ScaledObject {ref.namespace}/{ref.name}: no sample yet "
                    f"({self.link.health}); retry",
                )
        return slot

    async def _until_answered(self, slot: Slot) -> None:
        value = self.table.value
        while value(slot.index) != value(slot.index):
            await self.link.ticked.wait()

    async def IsActive(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> pb.IsActiveResponse:
        slot = await self._answered(request, context)
        return pb.IsActiveResponse(result=bool(self.table.active(slot.index)))

    async def StreamIsActive(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.IsActiveResponse]:
        # KEDA acts on `true` only (scale from zero at once); send the current value on open and
        # every change after it.
        slot = await self._answered(request, context)
        last = bool(self.table.active(slot.index))
        yield pb.IsActiveResponse(result=last)
        while not self.stop.is_set():
            await self.link.ticked.wait()
            current = bool(self.table.active(slot.index))
            if current != last:
                last = current
                yield pb.IsActiveResponse(result=current)

    async def GetMetricSpec(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> pb.GetMetricSpecResponse:
        return _spec(await self._slot(request, context))

    async def StreamMetricSpec(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GetMetricSpecResponse]:
        # The target never changes (fixed at 1), so one message on open is the whole stream.
        yield _spec(await self._slot(request, context))
        await self.stop.wait()

    async def GetMetrics(
        self, request: pb.GetMetricsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMetricsResponse:
        ref = request.scaledObjectRef
        slot = self._lookup(ref)
        if isinstance(slot, Slot):
            value = self.table.value(slot.index)
        if not isinstance(slot, Slot) or value != value:  # the uncommon paths, awaited
            slot = await self._answered(ref, context)
            value = self.table.value(slot.index)
        # Exactly one value: the HPA sums every value it gets.
        return pb.GetMetricsResponse(
            metricValues=[
                pb.MetricValue(
                    metricName=request.metricName or slot.metric_name,
                    metricValue=math.ceil(value),  # the deprecated int64 field
                    metricValueFloat=value,
                )
            ]
        )


def _spec(slot: Slot) -> pb.GetMetricSpecResponse:
    return pb.GetMetricSpecResponse(
        metricSpecs=[
            pb.MetricSpec(metricName=slot.metric_name, targetSize=1, targetSizeFloat=TARGET_SIZE)
        ]
    )
