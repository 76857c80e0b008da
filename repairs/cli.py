"""`python -m repairs ...`: serve, migrate, seed demo data, import residents, manage accounts."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from repairs.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "database_url", None):
        settings = settings.model_copy(update={"database_url": args.database_url})
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings(args)
    if args.database_url:
        os.environ["REPAIRS_DATABASE_URL"] = args.database_url
    if args.demo:
        os.environ["REPAIRS_DEMO_MODE"] = "true"
    # Migrate once here, not in every worker.
    from repairs.startup import prepare

    prepared = prepare(settings.model_copy(update={"demo_mode": args.demo or settings.demo_mode}))
    if prepared.api_token is not None and settings.api_token is None:
        os.environ["REPAIRS_API_TOKEN"] = prepared.api_token.get_secret_value()
    os.environ["REPAIRS_MIGRATE_ON_START"] = "false"
    os.environ["REPAIRS_DEMO_MODE"] = "false" if not args.demo else "true"
    uvicorn.run(
        "repairs.asgi:create_from_env",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
        log_level="warning",
        access_log=False,  # access logs carry query strings (postcodes, search terms)
        proxy_headers=True,
    )
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from repairs.migrate import downgrade, upgrade

    settings = _settings(args)
    if args.action == "upgrade":
        upgrade(settings.database_url, args.revision or "head")
    else:
        downgrade(settings.database_url, args.revision or "-1")
    print(f"database {args.action}d")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from repairs.context import build_context
    from repairs.database import transaction
    from repairs.demo.seed import seed_demo

    ctx = build_context(_settings(args))
    with transaction(ctx.sessions) as session:
        summary = seed_demo(session, ctx.policy, homes=args.homes, seed=args.seed)
    print(summary)
    return 0


def cmd_import_residents(args: argparse.Namespace) -> int:
    from repairs.context import build_context
    from repairs.database import transaction
    from repairs.residents.importer import ImportFailed, import_residents

    ctx = build_context(_settings(args))
    try:
        with open(args.file, encoding="utf-8-sig", newline="") as fh, transaction(ctx.sessions) as session:
            result = import_residents(session, fh)
    except UnicodeDecodeError:
        print("Nothing imported: the file is not UTF-8. Save it as 'CSV UTF-8' and try again.", file=sys.stderr)
        return 1
    except ImportFailed as exc:
        print(f"Nothing imported: {len(exc.errors)} problem(s) found.", file=sys.stderr)
        for line in exc.errors[:50]:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"Imported: {result.created} new, {result.updated} updated residents.")
    return 0


def cmd_create_officer(args: argparse.Namespace) -> int:
    from repairs.auth.accounts import create_account
    from repairs.auth.models import Role
    from repairs.auth.officers import OfficerExists
    from repairs.context import build_context
    from repairs.database import transaction

    password = os.environ.get("REPAIRS_OFFICER_PASSWORD") or None
    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password (12+ characters): ")
    ctx = build_context(_settings(args))
    try:
        with transaction(ctx.sessions) as session:
            # On the accounts record like one made in the workspace, with no officer as the one who made it.
            officer = create_account(
                session, None, email=args.email, name=args.name, password=password, role=Role(args.role),
                insight=args.insight, data_protection=args.data_protection,
            )
            officer_id = officer.id
    except OfficerExists:
        print(f"An officer with e-mail {args.email} already exists.", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"Not created: {exc}.", file=sys.stderr)
        return 1
    print(f"Created {args.role} #{officer_id} <{args.email}>.")
    return 0


def cmd_create_api_key(args: argparse.Namespace) -> int:
    from repairs.auth.models import ApiKey
    from repairs.auth.secrets import digest, new_token
    from repairs.context import build_context
    from repairs.database import transaction

    ctx = build_context(_settings(args))
    key = new_token(24)
    with transaction(ctx.sessions) as session:
        session.add(ApiKey(name=args.name, key_hash=digest(key)))
    print(key)
    return 0


def cmd_close_completed(args: argparse.Namespace) -> int:
    from repairs.context import build_context
    from repairs.database import transaction
    from repairs.tickets.housekeeping import close_unconfirmed

    ctx = build_context(_settings(args))
    with transaction(ctx.sessions) as session:
        count = close_unconfirmed(session, ctx.policy, days=args.days)
    print(f"Closed {count} completed repairs with no answer after {args.days} days.")
    return 0


def cmd_report_counts(args: argparse.Namespace) -> int:
    from repairs.context import build_context
    from repairs.reports import day_counts

    ctx = build_context(_settings(args))
    with ctx.engine.begin() as connection:
        if args.action == "rebuild":
            keys = day_counts.rebuild(connection)
            print(f"Rebuilt the reports' day counts from the tickets ({keys} rows).")
            return 0
        wrong = day_counts.check(connection)
    if wrong:
        shown = ", ".join(day.isoformat() for day in wrong[:10]) + (" ..." if len(wrong) > 10 else "")
        print(f"The reports' day counts differ from the tickets on {len(wrong)} days: {shown}. "
              "Run `python -m repairs report-counts rebuild`.", file=sys.stderr)
        return 1
    print("The reports' day counts agree with the tickets.")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from repairs.context import build_context
    from repairs.personal_data.retention_run import recent_runs, run_retention
    from repairs.personal_data.schedule import RetentionConfigError

    try:
        ctx = build_context(_settings(args))
    except RetentionConfigError as exc:
        print(f"The retention schedule cannot be used: {exc}", file=sys.stderr)
        return 1
    if args.action == "show":
        for rule in ctx.retention.rules.values():
            print(f"{rule.name:24} {rule.does:10} {rule.keep_days:6} days from {rule.counts_from}")
        if ctx.tracker is None:
            print("REPAIRS_TRACKER_DATABASE_URL is not set: conversations in Rasa's tracker store are left alone.")
        for run in recent_runs(ctx, limit=5):
            treated = sum(run.counts.values())
            print(f"run #{run.id} {run.started_at:%Y-%m-%d %H:%M} UTC ({run.trigger}): {run.status}, {treated} records")
        return 0
    outcome = run_retention(ctx, trigger="command")
    if not outcome.ran:
        print(f"Not run: {outcome.reason}.")
        return 0
    print(f"Retention run #{outcome.run_id} finished.")
    for name, count in outcome.counts.items():
        print(f"  {name:24} {count}")
    if ctx.tracker is None:
        print("Conversations were left alone: REPAIRS_TRACKER_DATABASE_URL is not set.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m repairs", description=__doc__)
    parser.add_argument("--database-url", help="overrides REPAIRS_DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="worker processes (default REPAIRS_WORKERS, 1)")
    serve.add_argument("--demo", action="store_true", help="demo mode: migrate, make a token if unset")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(func=cmd_db)

    seed = sub.add_parser("seed-demo", help="load a demo estate with residents and tickets")
    seed.add_argument("--homes", type=int, default=50)
    seed.add_argument("--seed", type=int, default=7)
    seed.set_defaults(func=cmd_seed_demo)

    imp = sub.add_parser("import-residents", help="import residents and homes from a CSV file")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_import_residents)

    officer = sub.add_parser(
        "create-officer", help="create an officer account (password from stdin, REPAIRS_OFFICER_PASSWORD, or a prompt)"
    )
    officer.add_argument("--email", required=True)
    officer.add_argument("--name", required=True)
    officer.add_argument("--role", choices=["officer", "supervisor"], default="officer")
    officer.add_argument("--insight", action="store_true",
                         help="may read what residents said (the listening page)")
    officer.add_argument("--data-protection", action="store_true",
                         help="may export everything held about a resident and erase them (Residents page)")
    officer.set_defaults(func=cmd_create_officer)

    key = sub.add_parser("create-api-key", help="create an Open311 API key (printed once)")
    key.add_argument("--name", required=True)
    key.set_defaults(func=cmd_create_api_key)

    close = sub.add_parser("close-completed", help="close completed repairs the resident never confirmed")
    close.add_argument("--days", type=int, default=14)
    close.set_defaults(func=cmd_close_completed)

    counts = sub.add_parser("report-counts", help="check the reports' day counts against the tickets, or rebuild them "
                            "(after loading tickets other than through the service)")
    counts.add_argument("action", choices=["check", "rebuild"])
    counts.set_defaults(func=cmd_report_counts)

    retention = sub.add_parser("retention", help="apply data/retention.yml now (remove or anonymise personal data "
                               "past its period), or show the schedule and the last runs")
    retention.add_argument("action", choices=["run", "show"])
    retention.set_defaults(func=cmd_retention)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result
