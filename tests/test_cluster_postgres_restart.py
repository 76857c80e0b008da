"""The drills' PostgreSQL restart, small enough for CI: a PostgreSQL server of the test's own (bench/cluster.py's
postgres_part: initdb in a temporary directory, a free port; never the machine's shared server), a repairs
service on it, and the server restarted (fast shutdown, started again by the supervisor). Every call after
the restart is answered: the service's pool checks each connection before use (pool_pre_ping), so the dead
connections the restart left in the pool cost no call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bench.cluster import fresh_database, listen_port, postgres_part
from bench.supervised import Part, Supervisor
from evaluation.rasa_process import ROOT
from tests.conftest import SERVICE_TOKEN


@pytest.fixture
def own_postgres() -> Iterator[tuple[Supervisor, str]]:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.fail("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")
    scratch = Path(tempfile.mkdtemp(prefix="test-own-postgres-"))
    scratch.chmod(0o755)
    port = listen_port()
    supervisor = Supervisor(lambda _message: None)
    try:
        supervisor.start(postgres_part(scratch / "data", port, scratch / "postgres.log"))
        supervisor.watch()
        yield supervisor, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        supervisor.stop()
        subprocess.run(["rm", "-rf", str(scratch)], check=False, timeout=60)


def test_the_repairs_service_answers_every_call_after_postgresql_restarts(own_postgres, tmp_path: Path) -> None:
    supervisor, admin_url = own_postgres
    database_url = fresh_database(admin_url, "repairs_restart")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")} | {
        "REPAIRS_DATABASE_URL": database_url, "REPAIRS_API_TOKEN": SERVICE_TOKEN,
        "REPAIRS_SECRET_KEY": "restart-test-secret-key-0123456789", "REPAIRS_PHOTO_DIR": str(tmp_path / "photos"),
        "REPAIRS_MIGRATE_ON_START": "false", "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "-m", "repairs", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    port = listen_port()
    supervisor.start(Part("repairs", "repairs", [sys.executable, "-m", "repairs", "serve", "--host", "127.0.0.1",
                                                 "--port", str(port)], env, tmp_path / "repairs.log",
                          f"http://127.0.0.1:{port}/healthz", cwd=ROOT))
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=30) as client:
        # Several calls at once beforehand, so the pool holds several connections for the restart to kill.
        for _ in range(5):
            assert client.get("/api/v1/categories", headers=headers).status_code == 200
            assert client.get("/healthz").status_code == 200
        supervisor.signal_part("postgres", signal.SIGINT, group=False)  # fast shutdown: connections cut
        deadline = time.monotonic() + 60
        while supervisor.parts["postgres"].restarts == 0 or not supervisor.parts["postgres"].healthy():
            assert time.monotonic() < deadline, "PostgreSQL did not come back"
            time.sleep(0.2)
        statuses = [client.get("/healthz").status_code for _ in range(10)]
    assert statuses == [200] * 10, f"calls failed on connections the restart left in the pool: {statuses}"
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()
