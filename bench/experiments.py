"""Candidate fixes tried on the benchmark database, with their measured effect.

The service's code is not changed here, so a query change is measured by EXPLAIN ANALYZE and timing
of the captured statement with the change applied to its SQL text; an index is measured the same way
and also over HTTP, by re-running the affected scenarios against the running server.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from bench.explain import Statement, explain

if TYPE_CHECKING:
    from bench.api_bench import Bench, Scenario


def _main_statement(bench: Bench, profile_name: str) -> Statement | None:
    for profile in bench.run.profiles:
        if profile.name == profile_name:
            for statement in profile.statements:
                if statement.sql.lstrip().upper().startswith("SELECT") and "tickets" in statement.label:
                    return statement
    return None


def _rewritten(statement: Statement, sql: str, params: Any = None) -> Statement:
    out = Statement(sql=sql, params=copy.copy(statement.params) if params is None else params,
                    label=statement.label)
    return out


def _ddl(bench: Bench, statements: list[str]) -> None:
    with bench.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    with bench.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE tickets" if bench.backend == "postgresql" else "ANALYZE")
        conn.commit()


def _scenario(scenarios: list[Scenario], name: str, clients: int) -> Scenario | None:
    return next((s for s in scenarios if s.name == name and s.result.concurrency == clients), None)


def _sql_measurement(label: str, before: Statement, after: Statement) -> dict[str, Any]:
    return {
        "scenario": label, "clients": "SQL", "before_p95_ms": None, "after_p95_ms": None,
        "before_sql_ms": before.run_ms, "after_sql_ms": after.run_ms,
        "before_exec_ms": before.exec_ms, "after_exec_ms": after.exec_ms,
        "after_indexes": ", ".join(after.indexes) or "(none)",
        "before_plan": before.plan, "after_plan": after.plan, "after_sql": " ".join(after.sql.split()),
    }


def run_experiments(bench: Bench, deep_cursor: str | None) -> list[dict[str, Any]]:
    backend = bench.backend
    pg = backend == "postgresql"
    is_true = "tickets.is_open IS true" if pg else "tickets.is_open IS 1"
    queue_name = "officer queue"
    deep_name = f"officer queue, page {bench.cfg.deep_pages + 1} (keyset)"
    emergency_name = "officer queue, priority=emergency"
    results: list[dict[str, Any]] = []
    queue = _main_statement(bench, queue_name)
    deep = _main_statement(bench, deep_name)
    emergency = _main_statement(bench, emergency_name)
    if queue is None or is_true not in queue.sql:
        return results  # the query has changed since this was written: nothing to compare

    # 1. Query change: a bare `is_open` (what the partial index says) instead of `is_open IS true`.
    exp: dict[str, Any] = {
        "name": "query: filter on bare is_open",
        "ddl": f"WHERE {is_true}  ->  WHERE tickets.is_open   (no schema change)",
        "why": "The partial index ix_tickets_open_due is `WHERE is_open`; PostgreSQL cannot prove `is_open IS "
               "TRUE` implies it, and SQLite only matches a partial index's WHERE term literally.",
        "measurements": [],
    }
    for name, statement in ((queue_name, queue), (deep_name, deep), (emergency_name, emergency)):
        if statement is None:
            continue
        after = _rewritten(statement, statement.sql.replace(is_true, "tickets.is_open"))
        explain(bench.engine, backend, after)
        exp["measurements"].append(_sql_measurement(name, statement, after))
    results.append(exp)

    # 2. Keyset cursor as a row-value comparison (PostgreSQL): an index condition, not a filter.
    if pg and deep is not None:
        pattern = re.compile(r"\(tickets\.due_at > (.+?) OR tickets\.due_at = (.+?) AND tickets\.id > (.+?)\) ORDER BY")
        fixed_sql = deep.sql.replace(is_true, "tickets.is_open")
        if pattern.search(fixed_sql):
            exp = {
                "name": "query: keyset cursor as a row comparison",
                "ddl": "(due_at > :m OR (due_at = :m AND id > :i))  ->  (due_at, id) > (:m, :i)  "
                       "[sqlalchemy.tuple_(Ticket.due_at, Ticket.id) > tuple_(moment, ident)], with change 1",
                "why": "With the OR form PostgreSQL walks the index from the start and filters; the row comparison "
                       "starts the index scan at the cursor, so a page costs the same at any depth.",
                "measurements": [],
            }
            row_sql = pattern.sub(r"(tickets.due_at, tickets.id) > (\1, \3) ORDER BY", fixed_sql)
            base_or = _rewritten(deep, fixed_sql)
            explain(bench.engine, backend, base_or)
            row = _rewritten(deep, row_sql)
            explain(bench.engine, backend, row)
            exp["measurements"].append(_sql_measurement(f"{deep_name}, with change 1", base_or, row))
            # A cursor 80% of the way down the open queue: what a supervisor paging far sees.
            with bench.engine.connect() as conn:
                open_count = conn.exec_driver_sql("SELECT count(*) FROM tickets WHERE is_open").scalar() or 0
                far = conn.exec_driver_sql(
                    "SELECT due_at, id FROM tickets WHERE is_open ORDER BY due_at, id OFFSET %(n)s LIMIT 1",
                    {"n": int(open_count * 0.8)},
                ).one_or_none()
            if far is not None and isinstance(deep.params, dict):
                params = dict(deep.params)
                due_keys = [k for k in params if k.startswith("due_at_")]
                id_keys = [k for k in params if k.startswith("id_")]
                if due_keys and id_keys:
                    for k in due_keys:
                        params[k] = far[0]
                    params[id_keys[0]] = far[1]
                    far_or = _rewritten(deep, fixed_sql, params)
                    explain(bench.engine, backend, far_or)
                    far_row = _rewritten(deep, row_sql, dict(params))
                    explain(bench.engine, backend, far_row)
                    exp["measurements"].append(_sql_measurement(
                        f"officer queue, cursor 80% down the open queue (~{int(open_count * 0.8):,} rows)",
                        far_or, far_row))
            results.append(exp)

    # 3. Index matching the query exactly as the service sends it today: measured over HTTP too.
    predicate = "is_open IS TRUE" if pg else "is_open IS 1"
    ddl = f"CREATE INDEX ix_bench_open_due_is_true ON tickets (due_at, id) WHERE {predicate}"
    exp = {
        "name": "index: open queue partial index with the query's predicate",
        "ddl": ddl,
        "why": "An alternative to change 1 that needs no code change, only a migration (but ties the index to "
               "how SQLAlchemy renders the filter).",
        "measurements": [],
    }
    _ddl(bench, [ddl])
    for name, statement in ((queue_name, queue), (deep_name, deep)):
        if statement is None:
            continue
        after = _rewritten(statement, statement.sql)
        explain(bench.engine, backend, after)
        exp["measurements"].append(_sql_measurement(name, statement, after))
    reruns = bench.read_scenarios(deep_cursor, requests=min(bench.cfg.reads, 500), tag=" [+index]",
                                  only_queue=True)
    for rerun in reruns:
        base_name = rerun.name.removesuffix(" [+index]")
        before = _scenario(bench.run.scenarios, base_name, rerun.result.concurrency)
        if before is None or base_name == emergency_name:
            continue
        exp["measurements"].append({
            "scenario": base_name, "clients": rerun.result.concurrency,
            "before_p95_ms": before.result.pct(95), "after_p95_ms": rerun.result.pct(95),
            "before_p50_ms": before.result.pct(50), "after_p50_ms": rerun.result.pct(50),
            "before_rps": before.result.throughput, "after_rps": rerun.result.throughput,
            "after_server_cpu_ms": rerun.cpu.server_s * 1000 / max(1, rerun.result.requests),
            "after_postgres_cpu_ms": rerun.cpu.postgres_s * 1000 / max(1, rerun.result.requests),
            "after_indexes": "ix_bench_open_due_is_true",
        })
    results.append(exp)

    # 4. The emergency filter: a partial index led by priority (with the index from 3 in place).
    if emergency is not None and pg:
        ddl = f"CREATE INDEX ix_bench_open_priority_due ON tickets (priority, due_at, id) WHERE {predicate}"
        exp = {"name": "index: open queue by priority", "ddl": ddl,
               "why": "Serves priority=emergency (and urgent/routine) queue filters without filtering.",
               "measurements": []}
        before = _rewritten(emergency, emergency.sql)
        explain(bench.engine, backend, before)
        _ddl(bench, [ddl])
        after = _rewritten(emergency, emergency.sql)
        explain(bench.engine, backend, after)
        exp["measurements"].append(_sql_measurement(emergency_name, before, after))
        results.append(exp)
        _ddl(bench, ["DROP INDEX ix_bench_open_priority_due"])
    _ddl(bench, ["DROP INDEX ix_bench_open_due_is_true"])
    results.append(_hydration(bench))
    return results


def _hydration(bench: Bench, runs: int = 200) -> dict[str, Any]:
    """The queue page as full ORM entities (what the route loads) against only the columns QueueRow
    shows: the cost here is Python, not the database."""
    import statistics
    import time

    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from repairs.residents.models import Property
    from repairs.tickets.models import Ticket

    def page(*entities: Any) -> Any:
        return (select(*entities).outerjoin(Property, Property.id == Ticket.property_id)
                .where(text("tickets.is_open")).order_by(Ticket.due_at, Ticket.id).limit(51))

    full = page(Ticket, Property.postcode)
    slim = page(Ticket.id, Ticket.reference, Ticket.category, Ticket.priority, Ticket.emergency, Ticket.status,
                Ticket.summary, Ticket.block, Ticket.channel, Ticket.vulnerable, Ticket.reported_at, Ticket.due_at,
                Ticket.is_open, Ticket.awaab_applies, Ticket.investigated_at, Ticket.awaab_investigate_by,
                Ticket.awaab_summary_by, Ticket.awaab_safety_work_by, Property.postcode)
    timings: dict[str, float] = {}
    for name, statement in (("full", full), ("slim", slim)):
        samples = []
        with Session(bench.engine) as session:
            for i in range(runs + 10):
                started = time.perf_counter()
                session.execute(statement).all()
                if i >= 10:
                    samples.append((time.perf_counter() - started) * 1000)
                session.rollback()
                session.expunge_all()
        timings[name] = statistics.median(samples)
    return {
        "name": "query: load only the queue's columns",
        "ddl": "select(Ticket, Property.postcode)  ->  select(Ticket.reference, Ticket.category, ... 18 columns, "
               "Property.postcode)",
        "why": "The queue hydrates 51 full Ticket entities (45 columns, 9 timestamp conversions each) to show 14 "
               "fields; measured in-process (fetch and hydrate, median), with the open-queue index in use.",
        "measurements": [{
            "scenario": "officer queue page (51 rows), fetch + hydrate", "clients": "in-process",
            "before_p95_ms": None, "after_p95_ms": None, "before_sql_ms": timings["full"],
            "after_sql_ms": timings["slim"], "after_indexes": "ix_tickets_open_due",
        }],
    }

