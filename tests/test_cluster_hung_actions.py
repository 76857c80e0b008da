"""A hung action server costs no turn, and makes nothing twice (issue 15; the drills' "action server hung").

Real parts: the repairs service and Rasa with the trained model (tests/assistant_stack.py), two action servers,
and HAProxy between them configured as `make cluster` configures it (bench/cluster.py's haproxy_config: Rasa's
action calls and the actions' calls to the repairs service both go through it). One action server is stopped
with SIGSTOP while an emergency report is in flight on it. The balancer gives up on it after ACTIONS_TIMEOUT_S
and sends the same call to the other action server, so the resident's turn is answered, within the bot's 30 s
wait; when the stopped server wakes it may finish the same call, and the create's idempotency key, taken from
the turn (actions/turn_keys.py), makes that the same ticket. Before, Rasa waited 5 minutes on the stopped server.

With both action servers stopped the turn ends with nothing said (Rasa drops a failed action's events), and
the signed channel answers it with its apology, within the bot's wait.

The same call sent to both action servers by hand makes one ticket too: the key does not depend on which
server, or which attempt, runs it (it was drawn at random for an emergency logged at once, and the retry would
have made a second ticket).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bench.cluster import ACTIONS_TIMEOUT_S, FAULTS_LUA, haproxy_config, listen_port
from bench.supervised import Part, Supervisor
from evaluation.rasa_process import RASA_PYTHON, ROOT, rasa_env
from tests.assistant_stack import Stack, assistant_stack, texts
from tests.test_cluster_failover import _haproxy

TENANT = ("T-100001", "NW1 8YL")  # seed-demo's first home (a tenant)
FLOOD = "water is pouring through my bathroom ceiling from the flat above"
BOT_WAIT_S = 30  # the bot's wait for Rasa's answer (RASA_TIMEOUT_SECONDS)


@dataclass
class HungCluster:
    stack: Stack
    supervisor: Supervisor
    workdir: Path
    actions_ports: list[int]
    stats_port: int

    def admin(self, command: str) -> str:
        """HAProxy's admin socket (as bench/drills.py's faults use it)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.workdir / "haproxy.sock"))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(4096):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def delay_repairs(self, ms: int) -> None:
        self.admin(f"set map {self.workdir / 'faults.map'} repairs {ms}")

    def servers_up(self) -> dict[str, str]:
        csv = httpx.get(f"http://127.0.0.1:{self.stats_port}/;csv", timeout=5, trust_env=False).text
        rows = [line.split(",") for line in csv.splitlines()]
        return {row[1]: row[17] for row in rows if len(row) > 17 and row[0] in ("actions", "repairs")
                and row[1] not in ("FRONTEND", "BACKEND")}


@pytest.fixture(scope="module")
def hung_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HungCluster]:
    workdir = tmp_path_factory.mktemp("hung-actions")
    actions_front, repairs_front, stats = listen_port(), listen_port(), listen_port()
    actions_ports = [listen_port(), listen_port()]
    supervisor = Supervisor(lambda _message: None)
    with assistant_stack(workdir, actions_endpoint_port=actions_front) as stack:
        try:
            repairs_port = int(stack.repairs_url.rsplit(":", 1)[1])
            (workdir / "faults.lua").write_text(FAULTS_LUA)
            (workdir / "faults.map").write_text("actions 0\nrepairs 0\n")
            (workdir / "haproxy.cfg").write_text(haproxy_config(
                {"actions": actions_front, "repairs": repairs_front},
                {"actions": [(f"actions-{n + 1}", p) for n, p in enumerate(actions_ports)],
                 "repairs": [("repairs-1", repairs_port)]}, stats, workdir))
            supervisor.start(Part("haproxy", "haproxy", [_haproxy(), "-db", "-f", str(workdir / "haproxy.cfg")],
                                  dict(os.environ), workdir / "haproxy.log", f"http://127.0.0.1:{stats}/"))
            supervisor.start(*[Part(
                f"actions-{n + 1}", "actions", [str(RASA_PYTHON), "-m", "action_server"],
                rasa_env() | {"REPAIRS_API_URL": f"http://127.0.0.1:{repairs_front}",
                              "REPAIRS_API_TOKEN": stack.repairs_token, "ACTION_SERVER_TOKEN": stack.action_token,
                              "ACTION_SERVER_HOST": "127.0.0.1", "ACTION_SERVER_PORT": str(port)},
                workdir / f"actions-{n + 1}.log", f"http://127.0.0.1:{port}/health", cwd=ROOT)
                for n, port in enumerate(actions_ports)])
            cluster = HungCluster(stack, supervisor, workdir, actions_ports, stats)
            deadline = time.monotonic() + 30
            while set(cluster.servers_up().values()) != {"UP"} or len(cluster.servers_up()) != 3:
                assert time.monotonic() < deadline, f"not every replica came up: {cluster.servers_up()}"
                time.sleep(0.5)
            yield cluster
        finally:
            for name in ("actions-1", "actions-2"):
                if name in supervisor.parts:
                    supervisor.signal_part(name, signal.SIGCONT)
            supervisor.stop()


def verify(stack: Stack, chat: str) -> None:
    stack.say(chat, "/start_verification")
    stack.say(chat, TENANT[0])
    assert "verified" in texts(stack.say(chat, TENANT[1]))


def tickets_since(stack: Stack, since: float) -> list[str]:
    engine = sa.create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT reference FROM tickets WHERE created_at >= :since"),
                                     {"since": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(since - 1))}
                                     ).scalars())
    finally:
        engine.dispose()


def test_a_turn_on_a_stopped_action_server_is_answered_and_logged_once(hung_cluster: HungCluster) -> None:
    cluster, stack = hung_cluster, hung_cluster.stack
    chat = "telegram:7615001"
    verify(stack, chat)
    # The turn's action goes to actions-1 (actions-2 is out of the rotation for the moment) and waits there on
    # the repairs service when actions-1 is stopped; actions-2 is back before the balancer gives up.
    cluster.admin("set server actions/actions-2 state maint")
    cluster.delay_repairs(3000)
    started_wall = time.time()
    answer: dict[str, object] = {}

    def turn() -> None:
        started = time.monotonic()
        answer["replies"] = stack.post_turn(chat, FLOOD, typed=True)
        answer["seconds"] = time.monotonic() - started

    resident = threading.Thread(target=turn)
    resident.start()
    try:
        time.sleep(1.5)
        cluster.supervisor.signal_part("actions-1", signal.SIGSTOP)
        cluster.delay_repairs(0)
        cluster.admin("set server actions/actions-2 state ready")
        resident.join(timeout=BOT_WAIT_S * 3)
    finally:
        cluster.supervisor.signal_part("actions-1", signal.SIGCONT)
    response = answer["replies"]
    assert isinstance(response, httpx.Response) and response.status_code == 200
    said = texts(response.json())
    assert "logged this as an emergency" in said, said
    seconds = float(answer["seconds"])  # type: ignore[arg-type]
    assert ACTIONS_TIMEOUT_S <= seconds < BOT_WAIT_S, f"answered in {seconds:.1f} s"
    # actions-1, awake again, may finish the call it was stopped in: still one ticket, the one the resident
    # was told about.
    time.sleep(8)
    made = tickets_since(stack, started_wall)
    assert len(made) == 1, made
    assert made[0] in said


def test_the_same_action_call_on_both_servers_logs_one_emergency(hung_cluster: HungCluster) -> None:
    cluster, stack = hung_cluster, hung_cluster.stack
    chat = "telegram:7615002"
    verify(stack, chat)
    call = {
        "next_action": "action_start_report",
        "sender_id": chat,
        "version": "3.6.21",
        "domain": {},
        "tracker": {"sender_id": chat, "slots": {}, "events": [], "active_loop": {},
                    "latest_message": {"text": FLOOD, "message_id": "b5c1d0e2f3a4", "entities": [],
                                       "intent": {"name": "repair_plumbing", "confidence": 0.99}}},
    }
    started_wall = time.time()
    references = []
    for port in cluster.actions_ports:
        response = httpx.post(f"http://127.0.0.1:{port}/webhook", json=call, timeout=60, trust_env=False,
                              headers={"Authorization": f"Bearer {stack.action_token}"})
        assert response.status_code == 200, response.text
        said = " ".join(str(r.get("text") or "") for r in response.json()["responses"])
        assert "logged this as an emergency" in said, said
        references.append(said)
    made = tickets_since(stack, started_wall)
    assert len(made) == 1, made
    assert all(made[0] in said for said in references)


def test_a_turn_whose_action_fails_on_both_servers_is_answered_with_the_apology(hung_cluster: HungCluster) -> None:
    # Both action servers stopped: the balancer gives up on each in turn and answers Rasa 504, Rasa drops the
    # action's events and listens again with nothing said, and the signed channel says sorry instead of nothing.
    cluster, stack = hung_cluster, hung_cluster.stack
    chat = "telegram:7615003"
    verify(stack, chat)
    for name in ("actions-1", "actions-2"):
        cluster.supervisor.signal_part(name, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = stack.post_turn(chat, FLOOD, typed=True)
        seconds = time.monotonic() - started
    finally:
        for name in ("actions-1", "actions-2"):
            cluster.supervisor.signal_part(name, signal.SIGCONT)
    assert response.status_code == 200
    said = texts(response.json())
    assert "something went wrong on our side" in said and "status of your repairs" in said, said
    # Two cut-offs (20 s here), within the bot's wait: the resident reads the apology, not "unavailable".
    assert 2 * ACTIONS_TIMEOUT_S <= seconds < BOT_WAIT_S, f"answered in {seconds:.1f} s"
