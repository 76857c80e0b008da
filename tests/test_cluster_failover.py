"""Replicas behind HAProxy, as `make cluster` runs them (bench/cluster.py's balancer configuration and
bench/supervised.py's restarts): a repairs service killed with SIGKILL while residents' repairs are being
reported loses no call and makes no ticket twice, and the supervisor starts it again.

The clients behave as the action server does (actions/client.py): each report carries an Idempotency-Key,
and a 502/503 is tried again with the same key. A call in flight on the killed replica is retried by the
balancer on the other one (`retry-on empty-response`); the key makes that retry safe.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bench import dataset
from bench.cluster import FAULTS_LUA, haproxy_config, listen_port
from bench.supervised import Part, Supervisor
from evaluation.rasa_process import ROOT
from tests.conftest import SERVICE_TOKEN

REPORT = {"category": "plumbing", "description": "The kitchen tap drips all the time and there's water under the sink",
          "location_type": "in_home", "location": "kitchen", "channel": "telegram"}
RESIDENTS = 60


def _haproxy() -> str:
    found = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(found).exists():
        pytest.fail("HAProxy is not installed (Debian: apt-get install haproxy; .ci/run installs it)")
    return found


@pytest.fixture
def balanced_repairs(scratch_database_url: str, tmp_path: Path) -> Iterator[tuple[Supervisor, str, list[str]]]:
    """Two repairs services on one database behind HAProxy; yields (supervisor, balancer URL, chats)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")} | {
        "REPAIRS_DATABASE_URL": scratch_database_url, "REPAIRS_API_TOKEN": SERVICE_TOKEN,
        "REPAIRS_SECRET_KEY": "failover-test-secret-key-0123456789", "REPAIRS_PHOTO_DIR": str(tmp_path / "photos"),
        "REPAIRS_MIGRATE_ON_START": "false", "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "-m", "repairs", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    engine = dataset.engine_for(scratch_database_url)
    try:
        people = dataset.load_people(engine, residents=RESIDENTS, rng=random.Random(7))
    finally:
        engine.dispose()
    ports = [listen_port(), listen_port()]
    front, stats = listen_port(), listen_port()
    (tmp_path / "faults.lua").write_text(FAULTS_LUA)
    (tmp_path / "faults.map").write_text("repairs 0\n")
    config = tmp_path / "haproxy.cfg"
    backends = {"repairs": [(f"repairs-{n + 1}", p) for n, p in enumerate(ports)]}
    config.write_text(haproxy_config({"repairs": front}, backends, stats, tmp_path))
    messages: list[str] = []
    supervisor = Supervisor(messages.append)
    try:
        supervisor.start(*[Part(f"repairs-{n + 1}", "repairs", [sys.executable, "-m", "repairs", "serve", "--host",
                                                                "127.0.0.1", "--port", str(p)],
                                env, tmp_path / f"repairs-{n + 1}.log", f"http://127.0.0.1:{p}/healthz", cwd=ROOT)
                           for n, p in enumerate(ports)])
        supervisor.start(Part("haproxy", "haproxy", [_haproxy(), "-db", "-f", str(config)], dict(os.environ),
                              tmp_path / "haproxy.log", f"http://127.0.0.1:{stats}/"))
        supervisor.watch()
        # Both replicas in the rotation before the load starts (checked every second, up after two).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "UP" not in _servers_up(stats):
            time.sleep(0.2)
        yield supervisor, f"http://127.0.0.1:{front}", [p.chat for p in people]
    finally:
        supervisor.stop()


def _servers_up(stats_port: int) -> str:
    try:
        csv = httpx.get(f"http://127.0.0.1:{stats_port}/;csv", timeout=2).text
    except httpx.HTTPError:
        return ""
    rows = [line.split(",") for line in csv.splitlines() if line.startswith("repairs,repairs-")]
    return "UP" if len(rows) == 2 and all(row[17] == "UP" for row in rows) else ""


def _report(client: httpx.Client, chat: str) -> tuple[int, str | None]:
    """One report, tried again with the same key on 502/503 or a dropped connection, as the actions do."""
    key = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Resident-Channel": chat, "Idempotency-Key": key}
    status = 0
    for _ in range(20):
        try:
            response = client.post("/api/v1/tickets", json=REPORT, headers=headers)
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        status = response.status_code
        if status not in (409, 502, 503, 504):  # 409: the first attempt with this key is still being served
            return status, response.json().get("reference") if status == 201 else None
        time.sleep(0.5)
    return status, None


def test_a_repairs_replica_killed_mid_load_loses_no_report(balanced_repairs: tuple[Supervisor, str, list[str]],
                                                           scratch_database_url: str) -> None:
    supervisor, url, chats = balanced_repairs
    results: dict[str, tuple[int, str | None]] = {}
    lock = threading.Lock()
    queue = list(chats)
    killed = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    chat = queue.pop()
                    if len(queue) == RESIDENTS // 3 and not killed.is_set():
                        # A third of the way in, with the other clients' reports in flight.
                        supervisor.signal_part("repairs-1", signal.SIGKILL)
                        killed.set()
                outcome = _report(http, chat)
                with lock:
                    results[chat] = outcome

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert killed.is_set()
    assert {chat: status for chat, (status, _) in results.items() if status != 201} == {}
    assert len(results) == RESIDENTS
    engine = sa.create_engine(scratch_database_url)
    try:
        with engine.connect() as conn:
            per_resident = conn.execute(sa.text(
                "SELECT t.resident_id, count(*) FROM tickets t GROUP BY t.resident_id")).all()
            references = set(conn.execute(sa.text("SELECT reference FROM tickets")).scalars())
    finally:
        engine.dispose()
    assert len(per_resident) == RESIDENTS and all(count == 1 for _, count in per_resident), "a report made twice"
    assert {ref for _, ref in results.values()} == references, "a resident was given a reference that is not kept"
    # The supervisor noticed the death and started the replica again.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not supervisor.parts["repairs-1"].healthy():
        time.sleep(0.5)
    assert supervisor.parts["repairs-1"].restarts == 1
    assert supervisor.parts["repairs-1"].healthy()
    assert [code for _, code in supervisor.parts["repairs-1"].exits] == [-signal.SIGKILL]
