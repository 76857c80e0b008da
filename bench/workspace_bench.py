"""Officer workspace benchmark over real HTTP on PostgreSQL (`make bench-workspace`).

A fresh PostgreSQL database loaded by bench/dataset.py (200,000 tickets over 2,000 residents, as
`make bench-api` loads them), plus post-job ratings, complaints and callback requests for the reports;
then the real service (`python -m repairs serve`, 3 workers) in a subprocess. An officer and a supervisor
sign in through the login form, as a browser does, and the load generator fetches the pages with their
session cookies: the queue page and the reports page, p50/p95 against a target of p95 < 100 ms each.
Also timed: one CSV export of the default period. A report, not a test: it writes
bench/results/workspace.md and workspace.json.

    python -m bench.workspace_bench                     # 200,000 tickets
    python -m bench.workspace_bench --tickets 20000 --requests 100 --out /tmp/ws.md   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bench import dataset, loadgen
from bench.api_bench import DEFAULT_PG_ADMIN, environment
from bench.server import Server, cpu_between, install_cleanup, snapshot, wait_for_quiet
from repairs.auth.models import Role
from repairs.auth.officers import create_officer
from repairs.settings import PROJECT_ROOT

PG_DATABASE = "repairs_workspace_bench"  # not make bench-api's database: the two may run side by side
TARGET_P95_MS = 100.0
REALISTIC_PERIOD_TICKETS = 8_000
SUPERVISOR_EMAIL = "bench.supervisor@council.invalid"
SUPERVISOR_PASSWORD = "bench supervisor password 1234"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Config:
    tickets: int
    residents: int
    requests: int
    clients: int
    workers: int
    seed: int
    timeout: float
    scenario_seconds: float
    quiet_wait: float
    keep_db: bool
    pg_admin_url: str
    out: Path
    render_from: Path | None = None


@dataclass
class Measured:
    name: str
    path: str
    clients: int
    result: loadgen.Result
    cpu: dict[str, Any]
    met: bool

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.name, "path": self.path, **self.result.summary(), "cpu": self.cpu,
                "target": f"p95 < {TARGET_P95_MS:g} ms", "met": self.met}


@dataclass
class Run:
    load: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    scenarios: list[Measured] = field(default_factory=list)
    export: dict[str, Any] = field(default_factory=dict)
    background_busy_pct: float | None = None
    notes: list[str] = field(default_factory=list)


# -- data ------------------------------------------------------------------------------------------------


def fresh_database(admin_url: str) -> str:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{PG_DATABASE}"'))
    finally:
        admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def drop_database(admin_url: str) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    finally:
        admin.dispose()


def load_feedback(engine: sa.Engine, rng: random.Random) -> dict[str, int]:
    """What the reports read besides tickets: a rating for about a third of the finished repairs (skewed
    towards content), a complaint for about 1 in 100 tickets, and a callback request for 1 in 50."""
    from repairs.tickets.models import CallbackRequest, Complaint, Rating, Ticket

    with engine.connect() as conn:
        tickets = conn.execute(
            select(Ticket.id, Ticket.resident_id, Ticket.completed_at, Ticket.reported_at, Ticket.channel)
            .where(Ticket.resident_id.is_not(None))
        ).all()
    ratings, complaints, callbacks = [], [], []
    for ticket_id, resident_id, completed_at, reported_at, channel in tickets:
        if completed_at is not None and rng.random() < 0.35:
            ratings.append({"ticket_id": ticket_id, "resident_id": resident_id,
                            "score": rng.choices([1, 2, 3, 4, 5], weights=[8, 6, 14, 32, 40])[0],
                            "created_at": completed_at + timedelta(hours=rng.uniform(1, 72))})
        if rng.random() < 0.01:
            received = reported_at + timedelta(days=rng.uniform(1, 20))
            complaints.append({"reference": f"CP-{uuid.uuid4().hex[:8].upper()}", "resident_id": resident_id,
                               "ticket_id": ticket_id, "stage": 1 if rng.random() < 0.85 else 2,
                               "status": "open", "text": "Nobody came to fix it", "created_at": received,
                               "acknowledge_by": received + timedelta(days=7),
                               "respond_by": received + timedelta(days=21)})
        if rng.random() < 0.02:
            callbacks.append({"resident_id": resident_id, "reason": "Asked for a person", "channel": "telegram"
                              if channel == "phone" else channel[:20], "created_at": reported_at})
    with engine.begin() as conn:
        for table, rows in ((Rating, ratings), (Complaint, complaints), (CallbackRequest, callbacks)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start:start + 5000])
    return {"ratings": len(ratings), "complaints": len(complaints), "callback_requests": len(callbacks)}


def make_supervisor(engine: sa.Engine) -> None:
    with Session(engine) as session, session.begin():
        create_officer(session, email=SUPERVISOR_EMAIL, name="Bench Supervisor", password=SUPERVISOR_PASSWORD,
                       role=Role.SUPERVISOR)


# -- signing in --------------------------------------------------------------------------------------------


def sign_in(base_url: str, email: str, password: str) -> str:
    """The session cookie a browser would get from the login form."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as client:
        form = client.get("/officer/login")
        form.raise_for_status()
        found = CSRF.search(form.text)
        if not found:
            raise RuntimeError("the login page has no csrf_token field")
        response = client.post("/officer/login", data={"email": email, "password": password,
                                                       "csrf_token": found.group(1), "next": "/officer/queue"})
        if response.status_code not in (200, 303):
            raise RuntimeError(f"sign-in failed: {response.status_code} {response.text[:200]}")
        cookie = client.cookies.get("officer_session")
        if not cookie:
            raise RuntimeError("sign-in set no officer_session cookie")
        return cookie


# -- the run ---------------------------------------------------------------------------------------------


def period_counts(engine: sa.Engine, first: date, last: date) -> dict[str, int]:
    from zoneinfo import ZoneInfo

    from repairs.reports.period import Period
    from repairs.tickets.models import Ticket

    period = Period(first_day=first, last_day=last, tz=ZoneInfo("Europe/London"))
    with engine.connect() as conn:
        reported = conn.scalar(select(sa.func.count()).select_from(Ticket).where(
            Ticket.reported_at >= period.start, Ticket.reported_at < period.end)) or 0
        completed = conn.scalar(select(sa.func.count()).select_from(Ticket).where(
            Ticket.completed_at >= period.start, Ticket.completed_at < period.end)) or 0
    return {"reported": reported, "completed": completed}


def realistic_period(engine: sa.Engine, today: date, target: int = REALISTIC_PERIOD_TICKETS) -> tuple[date, date]:
    """The latest run of whole days, ending a week before today (past the loader's pile-up at "now"), that
    holds about `target` reported repairs: what four weeks hold at a council with 200,000 tickets over two
    years, so the reports page can also be timed at a real council's density."""
    from repairs.tickets.models import Ticket

    local_day = sa.func.date(sa.func.timezone("Europe/London", Ticket.reported_at))
    with engine.connect() as conn:
        per_day = dict(conn.execute(select(local_day, sa.func.count()).group_by(local_day)).all())
    last = today - timedelta(days=7)
    first, total = last, per_day.get(last, 0)
    while total < target and first > last - timedelta(days=365):
        first -= timedelta(days=1)
        total += per_day.get(first, 0)
    return first, last


def run(cfg: Config) -> Run:
    result = Run()
    rng = random.Random(cfg.seed)
    photo_dir = Path(tempfile.mkdtemp(prefix="repairs-ws-bench-photos-"))
    # The workspace signs its CSRF tokens with this; the server inherits it from this process.
    os.environ["REPAIRS_SECRET_KEY"] = secrets.token_hex(32)
    server: Server | None = None
    url = fresh_database(cfg.pg_admin_url)
    engine = dataset.engine_for(url)
    try:
        result.load["migrate_s"] = round(dataset.migrate(url), 1)
        started = time.perf_counter()
        residents = dataset.load_people(engine, residents=cfg.residents, rng=rng)
        officer_id = dataset.make_officer(engine)
        make_supervisor(engine)
        from repairs.context import build_context
        from repairs.settings import Settings

        ctx = build_context(Settings().model_copy(update={"database_url": url}), engine=engine)
        trades = {code: c.trade for code, c in ctx.policy.categories.items()}
        log(f"loading {cfg.tickets:,} tickets")
        total_s, _insert_s, extras, _extras_s = dataset.load_tickets(
            engine, count=cfg.tickets, residents=residents, trades=trades, officer_id=officer_id, rng=rng)
        result.load.update({"tickets": cfg.tickets, "tickets_s": round(total_s, 1), "appointments_photos": extras})
        result.counts = {**dataset.ticket_counts(engine), **load_feedback(engine, rng)}
        result.load["analyze_s"] = round(dataset.analyze(engine, "postgresql", url), 1)
        result.load["all_s"] = round(time.perf_counter() - started, 1)
        today = datetime.now(UTC).date()
        default_first = today - timedelta(days=27)
        quarter_first = today - timedelta(days=89)
        result.counts["default_period"] = {"first": default_first.isoformat(), "last": today.isoformat(),
                                           **period_counts(engine, default_first, today)}
        result.counts["quarter_period"] = {"first": quarter_first.isoformat(), "last": today.isoformat(),
                                           **period_counts(engine, quarter_first, today)}
        real_first, real_last = realistic_period(engine, today)
        result.counts["realistic_period"] = {"first": real_first.isoformat(), "last": real_last.isoformat(),
                                             **period_counts(engine, real_first, real_last)}
        log(f"data: {result.counts}")

        server = Server(database_url=url, workers=cfg.workers, api_token="bench-" + uuid.uuid4().hex,
                        photo_dir=photo_dir, log_path=PROJECT_ROOT / "var" / "bench" / "server-workspace.log")
        server.start()
        officer_cookie = sign_in(server.base_url, dataset.OFFICER_EMAIL, dataset.OFFICER_PASSWORD)
        supervisor_cookie = sign_in(server.base_url, SUPERVISOR_EMAIL, SUPERVISOR_PASSWORD)
        officer = {"Cookie": f"officer_session={officer_cookie}"}
        supervisor = {"Cookie": f"officer_session={supervisor_cookie}"}
        result.background_busy_pct = wait_for_quiet(cfg.quiet_wait, "workspace", log)

        def page(path: str, headers: dict[str, str], params: dict[str, str] | None = None
                 ) -> Callable[[int], loadgen.Call]:
            return lambda _i: loadgen.Call("GET", path, headers, params=params)

        scenarios: list[tuple[str, str, Callable[[int], loadgen.Call], int]] = [
            ("queue page (50 open repairs, soonest breach first)", "/officer/queue",
             page("/officer/queue", officer), 1),
            ("queue page, emergencies only", "/officer/queue?priority=emergency",
             page("/officer/queue", officer, {"priority": "emergency"}), 1),
            ("reports page, default period (last 4 weeks)", "/officer/reports",
             page("/officer/reports", supervisor), 1),
            ("reports page, last 90 days", "/officer/reports?from=...",
             page("/officer/reports", supervisor, {"from": quarter_first.isoformat(), "to": today.isoformat()}), 1),
            ("reports page, a period with ~8,000 reported repairs", "/officer/reports?from=...",
             page("/officer/reports", supervisor, {"from": real_first.isoformat(), "to": real_last.isoformat()}),
             1),
            ("queue page (50 open repairs, soonest breach first)", "/officer/queue",
             page("/officer/queue", officer), cfg.clients),
            ("reports page, default period (last 4 weeks)", "/officer/reports",
             page("/officer/reports", supervisor), cfg.clients),
        ]
        for _name, _path, make_call, _clients in scenarios[:4]:  # warm-up: pools, caches, templates
            loadgen.run(server.base_url, "warm-up", make_call, requests=20, concurrency=2, timeout=cfg.timeout)
        ours = postgres_pids(engine)
        for name, path, make_call, clients in scenarios:
            before = snapshot(server, ours)
            measured = loadgen.run(server.base_url, name, make_call, requests=cfg.requests, concurrency=clients,
                                   timeout=cfg.timeout, max_seconds=cfg.scenario_seconds)
            cpu = cpu_between(before, snapshot(server, ours)).as_dict()
            met = measured.pct(95) < TARGET_P95_MS and not measured.errors
            result.scenarios.append(Measured(name, path, clients, measured, cpu, met))
            s = measured.summary()
            log(f"{name:<52} c={clients} n={s['requests']:<4} p50 {s['p50_ms']:>7} p95 {s['p95_ms']:>7} ms "
                f"{s['throughput_per_s']:>6}/s errors {s['errors']}")
        result.export = time_export(server.base_url, supervisor, cfg.timeout)
        log(f"CSV export: {result.export}")
    except Exception as exc:  # report what was measured, and why the rest was not
        import traceback

        log(f"FAILED: {exc!r}\n{traceback.format_exc()}")
        if server is not None:
            log(f"server log tail:\n{server.log_tail()}")
        result.notes.append(f"**The run failed** ({type(exc).__name__}: {str(exc)[:300]}); results are partial.")
    finally:
        if server is not None:
            server.stop()
        engine.dispose()
        if not cfg.keep_db:
            drop_database(cfg.pg_admin_url)
        import shutil

        shutil.rmtree(photo_dir, ignore_errors=True)
    return result


def postgres_pids(engine: sa.Engine) -> set[int]:
    """This database's backends and PostgreSQL's shared background processes (others' databases on the
    same server are not ours to count)."""
    with engine.connect() as conn:
        return set(conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL"
        ).scalars().all())


def time_export(base_url: str, headers: dict[str, str], timeout: float) -> dict[str, Any]:
    """One streamed CSV export of the default period: time to the first byte and to the last, rows, size."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=timeout) as client:
        started = time.perf_counter()
        first_byte = None
        size = lines = 0
        with client.stream("GET", "/officer/reports/tickets.csv", headers=headers) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
                lines += chunk.count(b"\r\n")
        total = time.perf_counter() - started
    return {"rows": max(lines - 1, 0), "bytes": size, "first_byte_ms": round((first_byte or 0) * 1000, 1),
            "total_s": round(total, 2), "rows_per_s": round(max(lines - 1, 0) / total) if total else None}


# -- report ------------------------------------------------------------------------------------------------


def render(data: dict[str, Any]) -> str:
    """The Markdown report from the JSON one (so it can be re-rendered with `--render` without a re-run)."""
    env, cfg, c = data["environment"], data["config"], data["counts"]
    dp, qp, rp = c.get("default_period", {}), c.get("quarter_period", {}), c.get("realistic_period", {})
    busy = data.get("background_busy_pct")
    lines = [
        "# Officer workspace benchmark",
        "",
        f"Run {env['run_at']} at commit `{env['git_commit']}`{' (uncommitted changes)' if env['git_dirty'] else ''}.",
        "",
        f"- Machine: **{env['nproc']} cores** ({env['cpu_model']}), {env['memory_gb']} GB RAM; Python "
        f"{env['python']}, PostgreSQL {env['postgresql']} ({env['postgresql_settings']}).",
        f"- Data (bench/dataset.py, as `make bench-api`): {c.get('tickets', 0):,} tickets over "
        f"{cfg['residents']:,} residents, {c.get('open', 0):,} open ({c.get('open_emergency', 0):,} open "
        f"emergencies); {c.get('ratings', 0):,} ratings, {c.get('complaints', 0):,} complaints, "
        f"{c.get('callback_requests', 0):,} callback requests. Loaded in {data['load'].get('all_s', '?')} s.",
        f"- The loader packs many tickets into the recent past: the default report period "
        f"({dp.get('first')} to {dp.get('last')}) holds **{dp.get('reported', 0):,} reported and "
        f"{dp.get('completed', 0):,} completed** repairs; the last 90 days {qp.get('reported', 0):,} and "
        f"{qp.get('completed', 0):,}. A council with 200,000 tickets over two years would see about 8,000 in four "
        f"weeks, so those two are harsh cases; the period {rp.get('first')} to {rp.get('last')} holds "
        f"{rp.get('reported', 0):,} reported and {rp.get('completed', 0):,} completed, about a real four weeks.",
        f"- Server: `python -m repairs serve --workers {cfg['workers']}`; pages fetched with the session cookies an "
        "officer and a supervisor got from the login form. Load generator: asyncio + httpx in the benchmark "
        "process, sharing the same cores. **Other people's work kept the machine "
        f"{'?' if busy is None else f'{busy:.0f}'}% busy** just before measuring (the run waits up to "
        f"{cfg['quiet_wait']:g} s for it to fall below 20%), so these latencies include waiting for a core.",
        f"- Target: p95 < {TARGET_P95_MS:g} ms for the queue page and the reports page.",
        "",
        "| scenario | clients | requests | errors | req/s | p50 ms | p95 ms | p99 ms | server CPU ms/req | "
        "PostgreSQL CPU ms/req | machine busy % | p95 < 100 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in data["scenarios"]:
        n = max(m["requests"], 1)
        cpu = m["cpu"]
        lines.append(
            f"| {m['scenario']} | {m['concurrency']} | {m['requests']:,} | {sum(m['errors'].values())} "
            f"| {m['throughput_per_s']} | {m['p50_ms']} | {m['p95_ms']} | {m['p99_ms']} "
            f"| {cpu['server_cpu_s'] * 1000 / n:.0f} | {cpu['postgres_cpu_s'] * 1000 / n:.0f} "
            f"| {cpu['machine_busy_pct']} | {'yes' if m['met'] else '**NO**'} |")
    e = data.get("csv_export")
    if e:
        lines += ["", f"CSV export of the default period: {e['rows']:,} rows, {e['bytes'] / 1e6:.1f} MB, first "
                  f"byte after {e['first_byte_ms']} ms, all of it in {e['total_s']} s ({e['rows_per_s']:,} rows/s), "
                  "streamed from a server-side cursor."]
    lines += ["", *[f"- {note}" for note in data["notes"]]] if data.get("notes") else []
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.workspace_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--residents", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=300, help="requests per scenario")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients for the busier scenarios")
    parser.add_argument("--workers", type=int, default=3, help="server workers (3 on 2 cores, as bench-api)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--scenario-seconds", type=float, default=60.0, help="time cap per scenario")
    parser.add_argument("--quiet-wait", type=float, default=15.0)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "workspace.md")
    parser.add_argument("--render", type=Path, metavar="JSON", help="only re-render the Markdown from a JSON report")
    a = parser.parse_args(argv)
    return Config(tickets=a.tickets, residents=a.residents, requests=a.requests, clients=a.clients,
                  workers=a.workers, seed=a.seed, timeout=a.timeout, scenario_seconds=a.scenario_seconds,
                  quiet_wait=a.quiet_wait, keep_db=a.keep_db, pg_admin_url=a.pg_admin_url, out=a.out,
                  render_from=a.render)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    if cfg.render_from is not None:
        cfg.out.write_text(render(json.loads(cfg.render_from.read_text())))
        return 0
    install_cleanup()
    started = time.perf_counter()
    env = environment(argparse.Namespace(backends=["postgresql"], pg_admin_url=cfg.pg_admin_url))
    try:
        result = run(cfg)
    except KeyboardInterrupt:
        log("interrupted: server stopped")
        return 130
    env["wall_s"] = round(time.perf_counter() - started, 1)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(cfg).items()
              if k not in ("pg_admin_url", "render_from")}
    data = {
        "environment": env, "config": config, "load": result.load, "counts": result.counts,
        "background_busy_pct": result.background_busy_pct,
        "scenarios": [m.as_dict() for m in result.scenarios], "csv_export": result.export, "notes": result.notes,
    }
    markdown = render(data)
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(markdown)
    cfg.out.with_suffix(".json").write_text(json.dumps(data, indent=2, default=str))
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
