"""A small async Prometheus HTTP API client for grouped range queries (httpx).

Results are keyed by the (namespace, service) labels every scaler query template returns.
Any failure (connection, timeout, HTTP status, an error status, a body that is not what the API
documents) raises PrometheusError with a short `kind` for the error counters.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Generator
from typing import Any

import httpx

_loads: Callable[[bytes | str], Any]
try:  # optional: several times faster than json on the 10,000-series bodies a tick parses
    import orjson  # its JSONDecodeError subclasses json's

    _loads = orjson.loads
except ImportError:  # pragma: no cover - depends on the installation
    _loads = json.loads

Key = tuple[str, str]
"""(namespace, service) of one served version."""
Instants = list[tuple[float, dict[Key, float]]]
"""A range result per aligned instant, oldest first: [(t, {key: value})], every instant present."""


class PrometheusError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class PrometheusClient:
    """Evaluates expressions over aligned instants with /api/v1/query_range."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._keys: dict[Key, Key] = {}  # interned series keys
        # One parse at a time: a vertical query's response parsed alongside a horizontal one
        # held two 10,000-series documents at once (+19 MB of peak memory, measured); a parse
        # takes tens of milliseconds, so the wait is short.
        self._parsing = asyncio.Lock()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def query_range(self, expr: str, start: float, end: float, step: float) -> Instants:
        """Values of `expr` at start, start+step, ..., end, by (namespace, service)."""
        params = {"query": expr, "start": _ts(start), "end": _ts(end), "step": _ts(step)}
        try:
            response = await self._client.get("/api/v1/query_range", params=params)
        except httpx.TimeoutException as error:
            raise PrometheusError("timeout", str(error) or "timed out") from None
        except httpx.HTTPError as error:
            raise PrometheusError("connection", str(error) or type(error).__name__) from None
        if response.status_code != 200:
            raise PrometheusError("http", f"HTTP {response.status_code}: {response.text[:200]}")
        async with self._parsing:
            return await parse_matrix_async(response.content, start, end, step, self._keys)


def _ts(value: float) -> str:
    return f"{value:.3f}"


def parse_matrix(
    body: bytes | str, start: float, end: float, step: float, keys: dict[Key, Key] | None = None
) -> Instants:
    """Parse a query_range response into one {key: value} per aligned instant start..end.

    `keys` interns the (namespace, service) tuples across calls: the history keeps one tuple per
    series instead of one per series and tick (fewer objects for the garbage collector).
    """
    steps = _parse(body, start, end, step, {} if keys is None else keys)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


async def parse_matrix_async(
    body: bytes | str, start: float, end: float, step: float, keys: dict[Key, Key]
) -> Instants:
    """`parse_matrix`, giving the event loop a turn every 500 series."""
    steps = _parse(body, start, end, step, keys)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
        await asyncio.sleep(0)


def _parse(
    body: bytes | str, start: float, end: float, step: float, keys: dict[Key, Key]
) -> Generator[None, None, Instants]:
    """The parser, pausing (yield) every 500 series.

    Series without `namespace`/`service` labels, points off the grid and NaN/Inf values (0/0
    means "unknown" to us) are skipped. Built per instant directly: the fewest objects per point,
    which is what a tick over 10,000 series costs.
    """
    try:
        document: Any = _loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PrometheusError("garbage", f"response is not JSON: {error}") from None
    count = round((end - start) / step) + 1
    values: list[dict[Key, float]] = [{} for _ in range(count)]
    isfinite = math.isfinite
    try:
        if document["status"] != "success":
            raise PrometheusError("query", str(document.get("error", "unknown error"))[:200])
        data = document["data"]
        if data["resultType"] != "matrix":
            raise PrometheusError("garbage", f"expected a matrix, got {data['resultType']!r}")
        for number, series in enumerate(data["result"]):
            if number % 500 == 499:
                yield
            labels = series["metric"]
            namespace = labels.get("namespace")
            service = labels.get("service")
            if namespace is None or service is None:
                continue
            key = (namespace, service)
            key = keys.setdefault(key, key)
            for t, text in series["values"]:
                value = float(text)
                index = round((t - start) / step)
                if isfinite(value) and 0 <= index < count:
                    values[index][key] = value
    except PrometheusError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise PrometheusError("garbage", f"unexpected response shape: {error!r}") from None
    return [(start + index * step, snapshot) for index, snapshot in enumerate(values)]
