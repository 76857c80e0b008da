"""`make demo`: the whole product on one machine with embedded defaults (SQLite, demo data)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from repairs.auth.secrets import read_or_create_secret
from repairs.settings import PROJECT_ROOT, Settings

VAR = Path(os.environ.get("DEMO_VAR_DIR") or PROJECT_ROOT / "var")


def _secret_file(name: str) -> str:
    return read_or_create_secret(VAR / name, 24)


def prepare_database(settings: Settings) -> None:
    from sqlalchemy import func, select

    from repairs.auth.models import Officer, Role
    from repairs.auth.officers import create_officer
    from repairs.context import build_context
    from repairs.database import transaction
    from repairs.demo.seed import seed_demo
    from repairs.migrate import upgrade
    from repairs.residents.models import Property

    upgrade(settings.database_url)
    ctx = build_context(settings)
    with transaction(ctx.sessions) as session:
        if not session.scalar(select(func.count()).select_from(Property)):
            print(seed_demo(session, ctx.policy))
        if not session.scalar(select(func.count()).select_from(Officer)):
            create_officer(
                session,
                email="supervisor@demo.invalid",
                name="Demo Supervisor",
                password=_secret_file("demo-officer-password"),
                role=Role.SUPERVISOR,
            )
    ctx.engine.dispose()


def main() -> int:
    from repairs.demo.supervisor import Part, Supervisor

    VAR.mkdir(parents=True, exist_ok=True)
    (VAR / "log").mkdir(exist_ok=True)
    env = {
        "REPAIRS_DATABASE_URL": os.environ.get("REPAIRS_DATABASE_URL", f"sqlite:///{VAR / 'repairs.db'}"),
        "REPAIRS_API_TOKEN": os.environ.get("REPAIRS_API_TOKEN") or _secret_file("repairs-api-token"),
        "REPAIRS_SECRET_KEY": os.environ.get("REPAIRS_SECRET_KEY") or _secret_file("secret-key"),
        "REPAIRS_PHOTO_DIR": str(VAR / "photos"),
    }
    os.environ.update(env)
    settings = Settings()
    print("Preparing the demo database...", flush=True)
    prepare_database(settings)

    python = sys.executable
    base = f"http://{settings.host}:{settings.port}"
    supervisor = Supervisor()
    supervisor.install_signal_handlers()
    print("Starting the housing repairs assistant (Ctrl-C stops everything):", flush=True)
    try:
        supervisor.start(
            Part(
                name="repairs service",
                command=[python, "-m", "repairs", "serve"],
                ready_url=f"{base}/healthz",
                show_url=f"{base}/docs  (API docs; Open311 at {base}/open311/v2/services.json)",
                log_file=VAR / "log" / "repairs.log",
            )
        )
        print(f"\nOfficer sign-in: supervisor@demo.invalid, password in {VAR / 'demo-officer-password'}")
        print(f"Service token for the API: in {VAR / 'repairs-api-token'}\n", flush=True)
        if os.environ.get("DEMO_EXIT_WHEN_READY") == "1":  # used by the tests: start, check, stop
            return 0
        return supervisor.wait()
    except RuntimeError as exc:
        print(f"Demo failed to start: {exc}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
