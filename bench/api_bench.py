"""Repairs service benchmark over real HTTP, on SQLite and PostgreSQL (`make bench-api`).

For each backend: a fresh database (migrated with Alembic), residents with linked Telegram identities
and an officer, a bulk load of tickets, then the real service (`python -m repairs serve`) in a
subprocess, measured by an asyncio + httpx load generator in this process. Afterwards the read
endpoints are profiled in-process (handler time, the SQL they send, EXPLAIN) and, on PostgreSQL,
candidate indexes are tried. A report, not a test: it prints a Markdown table and writes
bench/results/api.md and api.json.

    python -m bench.api_bench                      # both backends, 200,000 tickets
    python -m bench.api_bench --quick              # 20,000-ticket smoke run (writes api-quick.md)
    python -m bench.api_bench --backend postgresql --tickets 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from bench import dataset, loadgen
from bench.explain import HandlerProfile, call_route, explain, profile_handler
from bench.report import render
from bench.server import CpuUse, Server, cpu_between, install_cleanup, snapshot, wait_for_quiet
from repairs.settings import PROJECT_ROOT

DEFAULT_PG_ADMIN = os.environ.get(
    "BENCH_POSTGRES_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)
TARGET_CREATE_PER_S = 200.0
TARGET_READ_P95_MS = 20.0

# What residents report through the bot: (category, description, location type, place).
REPORTS = [
    ("plumbing", "The kitchen tap drips all the time and there's water under the sink", "in_home", "kitchen"),
    ("heating", "Radiator in the bedroom stays cold even with the heating on", "in_home", "bedroom"),
    ("damp_mould", "Black mould spreading on the bathroom ceiling and round the window", "in_home", "bathroom"),
    ("electrical", "Light in the hallway keeps flickering and the switch is loose", "in_home", "hallway"),
    ("doors_windows", "Bedroom window won't close properly, it's really draughty", "in_home", "bedroom"),
    ("fittings", "Kitchen cupboard door has come off its hinges", "in_home", "kitchen"),
    ("communal", "Lights on the stairwell between floors 2 and 3 are out", "communal", "stairwell"),
    ("pests", "Mice in the kitchen, droppings behind the cooker", "in_home", "kitchen"),
    ("walls_floors", "Big crack in the living room wall getting wider", "in_home", "living room"),
    ("plumbing", "Water pouring through the ceiling from the flat above", "in_home", "bathroom"),
]


@dataclass
class Config:
    backends: list[str]
    tickets: int
    residents: int
    reads: int
    creates: int
    read_clients: int
    create_clients: int
    pg_workers: int
    deep_pages: int
    timeout: float
    seed: int
    experiments: bool
    keep_db: bool
    pg_admin_url: str
    out: Path
    quick: bool
    quiet_wait: float
    scenario_seconds: float


@dataclass
class Scenario:
    backend: str
    name: str
    endpoint: str
    result: loadgen.Result
    cpu: CpuUse
    target: str = ""
    met: bool | None = None
    workers: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "workers": self.workers, "scenario": self.name,
                "endpoint": self.endpoint, **self.result.summary(), "cpu": self.cpu.as_dict(),
                "target": self.target, "met": self.met}


@dataclass
class BackendRun:
    backend: str
    workers: int
    load: dataset.LoadStats
    counts: dict[str, int] = field(default_factory=dict)
    scenarios: list[Scenario] = field(default_factory=list)
    walk: dict[str, Any] = field(default_factory=dict)
    profiles: list[HandlerProfile] = field(default_factory=list)
    experiments: list[dict[str, Any]] = field(default_factory=list)
    cpu_profiles: list[dict[str, Any]] = field(default_factory=list)
    background_busy_pct: float | None = None
    notes: list[str] = field(default_factory=list)
    list_resident_tickets: tuple[int, int] = (0, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend, "workers": self.workers, "counts": self.counts,
            "load": {**vars(self.load), "tickets_per_second": round(self.load.tickets_per_second, 1)},
            "scenarios": [s.as_dict() for s in self.scenarios], "deep_page_walk": self.walk,
            "profiles": [p.as_dict() for p in self.profiles], "experiments": self.experiments,
            "cpu_profiles": self.cpu_profiles, "background_busy_pct": self.background_busy_pct,
            "notes": self.notes, "list_resident_ticket_range": self.list_resident_tickets,
        }


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- one backend ----------------------------------------------------------------------------------


class Bench:
    def __init__(self, cfg: Config, backend: str) -> None:
        self.cfg = cfg
        self.backend = backend
        self.rng = random.Random(cfg.seed)
        self.token = "bench-service-token-" + uuid.uuid4().hex
        self.sqlite_path = PROJECT_ROOT / "var" / "bench" / "repairs-bench.db"
        self.workers = cfg.pg_workers if backend == "postgresql" else 1
        self.run = BackendRun(backend=backend, workers=self.workers, load=dataset.LoadStats())
        self.server: Server | None = None
        self.ctx: Any = None
        self.engine: Any = None
        self.photo_dir: Path | None = None
        self.officer_token = ""
        self.residents: list[dataset.ResidentRow] = []
        self.list_residents: list[dataset.ResidentRow] = []

    # -- set-up ------------------------------------------------------------------------------------

    def setup(self) -> None:
        cfg, load = self.cfg, self.run.load
        log(f"{self.backend}: fresh database")
        self.url = dataset.fresh_database(self.backend, admin_url=cfg.pg_admin_url, sqlite_path=self.sqlite_path)
        load.migrate_seconds = dataset.migrate(self.url)
        self.engine = dataset.engine_for(self.url)
        self.photo_dir = Path(tempfile.mkdtemp(prefix="repairs-bench-photos-"))
        from repairs.context import build_context
        from repairs.settings import Settings

        settings = Settings().model_copy(update={
            "database_url": self.url, "api_token": SecretStr(self.token), "photo_dir": self.photo_dir,
        })
        self.ctx = build_context(settings)
        started = time.perf_counter()
        self.residents = dataset.load_people(self.engine, residents=cfg.residents, rng=self.rng)
        self.officer_id = dataset.make_officer(self.engine)
        load.people_seconds = time.perf_counter() - started
        log(f"{self.backend}: {len(self.residents)} residents in {load.people_seconds:.1f}s; loading "
            f"{cfg.tickets:,} tickets")
        trades = {code: c.trade for code, c in self.ctx.policy.categories.items()}

        def progress(done: int, total: int) -> None:
            if done % 50_000 == 0 or done == total:
                log(f"{self.backend}:   {done:,}/{total:,} tickets")

        load.tickets = cfg.tickets
        load.tickets_seconds, load.tickets_insert_seconds, load.extras_rows, load.extras_seconds = dataset.load_tickets(
            self.engine, count=cfg.tickets, residents=self.residents, trades=trades, officer_id=self.officer_id,
            rng=self.rng, progress=progress,
        )
        load.analyze_seconds = dataset.analyze(self.engine, self.backend, self.url)
        self.run.counts = dataset.ticket_counts(self.engine)
        log(f"{self.backend}: tickets in {load.tickets_seconds:.1f}s ({load.tickets_per_second:,.0f}/s), "
            f"{'VACUUM ANALYZE' if self.backend == 'postgresql' else 'ANALYZE'} {load.analyze_seconds:.1f}s; "
            f"{self.run.counts}")
        per_resident = max(1, round(cfg.tickets * 0.98 / max(1, cfg.residents)))
        ids = set(dataset.residents_with_about(self.engine, per_resident, limit=100))
        self.list_residents = [r for r in self.residents if r.id in ids]
        with self.engine.connect() as conn:
            from repairs.tickets.models import Ticket

            lo, hi = conn.execute(
                sa.select(sa.func.min(sa.text("n")), sa.func.max(sa.text("n"))).select_from(
                    sa.select(sa.func.count().label("n")).where(Ticket.resident_id.in_(ids))
                    .group_by(Ticket.resident_id).subquery())
            ).one()
        self.run.list_resident_tickets = (int(lo), int(hi))

    def start_server(self) -> None:
        log(f"{self.backend}: starting `python -m repairs serve --workers {self.workers}`")
        self.server = Server(database_url=self.url, workers=self.workers, api_token=self.token,
                             photo_dir=self.photo_dir,
                             log_path=PROJECT_ROOT / "var" / "bench" / f"server-{self.backend}.log")
        self.server.start()
        with httpx.Client(base_url=self.server.base_url, trust_env=False, timeout=30) as client:
            response = client.post("/api/v1/auth/token", json={"email": dataset.OFFICER_EMAIL,
                                                               "password": dataset.OFFICER_PASSWORD})
            response.raise_for_status()
            self.officer_token = response.json()["access_token"]

    # -- requests ----------------------------------------------------------------------------------

    def resident_headers(self, resident: dataset.ResidentRow) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Resident-Channel": resident.chat}

    @property
    def officer_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.officer_token}"}

    def list_call(self, i: int) -> loadgen.Call:
        resident = self.list_residents[i % len(self.list_residents)]
        return loadgen.Call("GET", "/api/v1/tickets", self.resident_headers(resident), params={"limit": 20})

    def queue_call(self, params: dict[str, Any]) -> Callable[[int], loadgen.Call]:
        headers = self.officer_headers
        return lambda _i: loadgen.Call("GET", "/api/v1/officer/tickets", headers, params=params)

    def create_call(self, rng: random.Random) -> Callable[[int], loadgen.Call]:
        def make(_i: int) -> loadgen.Call:
            resident = rng.choice(self.residents)
            category, text, location_type, place = rng.choice(REPORTS)
            headers = self.resident_headers(resident) | {"Idempotency-Key": str(uuid.uuid4())}
            body = {"category": category, "description": text, "location_type": location_type,
                    "location": place, "channel": "telegram",
                    "availability": "Weekday mornings" if rng.random() < 0.5 else None}
            return loadgen.Call("POST", "/api/v1/tickets", headers, json=body)

        return make

    def measure(self, name: str, endpoint: str, make_call: Callable[[int], loadgen.Call], *, requests: int,
                clients: int, expected: int = 200, target: str = "", max_seconds: float | None = None) -> Scenario:
        assert self.server is not None
        before = snapshot(self.server, self.postgres_pids())
        result = loadgen.run(self.server.base_url, name, make_call, requests=requests, concurrency=clients,
                             timeout=self.cfg.timeout, expected_status=expected,
                             max_seconds=max_seconds or self.cfg.scenario_seconds)
        cpu = cpu_between(before, snapshot(self.server, self.postgres_pids()))
        scenario = Scenario(self.backend, name, endpoint, result, cpu, target=target, workers=self.workers)
        if target == "p95":
            scenario.target = f"p95 < {TARGET_READ_P95_MS:g} ms"
            scenario.met = result.pct(95) < TARGET_READ_P95_MS and not result.errors
        elif target == "rate":
            scenario.target = f">= {TARGET_CREATE_PER_S:g}/s, 0 errors"
            scenario.met = result.throughput >= TARGET_CREATE_PER_S and not result.errors
        s = result.summary()
        log(f"{self.backend}: {name:<38} c={clients:<2} n={result.requests:<5} {s['throughput_per_s']:>7}/s "
            f"p50 {s['p50_ms']:>7} p95 {s['p95_ms']:>7} p99 {s['p99_ms']:>7} ms errors {dict(result.errors)}"
            + (f" {result.error_samples[:1]}" if result.error_samples else ""))
        return scenario

    def postgres_pids(self) -> set[int] | None:
        """This database's backends and PostgreSQL's shared background processes: other people's
        databases on the same server are not ours to count."""
        if self.backend != "postgresql":
            return None
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL"
            ).scalars().all()
        return set(rows)

    def walk_pages(self, pages: int, repeats: int) -> tuple[str | None, dict[str, Any]]:
        """Follow next_cursor through the queue; returns the cursor of page `pages + 1` and timings.
        Walks `repeats` times, or fewer when the scenario time cap runs out (always at least once)."""
        assert self.server is not None
        latencies: list[float] = []
        totals: list[float] = []
        cursor: str | None = None
        deadline = time.perf_counter() + self.cfg.scenario_seconds
        with httpx.Client(base_url=self.server.base_url, trust_env=False, timeout=self.cfg.timeout) as client:
            for _ in range(repeats):
                if totals and time.perf_counter() > deadline:
                    break
                cursor = None
                started_walk = time.perf_counter()
                for _page in range(pages):
                    params: dict[str, Any] = {"limit": 50}
                    if cursor:
                        params["cursor"] = cursor
                    started = time.perf_counter()
                    response = client.get("/api/v1/officer/tickets", params=params, headers=self.officer_headers)
                    latencies.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    cursor = response.json()["next_cursor"]
                    if cursor is None:
                        break
                totals.append((time.perf_counter() - started_walk) * 1000)
        return cursor, {
            "pages": pages, "walks": len(totals), "page_p50_ms": round(loadgen.percentile(latencies, 50), 2),
            "page_p95_ms": round(loadgen.percentile(latencies, 95), 2),
            "walk_p50_ms": round(loadgen.percentile(totals, 50), 1),
        }

    def read_scenarios(self, deep_cursor: str | None, *, requests: int, tag: str = "",
                       only_queue: bool = False) -> list[Scenario]:
        """The read scenarios at 1 and N clients; `only_queue`: the unfiltered queue and the deep page."""
        cfg = self.cfg
        out = []
        queue_variants: list[tuple[str, dict[str, Any]]] = [("officer queue", {"limit": 50})]
        if not only_queue:
            queue_variants.append(("officer queue, priority=emergency", {"limit": 50, "priority": "emergency"}))
        if deep_cursor:
            queue_variants.append((f"officer queue, page {cfg.deep_pages + 1} (keyset)",
                                   {"limit": 50, "cursor": deep_cursor}))
        if not only_queue:
            for clients in (1, cfg.read_clients):
                out.append(self.measure(f"resident list (limit=20){tag}", "GET /api/v1/tickets", self.list_call,
                                        requests=requests, clients=clients, target="p95"))
        for name, params in queue_variants:
            for clients in (1, cfg.read_clients):
                out.append(self.measure(name + tag, "GET /api/v1/officer/tickets", self.queue_call(params),
                                        requests=requests, clients=clients, target="p95"))
        return out

    def http(self) -> str | None:
        cfg = self.cfg
        self.run.background_busy_pct = wait_for_quiet(cfg.quiet_wait, self.backend, log)
        # Warm-up (not reported): first requests pay for imports, connection pools and cold caches.
        for make in (self.list_call, self.queue_call({"limit": 50})):
            assert self.server is not None
            loadgen.run(self.server.base_url, "warm-up", make, requests=100, concurrency=4, timeout=cfg.timeout)
        deep_cursor, self.run.walk = self.walk_pages(cfg.deep_pages, repeats=5)
        log(f"{self.backend}: queue walk of {cfg.deep_pages} pages: {self.run.walk}")
        self.run.scenarios.extend(self.read_scenarios(deep_cursor, requests=cfg.reads))
        self.run.scenarios.append(self.measure(
            "ticket creation", "POST /api/v1/tickets", self.create_call(random.Random(cfg.seed + 1)),
            requests=cfg.creates, clients=cfg.create_clients, expected=201, target="rate",
            max_seconds=max(60.0, 2 * cfg.scenario_seconds)))
        return deep_cursor

    # -- in-process profile ------------------------------------------------------------------------

    def profiles(self, deep_cursor: str | None, *, calls: int) -> list[HandlerProfile]:
        from repairs.auth.dependencies import Principal, ResidentActor, get_resident
        from repairs.auth.models import Role
        from repairs.auth.officers import officer_for_token
        from repairs.database import transaction
        from repairs.tickets import officer_routes, routes
        from repairs.tickets.models import Priority

        resident = self.list_residents[0]
        actor = ResidentActor(resident_id=resident.id, channel="telegram", external_id=resident.external_id)
        officer = Principal(kind="officer", officer_id=self.officer_id, role=Role.OFFICER)
        service = Principal(kind="service")

        def officer_auth() -> None:
            with transaction(self.ctx.sessions) as session:
                officer_for_token(session, self.officer_token)

        handlers: list[tuple[str, Callable[[], Any]]] = [
            ("resident list (limit=20)",
             lambda: call_route(routes.list_tickets, actor=actor, ctx=self.ctx, status="all", limit=20, cursor=None)),
            ("officer queue",
             lambda: call_route(officer_routes.queue, _officer=officer, ctx=self.ctx, limit=50)),
            ("officer queue, priority=emergency",
             lambda: call_route(officer_routes.queue, _officer=officer, ctx=self.ctx, limit=50,
                                priority=Priority.EMERGENCY)),
        ]
        if deep_cursor:
            handlers.append((f"officer queue, page {self.cfg.deep_pages + 1} (keyset)",
                             lambda: call_route(officer_routes.queue, _officer=officer, ctx=self.ctx, limit=50,
                                                cursor=deep_cursor)))
        handlers += [
            ("auth: resident identity",
             lambda: call_route(get_resident, principal=service, ctx=self.ctx, x_resident_channel=resident.chat)),
            ("auth: officer token", officer_auth),
        ]
        out = []
        for name, call in handlers:
            profile = profile_handler(self.ctx, name, call, calls=calls, max_seconds=10.0)
            for statement in profile.statements:
                explain(self.engine, self.backend, statement, max_seconds=5.0)
            out.append(profile)
            log(f"{self.backend}: in-process {name:<38} p50 {profile.handler_p50_ms:6.2f} ms, "
                f"{profile.selects} SELECTs; "
                + "; ".join(f"{s.label}: {','.join(s.indexes) or '-'} {s.run_ms:.2f}ms {' '.join(s.flags)}"
                            for s in profile.statements))
        return out

    def app_profiles(self, *, requests: int) -> None:
        """The whole app in-process under cProfile: where the server's CPU goes, per endpoint."""
        from bench.cpu_profile import profile_endpoint
        from repairs.app import create_app

        app = create_app(self.ctx)
        endpoints: list[tuple[str, Callable[[int], loadgen.Call], int]] = [
            ("resident list (limit=20)", self.list_call, 200),
            ("officer queue, priority=emergency", self.queue_call({"limit": 50, "priority": "emergency"}), 200),
            ("ticket creation", self.create_call(random.Random(self.cfg.seed + 2)), 201),
        ]
        for name, make_call, expected in endpoints:
            result = profile_endpoint(app, self.ctx.engine, name, make_call, requests=requests, expected=expected)
            self.run.cpu_profiles.append(result)
            top = ", ".join(f"{k} {v}%" for k, v in list(result["self_time_share"].items())[:6])
            log(f"{self.backend}: app in-process {name}: p50 {result['inprocess_p50_ms']} ms, "
                f"{result['threadpool_hops_per_request']} thread-pool hops, {result['sql_per_request']} SQL "
                f"statements per request {result['sql_kinds_per_request']}; CPU self time: {top}")

    # -- experiments --------------------------------------------------------------------------

    def experiments(self, deep_cursor: str | None) -> None:
        from bench.experiments import run_experiments

        self.run.experiments = run_experiments(self, deep_cursor)

    def teardown(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.ctx is not None:
            self.ctx.engine.dispose()
        if self.engine is not None:
            self.engine.dispose()
        if not self.cfg.keep_db:
            dataset.drop_database(self.backend, admin_url=self.cfg.pg_admin_url, sqlite_path=self.sqlite_path)
        if self.photo_dir is not None:
            import shutil

            shutil.rmtree(self.photo_dir, ignore_errors=True)


def run_backend(cfg: Config, backend: str) -> BackendRun:
    bench = Bench(cfg, backend)
    started = time.perf_counter()
    try:
        bench.setup()
        bench.start_server()
        deep_cursor = bench.http()
        bench.run.profiles = bench.profiles(deep_cursor, calls=100 if cfg.quick else 200)
        bench.app_profiles(requests=100)
        if cfg.experiments:
            bench.experiments(deep_cursor)
        if backend == "sqlite":
            bench.run.notes.append(
                "SQLite runs one worker process: SQLite serialises writers, and the service's engine opens every "
                "transaction (reads included) with BEGIN IMMEDIATE, so a second process would only queue on the "
                "same database lock."
            )
    except Exception as exc:  # report what was measured, and why the rest was not
        import traceback

        log(f"{backend}: FAILED: {exc!r}\n{traceback.format_exc()}")
        if bench.server is not None:
            log(f"{backend}: server log tail:\n{bench.server.log_tail()}")
        bench.run.notes.append(f"**The run failed** ({type(exc).__name__}: {str(exc)[:300]}); results above are "
                               "partial.")
    finally:
        bench.teardown()
    log(f"{backend}: done in {time.perf_counter() - started:.0f}s")
    return bench.run


# -- environment and main ---------------------------------------------------------------------


def environment(cfg: Config) -> dict[str, Any]:
    def cmd(*args: str) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True, check=False, timeout=10,
                                  cwd=PROJECT_ROOT).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    pg_version = pg_settings = ""
    if "postgresql" in cfg.backends:
        try:
            engine = sa.create_engine(cfg.pg_admin_url)
            with engine.connect() as conn:
                pg_version = conn.scalar(sa.text("SHOW server_version")) or ""
                pg_settings = ", ".join(
                    f"{n}={conn.scalar(sa.text(f'SHOW {n}'))}"
                    for n in ("shared_buffers", "synchronous_commit", "work_mem", "jit")
                )
            engine.dispose()
        except sa.exc.SQLAlchemyError as exc:
            pg_version = f"unreachable ({exc.__class__.__name__})"
    return {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": cmd("git", "rev-parse", "--short", "HEAD"),
        "git_dirty": bool(cmd("git", "status", "--porcelain")),
        "nproc": os.cpu_count(), "cpu_model": cpu_model, "memory_gb": round(mem_gb, 1),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version, "postgresql_settings": pg_settings,
        "load_generator": "asyncio + httpx (uvloop) in the benchmark process, on the same machine",
    }


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.api_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--tickets", type=int, help="tickets to bulk-load (default 200,000; --quick 20,000)")
    parser.add_argument("--residents", type=int, help="residents (default 2,000; --quick 200): ~100 tickets each")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 tickets, fewer requests")
    parser.add_argument("--requests", type=int, help="requests per read scenario (default 1,000; --quick 300)")
    parser.add_argument("--creates", type=int, help="ticket creations (default 2,000; --quick 500)")
    parser.add_argument("--read-clients", type=int, default=8, help="concurrent clients for reads (also 1)")
    parser.add_argument("--create-clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3,
                        help="server workers on PostgreSQL (SQLite: 1); 3 on 2 cores, so a worker waiting "
                        "on the database leaves its core to another")
    parser.add_argument("--deep-pages", type=int, default=20, help="queue pages to follow for the deep page")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--no-experiments", dest="experiments", action="store_false",
                        help="skip trying candidate fixes (query rewrites, indexes)")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark databases afterwards")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN,
                        help="an existing database to create/drop repairs_bench from")
    parser.add_argument("--out", type=Path, help="Markdown report path (JSON alongside)")
    parser.add_argument("--scenario-seconds", type=float,
                        help="time cap per scenario: no new request starts after it (default 20; --quick 10); "
                             "ticket creation gets twice that, at least 60 s")
    parser.add_argument("--quiet-wait", type=float, default=15.0,
                        help="seconds to wait, per backend, for other processes to leave the CPUs idle")
    args = parser.parse_args(argv)
    quick = args.quick
    return Config(
        backends=["sqlite", "postgresql"] if args.backend == "both" else [args.backend],
        tickets=args.tickets or (20_000 if quick else 200_000),
        residents=args.residents or (200 if quick else 2_000),
        reads=args.requests or (300 if quick else 1_000),
        creates=args.creates or (500 if quick else 2_000),
        read_clients=args.read_clients, create_clients=args.create_clients, pg_workers=args.workers,
        deep_pages=args.deep_pages, timeout=args.timeout, seed=args.seed, experiments=args.experiments,
        keep_db=args.keep_db, pg_admin_url=args.pg_admin_url,
        out=args.out or PROJECT_ROOT / "bench" / "results" / ("api-quick.md" if quick else "api.md"),
        quick=quick, quiet_wait=args.quiet_wait, scenario_seconds=args.scenario_seconds or (10.0 if quick else 20.0),
    )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    install_cleanup()
    started = time.perf_counter()
    env = environment(cfg)
    log(f"machine: {env['nproc']} cores ({env['cpu_model']}), {env['memory_gb']} GB; backends {cfg.backends}; "
        f"{cfg.tickets:,} tickets")
    runs = []
    try:
        for backend in cfg.backends:
            runs.append(run_backend(cfg, backend))
    except KeyboardInterrupt:
        log("interrupted: servers stopped, benchmark databases dropped")
        return 130
    env["wall_s"] = round(time.perf_counter() - started, 1)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(cfg).items() if k != "pg_admin_url"}
    markdown = render(env, config, runs, targets={"create_per_s": TARGET_CREATE_PER_S,
                                                  "read_p95_ms": TARGET_READ_P95_MS})
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(markdown)
    json_path = cfg.out.with_suffix(".json")
    json_path.write_text(json.dumps({"environment": env, "config": config, "runs": [r.as_dict() for r in runs]},
                                    indent=2, default=str))
    print(markdown)
    log(f"wrote {cfg.out.relative_to(PROJECT_ROOT)} and {json_path.relative_to(PROJECT_ROOT)} "
        f"in {env['wall_s']:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
