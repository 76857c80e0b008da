"""Where the server's CPU goes: the whole ASGI app (middleware, dependencies, route, response
validation and serialisation) driven in-process through httpx's ASGI transport, under cProfile.

FastAPI runs sync dependencies, sync routes and their response validation in a thread pool; cProfile
sees only its own thread, so for the profile those hops are made inline (and counted: each is a
thread hand-off the real server pays for). Self time is then summed by package.
"""

from __future__ import annotations

import contextlib
import cProfile
import pstats
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from sqlalchemy import Engine, event

from bench import loadgen
from bench.explain import capture

# A file path fragment -> the bucket its self time is counted in (first match wins).
BUCKETS = [
    ("/sqlalchemy/orm/", "SQLAlchemy ORM"),
    ("/sqlalchemy/", "SQLAlchemy Core/engine"),
    ("/psycopg", "psycopg"),
    ("sqlite3", "sqlite3"),
    ("/pydantic_core/", "pydantic"),
    ("/pydantic/", "pydantic"),
    ("/fastapi/", "FastAPI"),
    ("/starlette/", "Starlette"),
    ("/anyio/", "anyio"),
    ("/httpx/", "load driver (httpx, not the server)"),
    ("/httpcore/", "load driver (httpx, not the server)"),
    ("/repairs/policy/", "repairs.policy"),
    ("/repairs/", "repairs (other)"),
    ("/json/", "json (stdlib)"),
    ("/zoneinfo/", "zoneinfo/datetime"),
    ("/asyncio/", "asyncio"),
    ("uvloop", "asyncio"),
]


def _kind(sql: str) -> str:
    words = sql.split()
    verb = words[0].upper() if words else "?"
    if verb in ("INSERT", "UPDATE", "DELETE"):
        target = words[2] if verb in ("INSERT", "DELETE") and len(words) > 2 else words[1] if len(words) > 1 else "?"
        return f"{verb} {target}"
    if verb == "SELECT" and " FROM " in sql.upper():
        table = sql.upper().split(" FROM ", 1)[1].split()[0].lower()
        return f"SELECT {table}"
    return verb


def _bucket(filename: str, funcname: str) -> str:
    if filename == "~":  # a C function: attribute by name where that is telling
        for needle, label in (("psycopg", "psycopg"), ("pydantic", "pydantic"), ("sqlite3", "sqlite3"),
                              ("json", "json (stdlib)")):
            if needle in funcname:
                return label
        return "builtins (C)"
    for needle, label in BUCKETS:
        if needle in filename:
            return label
    return "other Python"


@contextlib.contextmanager
def inline_threadpool() -> Iterator[list[int]]:
    import fastapi.dependencies.utils as dep_utils
    import fastapi.routing as routing

    hops = [0]
    originals = (routing.run_in_threadpool, dep_utils.run_in_threadpool)

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops[0] += 1
        return func(*args, **kwargs)

    routing.run_in_threadpool = inline  # type: ignore[assignment]
    dep_utils.run_in_threadpool = inline  # type: ignore[assignment]
    try:
        yield hops
    finally:
        routing.run_in_threadpool, dep_utils.run_in_threadpool = originals


async def _drive(app: Any, make_call: Callable[[int], loadgen.Call], start: int, count: int,
                 expected: int) -> list[float]:
    timings = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for i in range(start, start + count):
            call = make_call(i)
            started = time.perf_counter()
            response = await client.request(call.method, call.path, headers=call.headers, json=call.json,
                                            params=call.params)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != expected:
                raise RuntimeError(f"{call.method} {call.path}: {response.status_code} {response.text[:300]}")
    return timings


def profile_endpoint(app: Any, engine: Engine, name: str, make_call: Callable[[int], loadgen.Call], *,
                     requests: int, expected: int = 200) -> dict[str, Any]:
    loadgen.run_async(lambda: _drive(app, make_call, 0, 20, expected))  # warm up
    # 1. Time the real stack in-process (thread pool and all), one request at a time, counting the SQL
    #    statements (round trips; BEGIN/COMMIT and pool pings not included) it sends.
    transactions = [0]

    def on_begin(_conn: Any) -> None:
        transactions[0] += 1

    event.listen(engine, "begin", on_begin)
    try:
        with capture(engine) as captured:
            timings = loadgen.run_async(lambda: _drive(app, make_call, 20, requests, expected))
    finally:
        event.remove(engine, "begin", on_begin)
    seen = [(sql, params) for sql, params in captured if not sql.lstrip().upper().startswith("BEGIN")]
    kinds: dict[str, int] = defaultdict(int)
    for sql, _params in seen:
        kinds[_kind(sql)] += 1
    # 2. The same with the thread-pool hops made inline (what async dependencies would save, roughly).
    with inline_threadpool():
        inline_timings = loadgen.run_async(lambda: _drive(app, make_call, 20 + requests, requests, expected))
    # 3. Profile it, hops inline. CPU time, not wall time: waiting for the
    #    database is not the server's CPU.
    profiler = cProfile.Profile(time.process_time)
    with inline_threadpool() as hops:
        profiler.enable()
        loadgen.run_async(lambda: _drive(app, make_call, 20 + 2 * requests, requests, expected))
        profiler.disable()
    stats = pstats.Stats(profiler)
    by_bucket: dict[str, float] = defaultdict(float)
    total = 0.0
    repairs_functions = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, funcname), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        by_bucket[_bucket(filename, funcname)] += tottime
        total += tottime
        if "/repairs/" in filename:
            short = filename.split("/repairs/", 1)[1]
            repairs_functions.append((cumtime, f"repairs/{short}:{funcname}", ncalls))
    client = by_bucket.pop("load driver (httpx, not the server)", 0.0)
    server_total = total - client
    repairs_functions.sort(reverse=True)
    return {
        "name": name,
        "requests": requests,
        "inprocess_p50_ms": round(loadgen.percentile(timings, 50), 2),
        "inprocess_p95_ms": round(loadgen.percentile(timings, 95), 2),
        "inline_hops_p50_ms": round(loadgen.percentile(inline_timings, 50), 2),
        "threadpool_hops_per_request": round(hops[0] / requests, 1),
        "sql_per_request": round(len(seen) / requests, 1),
        "transactions_per_request": round(transactions[0] / requests, 1),
        "sql_kinds_per_request": {k: round(v / requests, 1) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
        "profiled_ms_per_request": round(server_total * 1000 / requests, 2),
        "self_time_share": {k: round(100 * v / server_total, 1)
                            for k, v in sorted(by_bucket.items(), key=lambda kv: -kv[1]) if server_total},
        "top_repairs_cumulative_ms": [
            {"function": f, "ms_per_request": round(c * 1000 / requests, 3), "calls_per_request":
             round(n / requests, 1)} for c, f, n in repairs_functions[:12]
        ],
    }
