"""Server-side view of the read endpoints, without HTTP: call the real route functions in-process,
capture the exact SQL they send, time them, and EXPLAIN (ANALYZE) each statement.

Calling the route functions (rather than copying their queries here) keeps the plans honest when
the queries change.
"""

from __future__ import annotations

import inspect
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic.fields import FieldInfo
from sqlalchemy import Engine, event

from repairs.context import ServiceContext


@dataclass
class Statement:
    sql: str
    params: Any
    label: str = ""
    plan: str = ""
    generic_plan: str = ""
    exec_ms: float | None = None  # EXPLAIN ANALYZE execution time (PostgreSQL)
    run_ms: float | None = None  # median time to execute and fetch, from this process
    indexes: list[str] = field(default_factory=list)
    generic_indexes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "sql": self.sql, "plan": self.plan, "generic_plan": self.generic_plan,
                "exec_ms": self.exec_ms, "run_ms": self.run_ms, "indexes": self.indexes,
                "generic_indexes": self.generic_indexes, "flags": self.flags}


@dataclass
class HandlerProfile:
    name: str
    statements: list[Statement]
    handler_p50_ms: float
    handler_p95_ms: float
    calls: int

    @property
    def selects(self) -> int:
        return len(self.statements)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "handler_p50_ms": round(self.handler_p50_ms, 2),
                "handler_p95_ms": round(self.handler_p95_ms, 2), "calls": self.calls,
                "statements_per_call": self.selects, "statements": [s.as_dict() for s in self.statements]}


@contextmanager
def capture(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def call_route(func: Callable[..., Any], **given: Any) -> Any:
    """Call a FastAPI route function directly: given arguments, defaults for the rest (a
    `Query(...)`-style default is unwrapped to its plain default)."""
    kwargs = {}
    for name, param in inspect.signature(func).parameters.items():
        if name in given:
            kwargs[name] = given[name]
        elif param.default is not inspect.Parameter.empty:
            default = param.default
            kwargs[name] = default.default if isinstance(default, FieldInfo) else default
        else:
            raise TypeError(f"{func.__name__}: no value for {name}")
    return func(**kwargs)


def _label(sql: str) -> str:
    flat = " ".join(sql.split()).lower()
    table = re.search(r"\bfrom (\w+)", flat)
    where = "keyset cursor" if " or " in flat and "due_at >" in flat else ""
    kind = "selectin" if " in (" in flat or "= any" in flat else "main"
    return " ".join(x for x in (table.group(1) if table else "?", kind, where) if x)


def profile_handler(ctx: ServiceContext, name: str, call: Callable[[], Any], *, calls: int,
                    max_seconds: float = 10.0) -> HandlerProfile:
    call()  # warm caches and SQLAlchemy's statement cache
    with capture(ctx.engine) as seen:
        call()
    statements = [Statement(sql=s, params=p, label=_label(s)) for s, p in seen
                  if s.lstrip().upper().startswith("SELECT")]
    timings: list[float] = []
    deadline = time.perf_counter() + max_seconds
    while len(timings) < calls and (len(timings) < 5 or time.perf_counter() < deadline):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return HandlerProfile(name=name, statements=statements, handler_p50_ms=statistics.median(timings),
                          handler_p95_ms=timings[max(0, int(len(timings) * 0.95) - 1)], calls=len(timings))


_PG_INDEX = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)")


def explain(engine: Engine, backend: str, statement: Statement, *, runs: int = 30, max_seconds: float = 5.0) -> None:
    with engine.connect() as conn:
        if backend == "postgresql":
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.params).all()
            statement.plan = "\n".join(r[0] for r in rows)
            match = re.search(r"Execution Time: ([\d.]+) ms", statement.plan)
            statement.exec_ms = float(match.group(1)) if match else None
            statement.indexes = sorted(set(_PG_INDEX.findall(statement.plan)))
            # psycopg prepares a statement after 5 uses on a connection, and PostgreSQL may then switch
            # to a generic plan (one made without the parameter values): look at that one too.
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.params).all()
            conn.exec_driver_sql("RESET plan_cache_mode")
            statement.generic_plan = "\n".join(r[0] for r in rows)
            statement.generic_indexes = sorted(set(_PG_INDEX.findall(statement.generic_plan)))
            for flag, pattern in (("seq scan", r"Seq Scan on tickets"), ("sort", r"Sort Method"),
                                  ("jit", r"JIT:")):
                if re.search(pattern, statement.plan):
                    statement.flags.append(flag)
            removed = sum(int(x) for x in re.findall(r"Rows Removed by Filter: (\d+)", statement.plan))
            if removed:
                statement.flags.append(f"{removed} rows removed by filter")
            if statement.generic_indexes != statement.indexes:
                statement.flags.append("generic plan differs")
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement.sql, statement.params).all()
            statement.plan = "\n".join(str(r[-1]) for r in rows)
            statement.indexes = sorted(set(re.findall(r"USING (?:COVERING )?INDEX (\w+)", statement.plan)))
            if re.search(r"\bSCAN tickets\b(?! USING)", statement.plan):
                statement.flags.append("full scan")
            if "TEMP B-TREE" in statement.plan:
                statement.flags.append("temp b-tree sort")
        conn.rollback()
        timings: list[float] = []
        deadline = time.perf_counter() + max_seconds
        for _ in range(runs):
            if len(timings) >= 3 and time.perf_counter() > deadline:
                break
            started = time.perf_counter()
            conn.exec_driver_sql(statement.sql, statement.params).all()
            timings.append((time.perf_counter() - started) * 1000)
            conn.rollback()
        statement.run_ms = statistics.median(timings)
