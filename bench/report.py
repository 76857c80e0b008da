"""The Markdown report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.api_bench import BackendRun


def _ms(value: float | None) -> str:
    if value is None or value != value:  # NaN
        return "-"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _met(value: bool | None, backend: str) -> str:
    if value is None:
        return ""
    word = "yes" if value else "**NO**"
    return word if backend == "postgresql" else f"{word} (ref.)"


def render(env: dict[str, Any], config: dict[str, Any], runs: list[BackendRun], *, targets: dict[str, float]) -> str:
    out = ["# Repairs API benchmark", ""]
    out += [
        f"Run {env['run_at']} at commit `{env['git_commit']}`{' (uncommitted changes)' if env['git_dirty'] else ''}"
        f", {env['wall_s']:.0f} s wall.",
        "",
        f"- Machine: **{env['nproc']} cores** ({env['cpu_model']}), {env['memory_gb']} GB RAM; Python {env['python']}, "
        f"SQLite {env['sqlite']}" + (f", PostgreSQL {env['postgresql']} ({env['postgresql_settings']})"
                                     if env.get("postgresql") else "") + ".",
        f"- Data: {config['tickets']:,} tickets bulk-loaded over {config['residents']:,} residents (tenants, each "
        "with a linked Telegram identity), ~30% open, due dates spread over +-60 days; one officer.",
        f"- Load generator: {env['load_generator']}. **It competes with the server (and PostgreSQL) for the same "
        f"{env['nproc']} cores**, so these are conservative numbers; the CPU table shows who used what.",
        f"- Server: `python -m repairs serve --workers N` (uvicorn); N = {config['pg_workers']} on PostgreSQL, "
        "1 on SQLite.",
        f"- Targets (PostgreSQL, this machine): creation >= {targets['create_per_s']:g} tickets/s with no errors; "
        f"resident list and officer queue p95 < {targets['read_p95_ms']:g} ms. SQLite is measured against the same "
        "numbers for reference only.",
        "",
    ]
    if config.get("quick"):
        out += ["> Smoke run (`--quick`): small data set and few requests; not a result to quote.", ""]

    out += ["## Data load", ""]
    rows = []
    for run in runs:
        load, counts = run.load, run.counts
        rows.append([
            run.backend, f"{load.migrate_seconds:.1f}", f"{load.people_seconds:.1f}", f"{load.tickets:,}",
            f"{load.tickets_seconds:.1f}", f"{load.tickets_per_second:,.0f}",
            f"{load.extras_rows:,} in {load.extras_seconds:.1f}",
            f"{load.analyze_seconds:.1f}", f"{counts.get('open', 0):,}", f"{counts.get('open_emergency', 0):,}",
        ])
    out += _table(["backend", "migrate s", "residents+officer s", "tickets", "ticket load s", "tickets/s",
                   "appointments+photos (rows in s)", "(VACUUM) ANALYZE s", "open", "open emergency"], rows)
    out += ["", "Bulk load: SQLAlchemy Core `insert()` executemany, 5,000 rows a batch, one transaction a batch, "
            "all indexes in place. PostgreSQL then gets `VACUUM (ANALYZE)`, SQLite `ANALYZE`.", ""]

    out += ["## Results over HTTP", ""]
    rows = []
    for run in runs:
        for s in run.scenarios:
            r = s.result.summary()
            errors = sum(r["errors"].values())
            rows.append([
                run.backend, s.workers, s.name, s.result.concurrency,
                f"{s.result.requests:,}" if s.result.requests >= s.result.planned
                else f"{s.result.requests:,} of {s.result.planned:,} (time cap)",
                errors if not errors else f"**{errors}** {r['errors']}",
                f"{r['throughput_per_s']:,.0f}", _ms(r["p50_ms"]), _ms(r["p95_ms"]), _ms(r["p99_ms"]),
                _ms(r["max_ms"]), s.target, _met(s.met, run.backend),
            ])
    out += _table(["backend", "workers", "scenario", "clients", "requests", "errors", "req/s", "p50 ms", "p95 ms",
                   "p99 ms", "max ms", "target", "met"], rows)
    out += [""]
    for run in runs:
        if run.walk:
            w = run.walk
            out.append(f"- {run.backend}: following `next_cursor` through {w['pages']} queue pages (limit=50, one "
                       f"client, {w['walks']} walks): page p50 {_ms(w['page_p50_ms'])} ms, p95 "
                       f"{_ms(w['page_p95_ms'])} ms; a whole walk {_ms(w['walk_p50_ms'])} ms.")
        lo, hi = run.list_resident_tickets
        out.append(f"- {run.backend}: the resident-list residents have {lo}-{hi} tickets each.")
    out += [""]

    out += ["## CPU used during each scenario", "",
            "CPU milliseconds per request, from /proc: the server's process tree, PostgreSQL (the benchmark "
            "database's backends and the server's background processes), and this load generator. *Others* is "
            "what other processes on the machine used (share of all cores) while the "
            "scenario ran. *Ceiling* is the request rate the machine's cores could sustain at that CPU cost: "
            "`cores / (server + PostgreSQL + load generator)`, and without the load generator.", ""]
    rows = []
    nproc = env.get("nproc") or 1
    for run in runs:
        for s in run.scenarios:
            n = max(1, s.result.requests)
            c = s.cpu
            ours = c.server_s + c.postgres_s + c.client_s
            others = max(0.0, c.machine_busy_pct - 100 * ours / max(1e-9, c.wall_s * nproc))
            per = (c.server_s + c.postgres_s + c.client_s) / n
            per_server = (c.server_s + c.postgres_s) / n
            rows.append([run.backend, s.name, s.result.concurrency, _ms(c.server_s * 1000 / n),
                         _ms(c.postgres_s * 1000 / n) if run.backend == "postgresql" else "-",
                         _ms(c.client_s * 1000 / n), f"{c.machine_busy_pct:.0f}%", f"{others:.0f}%",
                         f"{nproc / per:,.0f}" if per else "-", f"{nproc / per_server:,.0f}" if per_server else "-"])
    out += _table(["backend", "scenario", "clients", "server CPU ms/req", "PostgreSQL CPU ms/req",
                   "load generator CPU ms/req", "machine busy", "others", "ceiling req/s",
                   "ceiling without load generator"], rows)
    out += [""]
    for run in runs:
        if run.background_busy_pct is not None:
            out.append(f"- {run.backend}: the machine was {run.background_busy_pct:.0f}% busy with other work just "
                       "before the HTTP scenarios started.")
    out += [""]

    profiles = [(run.backend, p) for run in runs for p in run.cpu_profiles]
    if profiles:
        out += ["## Where the server's CPU goes", "",
                "The whole app (middleware, dependencies, route, response validation, JSON) driven in-process "
                "through httpx's ASGI transport, one request at a time: its latency without HTTP or uvicorn, how "
                "many times FastAPI hands work to its thread pool per request (sync dependencies, the sync route, "
                "response validation) and the latency with those hand-offs made inline, the SQL statements sent "
                "per request (BEGIN, COMMIT and pool pings not counted) and the transactions, and cProfile CPU "
                "self time by package (hand-offs made inline so the profiler sees them; cProfile inflates "
                "Python-heavy code, so read the shares, not the milliseconds).", ""]
        rows = []
        for backend, p in profiles:
            shares = ", ".join(f"{k} {v:.0f}%" for k, v in list(p["self_time_share"].items())[:7])
            top = "; ".join(f"{f['function'].split(':')[-1]} {_ms(f['ms_per_request'])}"
                            for f in p["top_repairs_cumulative_ms"][:4])
            sql = ", ".join(f"{k} x{v:g}" for k, v in p["sql_kinds_per_request"].items())
            rows.append([backend, p["name"], f"{_ms(p['inprocess_p50_ms'])} / {_ms(p['inprocess_p95_ms'])}",
                         f"{p['threadpool_hops_per_request']:g} ({_ms(p['inline_hops_p50_ms'])} ms p50 inline)",
                         f"{p['sql_per_request']:g} in {p['transactions_per_request']:g} transactions: {sql}",
                         shares, top])
        out += _table(["backend", "endpoint", "in-process p50 / p95 ms", "thread-pool hops/req",
                       "SQL statements/req", "CPU self time by package",
                       "heaviest repairs functions (cumulative CPU ms/req, profiled)"], rows)
        out += [""]

    out += ["## Server side, without HTTP", "",
            "The route functions called in-process on the same database (one caller, server idle): handler time, "
            "and every SELECT each sends, with the indexes its plan uses (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN "
            "QUERY PLAN on SQLite) and its median execution time from Python.", ""]
    rows = []
    for run in runs:
        for p in run.profiles:
            for i, st in enumerate(p.statements):
                rows.append([
                    run.backend if i == 0 else "", p.name if i == 0 else "",
                    f"{_ms(p.handler_p50_ms)} / {_ms(p.handler_p95_ms)}" if i == 0 else "",
                    p.selects if i == 0 else "", st.label, ", ".join(st.indexes) or "(none)",
                    _ms(st.run_ms), _ms(st.exec_ms), ", ".join(st.flags),
                ])
    out += _table(["backend", "handler", "handler p50 / p95 ms", "SELECTs", "statement", "indexes used",
                   "SQL ms", "EXPLAIN ANALYZE ms", "notes"], rows)
    out += [""]

    experiments = [(run.backend, e) for run in runs for e in run.experiments]
    if experiments:
        out += ["## Experiments", "",
                "Candidate fixes, tried on the benchmark database. Query changes are measured on the captured SQL "
                "with the change applied (EXPLAIN ANALYZE / EXPLAIN QUERY PLAN, and median time from Python); "
                "the index is also measured over HTTP by re-running the affected scenarios against the running "
                "server (up to 500 requests per scenario), then dropped.", ""]
        rows = []
        for backend, e in experiments:
            for m in e.get("measurements", []):
                http = isinstance(m["clients"], int)
                rows.append([backend, e["name"], m["scenario"], m["clients"],
                             f"{_ms(m.get('before_p50_ms'))} / {_ms(m['before_p95_ms'])}" if http else "-",
                             f"{_ms(m.get('after_p50_ms'))} / {_ms(m['after_p95_ms'])}" if http else "-",
                             "-" if http else _ms(m.get("before_sql_ms")), "-" if http else _ms(m.get("after_sql_ms")),
                             m.get("after_indexes", "")])
        out += _table(["backend", "change", "scenario", "clients", "HTTP p50 / p95 before", "HTTP p50 / p95 after",
                       "SQL ms before", "SQL ms after", "index used after"], rows)
        out += [""]
        described: dict[str, list[str]] = {}
        for backend, e in experiments:
            ddl = f"`{e['ddl']}` ({backend})"
            if not any(d.startswith(f"`{e['ddl']}`") for d in described.get(e["name"], [])):
                described.setdefault(e["name"], []).append(ddl)
        for _backend, e in experiments:
            if e["name"] in described:
                out.append(f"- **{e['name']}**: {'; '.join(described.pop(e['name']))}."
                           + (f" {e['why']}" if e.get("why") else ""))
        out += [""]

    findings = _findings(runs, targets, env.get("nproc") or 1)
    if findings:
        out += ["## Findings", ""] + [f"- {f}" for f in findings] + [""]
    notes = [(run.backend, n) for run in runs for n in run.notes]
    if notes:
        out += ["## Notes", ""] + [f"- {b}: {n}" for b, n in notes] + [""]

    out += ["## Query plans", ""]
    for run in runs:
        for p in run.profiles:
            for st in p.statements:
                out += [f"<details><summary>{run.backend}: {p.name}: {st.label}</summary>", "", "```sql",
                        " ".join(st.sql.split()), "```", "", "```", st.plan, "```", ""]
                if st.generic_plan and "generic plan differs" in st.flags:
                    out += ["Generic plan (after psycopg prepares the statement):", "", "```", st.generic_plan,
                            "```", ""]
                out += ["</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def _findings(runs: list[BackendRun], targets: dict[str, float], nproc: int = 2) -> list[str]:
    found: list[str] = []
    why: list[str] = []
    for run in runs:
        missed = [s for s in run.scenarios if s.met is False]
        for sc in run.scenarios:
            c, n = sc.cpu, max(1, sc.result.requests)
            per_server = (c.server_s + c.postgres_s) / n
            per_all = per_server + c.client_s / n
            if not per_server:
                continue
            if sc.name == "ticket creation" and nproc / per_server < targets["create_per_s"]:
                why.append(
                    f"{run.backend}: ticket creation costs {1000 * per_server:.1f} ms of CPU (server + database) per "
                    f"ticket, so {nproc} cores top out near {nproc / per_server:,.0f}/s even with an idle machine and "
                    f"the load generator elsewhere: below the {targets['create_per_s']:g}/s target whatever the "
                    "database does. Cut the per-request CPU or add cores.")
            if run.backend == "postgresql" and sc.result.concurrency > 1 and sc.target.startswith("p95") and not sc.met:
                floor_ms = 1000 * sc.result.concurrency * per_all / nproc
                if floor_ms > targets["read_p95_ms"]:
                    why.append(
                        f"{run.backend}: {sc.name} with {sc.result.concurrency} clients: {1000 * per_all:.1f} ms of "
                        f"CPU per request (server, database, load generator) on {nproc} cores means a mean latency "
                        f"of at least ~{floor_ms:.0f} ms with {sc.result.concurrency} requests in flight, so p95 < "
                        f"{targets['read_p95_ms']:g} ms cannot be met at that concurrency on this machine.")
        if run.backend == "postgresql":
            if missed:
                for s in missed:
                    r = s.result.summary()
                    found.append(f"postgresql: target missed: {s.name} ({s.result.concurrency} clients): "
                                 f"{r['throughput_per_s']:,.0f}/s, p95 {_ms(r['p95_ms'])} ms ({s.target}).")
            elif run.scenarios:
                found.append("postgresql: every target met.")
        for p in run.profiles:
            for st in p.statements:
                bad = [f for f in st.flags if f in ("seq scan", "full scan", "jit", "generic plan differs")
                       or (f == "temp b-tree sort" and st.label.startswith("tickets"))
                       or (f.endswith("rows removed by filter") and int(f.split()[0]) >= 1000)]
                if bad:
                    why.append(f"{run.backend}: {p.name}, {st.label}: {', '.join(bad)} (indexes used: "
                                 f"{', '.join(st.indexes) or 'none'}; {_ms(st.run_ms)} ms).")
    return found + why
