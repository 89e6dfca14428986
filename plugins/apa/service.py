"""KEDA's `externalscaler.ExternalScaler` service, answered from memory.

The HPA target is fixed at 1 (AverageValue) and GetMetrics reports replicas needed, because KEDA
v2.20 reads the target only when it reconciles the ScaledObject (DESIGN.md, "Coupling").
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import grpc

from plugins.apa.metadata import InvalidMetadata
from plugins.apa.proto import externalscaler_pb2 as pb
from plugins.apa.proto import externalscaler_pb2_grpc as pb_grpc
from plugins.apa.registry import Entry, Registry
from plugins.apa.sampler import Sampler
from plugins.apa.telemetry import Telemetry

TARGET_SIZE = 1.0


class ExternalScaler(pb_grpc.ExternalScalerServicer):
    def __init__(
        self, registry: Registry, sampler: Sampler, telemetry: Telemetry, stop: asyncio.Event
    ) -> None:
        self.registry = registry
        self.sampler = sampler
        self.telemetry = telemetry
        self.stop = stop

    def _lookup(self, ref: pb.ScaledObjectRef) -> Entry | InvalidMetadata:
        # Synchronous on purpose: the common call is one serialization and a dict hit, and an
        # extra coroutine per call is a measurable share of the per-call cost.
        try:
            return self.registry.lookup_wire(
                ref.SerializeToString(deterministic=True),
                ref.namespace,
                ref.name,
                ref.scalerMetadata,
                self.sampler.clock(),
            )
        except InvalidMetadata as error:
            return error

    async def _entry(self, ref: pb.ScaledObjectRef, context: grpc.aio.ServicerContext) -> Entry:
        found = self._lookup(ref)
        if isinstance(found, InvalidMetadata):
            self.telemetry.invalid_metadata.labels(found.key).inc()
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"ScaledObject {ref.namespace}/{ref.name}: {found}",
            )
            raise found  # unreachable: abort raises
        return found

    async def _answered(self, ref: pb.ScaledObjectRef, context: grpc.aio.ServicerContext) -> Entry:
        """The entry, once it has an answer: a new ScaledObject waits for the next sampler tick
        (memory only, never a Prometheus round trip of its own)."""
        found = self._lookup(ref)
        if isinstance(found, Entry) and found.value is not None:
            return found  # the common case, without awaiting anything
        entry = await self._entry(ref, context)
        if entry.value is None:
            self.sampler.answer_now(entry)
        if entry.value is None:
            try:
                await asyncio.wait_for(
                    self._until_answered(entry), self.sampler.config.first_answer_wait_s
                )
            except TimeoutError:
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE,
                    f"ScaledObject {ref.namespace}/{ref.name}: no sample yet "
                    f"({self.telemetry.health_text()}); retry",
                )
        return entry

    async def _until_answered(self, entry: Entry) -> None:
        while entry.value is None:
            await self.sampler.ticked.wait()

    async def IsActive(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> pb.IsActiveResponse:
        entry = await self._answered(request, context)
        return pb.IsActiveResponse(result=bool(entry.active))

    async def StreamIsActive(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.IsActiveResponse]:
        # KEDA acts on `true` only (scale from zero at once); send the current value on open and
        # every change after it.
        entry = await self._answered(request, context)
        last = bool(entry.active)
        yield pb.IsActiveResponse(result=last)
        while not self.stop.is_set():
            await self.sampler.ticked.wait()
            current = bool(entry.active)
            if current != last:
                last = current
                yield pb.IsActiveResponse(result=current)

    async def GetMetricSpec(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> pb.GetMetricSpecResponse:
        entry = await self._entry(request, context)
        return _spec(entry)

    async def StreamMetricSpec(
        self, request: pb.ScaledObjectRef, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GetMetricSpecResponse]:
        # The target never changes (fixed at 1), so one message on open is the whole stream.
        entry = await self._entry(request, context)
        yield _spec(entry)
        await self.stop.wait()

    async def GetMetrics(
        self, request: pb.GetMetricsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMetricsResponse:
        ref = request.scaledObjectRef
        entry = self._lookup(ref)
        if not isinstance(entry, Entry) or entry.value is None:
            entry = await self._answered(ref, context)
        value = entry.value or 0.0
        # Exactly one value: the HPA sums every value it gets.
        return pb.GetMetricsResponse(
            metricValues=[
                pb.MetricValue(
                    metricName=request.metricName or entry.metric_name,
                    metricValue=math.ceil(value),  # the deprecated int64 field
                    metricValueFloat=value,
                )
            ]
        )


def _spec(entry: Entry) -> pb.GetMetricSpecResponse:
    return pb.GetMetricSpecResponse(
        metricSpecs=[
            pb.MetricSpec(metricName=entry.metric_name, targetSize=1, targetSizeFloat=TARGET_SIZE)
        ]
    )
