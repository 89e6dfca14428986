"""The Prometheus client: range results per aligned instant, every failure mapped to a kind."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from plugins.apa.prometheus import Instants, PrometheusClient, PrometheusError, parse_matrix


def body(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> bytes:
    result = [
        {"metric": labels, "values": [[t, v] for t, v in values]} for labels, values in series
    ]
    return json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": result}}
    ).encode()


def test_values_land_on_their_aligned_instants() -> None:
    parsed = parse_matrix(
        body(
            ({"namespace": "a", "service": "x-v1", "job": "j"}, [(10, "1.5"), (12, "3")]),
            ({"namespace": "a", "service": "y-v1"}, [(11, "NaN"), (12, "+Inf"), (13, "7")]),
            ({"namespace": "a"}, [(10, "9")]),  # no service label: not ours
        ),
        10,
        12,
        1,
    )
    assert parsed == [
        (10, {("a", "x-v1"): 1.5}),
        (11, {}),  # NaN (0/0) is unknown, not zero
        (12, {("a", "x-v1"): 3.0}),  # +Inf dropped; 13 is off the requested range
    ]


@pytest.mark.parametrize(
    ("content", "kind", "text"),
    [
        (b"<html>", "garbage", "response is not JSON"),
        (b'{"status": "error", "error": "parse error at char 3"}', "query", "parse error"),
        (b'{"status": "success", "data": {"resultType": "vector", "result": []}}', "garbage",
         "expected a matrix, got 'vector'"),
        (b'{"status": "success", "data": {"resultType": "matrix", "result": [{"values": []}]}}',
         "garbage", "unexpected response shape"),
        (b'{"status": "success", "data": {"resultType": "matrix", "result": [{"metric": '
         b'{"namespace": "a", "service": "b"}, "values": [[1, "x"]]}]}}', "garbage",
         "unexpected response shape"),
    ],
)  # fmt: skip
def test_garbage_is_an_error_with_a_kind(content: bytes, kind: str, text: str) -> None:
    with pytest.raises(PrometheusError) as caught:
        parse_matrix(content, 0, 1, 1)
    assert caught.value.kind == kind
    assert text in str(caught.value)


def run(handler: Callable[[httpx.Request], httpx.Response]) -> Instants:
    async def main() -> Instants:
        client = PrometheusClient(
            "http://prometheus:9090/", timeout_s=0.2, transport=httpx.MockTransport(handler)
        )
        try:
            return await client.query_range("up", 100, 102, 1)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_query_range_sends_aligned_parameters() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(path=request.url.path, **dict(request.url.params))
        return httpx.Response(200, content=body(({"namespace": "a", "service": "s"}, [(101, "2")])))

    assert run(handler) == [(100, {}), (101, {("a", "s"): 2.0}), (102, {})]
    assert seen == {
        "path": "/api/v1/query_range",
        "query": "up",
        "start": "100.000",
        "end": "102.000",
        "step": "1.000",
    }


def test_http_errors_timeouts_and_refused_connections_have_kinds() -> None:
    def status(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="overloaded")

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    for handler, kind, text in (
        (status, "http", "HTTP 503: overloaded"),
        (slow, "timeout", "timed out"),
        (refused, "connection", "connection refused"),
    ):
        with pytest.raises(PrometheusError) as caught:
            run(handler)
        assert (caught.value.kind, str(caught.value)) == (kind, f"{kind}: {text}")
