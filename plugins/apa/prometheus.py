"""A small async Prometheus HTTP API client for grouped range queries (httpx).

Results are keyed by the (namespace, service) labels every scaler query template returns.
Any failure (connection, timeout, HTTP status, an error status, a body that is not what the API
documents) raises PrometheusError with a short `kind` for the error counters.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx

Key = tuple[str, str]
"""(namespace, service) of one served version."""
Series = dict[Key, list[tuple[float, float]]]


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

    async def aclose(self) -> None:
        await self._client.aclose()

    async def query_range(self, expr: str, start: float, end: float, step: float) -> Series:
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
        return parse_matrix(response.content)


def _ts(value: float) -> str:
    return f"{value:.3f}"


def parse_matrix(body: bytes | str) -> Series:
    """Parse a query_range response; series without `namespace`/`service` labels are skipped."""
    try:
        document: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PrometheusError("garbage", f"response is not JSON: {error}") from None
    try:
        if document["status"] != "success":
            raise PrometheusError("query", str(document.get("error", "unknown error"))[:200])
        data = document["data"]
        if data["resultType"] != "matrix":
            raise PrometheusError("garbage", f"expected a matrix, got {data['resultType']!r}")
        result: Series = {}
        for series in data["result"]:
            labels = series["metric"]
            namespace = labels.get("namespace")
            service = labels.get("service")
            if namespace is None or service is None:
                continue
            points = []
            for t, text in series["values"]:
                value = float(text)
                if math.isfinite(value):  # NaN (0/0) and Inf mean "unknown" for us
                    points.append((float(t), value))
            if points:
                result[(namespace, service)] = points
        return result
    except PrometheusError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise PrometheusError("garbage", f"unexpected response shape: {error!r}") from None
