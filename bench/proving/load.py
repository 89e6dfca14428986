"""An open-loop load generator: Poisson arrivals at a rate per phase, bounded in count and time.

    python -m bench.proving.load --url http://127.0.0.1:PORT/invocations --body BODY.json \
        --phase 50:30 --phase 120:30 --out RESULT.json [--seed 1] [--max-in-flight 256]

Open loop: a request is sent at its arrival time whether or not earlier ones have returned, as
independent users do (a closed loop slows down with the server and hides its queue). A tiny
HTTP/1.1 client over a pool of keep-alive connections keeps the generator's own CPU cost low;
it runs pinned to a core the replica does not use (the caller wraps it in `taskset`). Arrivals
beyond `--max-in-flight` outstanding requests are counted as `dropped`, not sent: the bound that
keeps an overload from turning into an unbounded number of sockets.

The result: per request its phase, send time (s since start), latency (ms) and HTTP status, plus
per phase the time-averaged number of requests in flight and how late arrivals were sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Phase:
    rate: float
    seconds: float
    in_flight_area: float = 0.0  # integral of requests in flight over the phase
    dropped: int = 0
    late_ms: list[float] = field(default_factory=list)


class Pool:
    """Keep-alive connections to one host; a request takes an idle one or opens another."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, payload: bytes) -> int:
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(payload)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        keep = True
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
        await reader.readexactly(length)
        if keep:
            self.idle.append((reader, writer))
        else:
            writer.close()
        return status


async def run(
    url: str, body: bytes, phases: list[Phase], seed: int, max_in_flight: int
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payload = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    pool = Pool(host, port)
    rng = random.Random(seed)
    records: list[tuple[int, float, float, int]] = []
    tasks: set[asyncio.Task[None]] = set()
    in_flight = 0
    last_change = 0.0
    start = time.perf_counter()
    current = 0

    def account(now: float) -> None:
        nonlocal last_change
        phases[current].in_flight_area += in_flight * (now - last_change)
        last_change = now

    async def one(index: int, sent: float) -> None:
        nonlocal in_flight
        try:
            status = await pool.request(payload)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            status = 0
        done = time.perf_counter() - start
        account(done)
        in_flight -= 1
        records.append((index, sent, (done - sent) * 1000.0, status))

    begin = 0.0
    for index, phase in enumerate(phases):
        account(time.perf_counter() - start)
        current = index
        end = begin + phase.seconds
        at = begin + rng.expovariate(phase.rate) if phase.rate > 0 else end
        while at < end:
            delay = at - (time.perf_counter() - start)
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter() - start
            phase.late_ms.append(max(0.0, now - at) * 1000.0)
            if in_flight >= max_in_flight:
                phase.dropped += 1
            else:
                account(now)
                in_flight += 1
                task = asyncio.create_task(one(index, now))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            at += rng.expovariate(phase.rate)
        delay = end - (time.perf_counter() - start)
        if delay > 0:
            await asyncio.sleep(delay)
        begin = end
    account(time.perf_counter() - start)
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    late = [sorted(p.late_ms) for p in phases]
    return {
        "phases": [
            {
                "rate": p.rate,
                "seconds": p.seconds,
                "mean_in_flight": p.in_flight_area / p.seconds,
                "dropped": p.dropped,
                "late_p99_ms": lp[int(0.99 * (len(lp) - 1))] if lp else 0.0,
            }
            for p, lp in zip(phases, late, strict=True)
        ],
        "requests": sorted(records, key=lambda r: r[1]),
    }


def parse_phase(text: str) -> Phase:
    rate, _, seconds = text.partition(":")
    return Phase(float(rate), float(seconds))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--phase", type=parse_phase, action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-in-flight", type=int, default=256)
    args = parser.parse_args()
    result = asyncio.run(
        run(args.url, args.body.read_bytes(), args.phase, args.seed, args.max_in_flight)
    )
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
