"""A small closed-loop HTTP load generator: asyncio + httpx, a fixed number of requests shared by N
concurrent clients (each with its own keep-alive connection), and a timeout on every request.

It runs in the benchmark process, never in the server's: the two share the machine's cores, which
the report says (and measures: see the CPU columns).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

try:  # uvicorn's event loop, when present, keeps the client's own overhead down
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    params: dict[str, Any] | None = None


@dataclass
class Result:
    name: str
    requests: int
    concurrency: int
    wall_s: float
    latencies_ms: list[float] = field(repr=False)
    errors: Counter[str]
    expected_status: int
    error_samples: list[str] = field(default_factory=list)
    planned: int = 0  # requests asked for; `requests` is how many were sent before any time cap

    @property
    def ok(self) -> int:
        return self.requests - sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return self.ok / self.wall_s if self.wall_s else 0.0

    def pct(self, p: float) -> float:
        return percentile(self.latencies_ms, p)

    def summary(self) -> dict[str, Any]:
        lat = self.latencies_ms
        return {
            "name": self.name, "requests": self.requests, "planned": self.planned, "concurrency": self.concurrency,
            "ok": self.ok, "errors": dict(self.errors), "wall_s": round(self.wall_s, 3),
            "throughput_per_s": round(self.throughput, 1),
            "p50_ms": round(self.pct(50), 2), "p95_ms": round(self.pct(95), 2), "p99_ms": round(self.pct(99), 2),
            "max_ms": round(max(lat), 2) if lat else None,
            "mean_ms": round(sum(lat) / len(lat), 2) if lat else None,
            "error_samples": self.error_samples[:5],
        }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation), NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _run(base_url: str, name: str, make_call: Callable[[int], Call], *, requests: int, concurrency: int,
               timeout: float, expected_status: int, max_seconds: float | None) -> Result:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    errors_detail: list[str] = []
    counter = itertools.count()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout, trust_env=False) as client:

        async def one_client() -> None:
            while (i := next(counter)) < requests:
                if deadline is not None and time.perf_counter() > deadline:
                    sent[0] = min(sent[0], i)
                    return
                call = make_call(i)
                started = time.perf_counter()
                try:
                    response = await client.request(call.method, call.path, headers=call.headers, json=call.json,
                                                    params=call.params)
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != expected_status:
                        errors[f"http_{response.status_code}"] += 1
                        if errors[f"http_{response.status_code}"] == 1:
                            errors_detail.append(f"{response.status_code}: {response.text[:300]}")
                    latencies.append(elapsed)
                except httpx.TimeoutException:
                    errors["timeout"] += 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1

        sent = [requests]
        started = time.perf_counter()
        deadline = started + max_seconds if max_seconds else None
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return Result(name, sent[0], concurrency, wall, latencies, errors, expected_status, errors_detail,
                  planned=requests)


def run_async(coro_factory: Callable[[], Awaitable[Any]]) -> Any:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop if uvloop else None) as runner:
        return runner.run(coro_factory())


def run(base_url: str, name: str, make_call: Callable[[int], Call], *, requests: int, concurrency: int,
        timeout: float = 30.0, expected_status: int = 200, max_seconds: float | None = None) -> Result:
    """`requests` requests from `concurrency` clients; with `max_seconds`, no new request starts after that
    long (requests in flight finish), so one pathological scenario cannot eat the whole run."""
    return run_async(lambda: _run(base_url, name, make_call, requests=requests, concurrency=concurrency,
                                  timeout=timeout, expected_status=expected_status, max_seconds=max_seconds))
