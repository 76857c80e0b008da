"""`make demo` runs non-interactively, serves all four parts, and Ctrl-C (or SIGTERM) stops every process
it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from evaluation.rasa_process import free_port
from repairs.demo.supervisor import Part, Supervisor, answers

ROOT = Path(__file__).resolve().parent.parent


def _listening_addresses(port: int) -> set[str]:
    """The local addresses with a listening TCP socket on `port`, read from /proc (IPv4 and IPv6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port and len(address) == width:  # 0A: LISTEN
                found.add(address)
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 as /proc writes them


def _is_listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            break
    return "".join(lines)


def test_demo_starts_all_four_parts_and_stops_them_on_ctrl_c(tmp_path):
    repairs_port, rasa_port, actions_port, bot_port = free_port(), free_port(), free_port(), free_port()
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REPAIRS_", "RASA_", "ACTION_SERVER_", "DEMO_", "BOT_", "TELEGRAM_", "WEBCHAT_"))}
    env.update({
        "CI": "true",
        "DEMO_VAR_DIR": str(var),
        "REPAIRS_PORT": str(repairs_port),
        "RASA_PORT": str(rasa_port),
        "ACTION_SERVER_PORT": str(actions_port),
        "BOT_PORT": str(bot_port),
        "REPAIRS_DATABASE_URL": f"sqlite:///{var / 'demo.db'}",
    })
    proc = subprocess.Popen([sys.executable, "-m", "repairs.demo.run"], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Training (only when the data changed) plus Rasa's start-up; the model is shared through models/.
        output = _read_until(proc, "Ready. Ctrl-C stops everything.", timeout=420)
        assert "Ready." in output, output
        for part, port in (("repairs service", repairs_port), ("action server", actions_port),
                           ("Rasa server", rasa_port), ("bot", bot_port)):
            assert any(part in line and f":{port}/" in line and "ready in" in line
                       for line in output.splitlines()), output
        assert "T-1000" in output  # the demo residents to try
        assert "Assistant model is up to date." in output or "trained in" in output, output

        repairs = f"http://127.0.0.1:{repairs_port}"
        rasa = f"http://127.0.0.1:{rasa_port}"
        repairs_token = (var / "repairs-api-token").read_text().strip()
        rasa_token = (var / "rasa-token").read_text().strip()
        assert (var / "rasa-token").stat().st_mode & 0o077 == 0, "the Rasa token file is readable by others"

        # The repairs service, with its token.
        assert httpx.get(f"{repairs}/healthz", timeout=5).status_code == 200
        categories = httpx.get(f"{repairs}/api/v1/categories", headers={"Authorization": f"Bearer {repairs_token}"},
                               timeout=5)
        assert categories.status_code == 200 and len(categories.json()) == 15

        # The web chat, its URL printed.
        assert f"Web chat:                  http://127.0.0.1:{bot_port}/" in output, output
        page = httpx.get(f"http://127.0.0.1:{bot_port}/", timeout=5)
        assert page.status_code == 200 and "Housing repairs chat" in page.text
        assert (var / "webchat-secret").stat().st_mode & 0o077 == 0

        # The action server.
        assert httpx.get(f"http://127.0.0.1:{actions_port}/health", timeout=5).status_code == 200

        # Rasa's HTTP API answers with the token and refuses without it, or with a wrong one.
        status = httpx.get(f"{rasa}/status", params={"token": rasa_token}, timeout=5)
        assert status.status_code == 200 and status.json()["model_file"].startswith("assistant-")
        assert httpx.get(f"{rasa}/status", timeout=5).status_code == 401
        assert httpx.get(f"{rasa}/status", params={"token": "not-" + rasa_token}, timeout=5).status_code == 401

        # A real conversation on the REST channel: a greeting gets a reply, and verification goes through
        # Rasa, the action server and the repairs service (so the action server has the right URL and token).
        def say(text: str) -> list[str]:
            r = httpx.post(f"{rasa}/webhooks/rest/webhook", json={"sender": "web:demo-test", "message": text},
                           timeout=60)
            assert r.status_code == 200
            return [str(m.get("text", "")) for m in r.json()]

        assert any(say("hello")), "no reply to hello"
        say("/start_verification")
        say("T-100001")
        assert any("verified" in text for text in say("NW1 8YL"))

        # Triage on the repairs service reaches this Rasa server with its token.
        triage = httpx.post(f"{repairs}/api/v1/triage", json={"text": "I can smell gas in my kitchen"},
                            headers={"Authorization": f"Bearer {repairs_token}"}, timeout=30)
        assert triage.status_code == 200 and triage.json()["emergency"] is True, triage.text

        # `make chat` against this demo, with piped stdin: typing a button's number sends its payload
        # ("3" is "Talk to a person", whose answer comes from the repairs service through an action).
        chat = subprocess.run([sys.executable, "-m", "repairs.demo.chat"], cwd=ROOT, env=env, text=True,
                              input="hello\n3\n1\nT-100001\nNW1 8YL\n/quit\n", capture_output=True, timeout=180)
        assert chat.returncode == 0, chat.stdout + chat.stderr
        assert "[3] Talk to a person" in chat.stdout, chat.stdout
        assert "020 7974 4444" in chat.stdout, chat.stdout  # the repairs line, from the council's settings
        assert "you're verified" in chat.stdout, chat.stdout

        # Rasa and the action server listen on loopback only.
        for port in (rasa_port, actions_port, repairs_port, bot_port):
            addresses = _listening_addresses(port)
            assert addresses and addresses <= LOOPBACK, f"port {port} listens on {addresses}"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    for port in (repairs_port, rasa_port, actions_port, bot_port):
        assert not _is_listening(port), f"something still listens on {port} after Ctrl-C"


def test_supervisor_stops_every_part_on_sigterm(tmp_path):
    """SIGTERM (what `docker stop`, systemd or a CI runner sends) stops the parts as Ctrl-C does."""
    ports = [free_port(), free_port()]
    script = textwrap.dedent(f"""
        import sys
        from repairs.demo.supervisor import Part, Supervisor, answers
        supervisor = Supervisor()
        supervisor.install_signal_handlers()
        parts = [Part(name=f"web {{port}}", command=[sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                                    str(port)],
                      ready=answers(f"http://127.0.0.1:{{port}}/"), show_url=str(port)) for port in {ports}]
        try:
            supervisor.start(*parts)
            print("READY", flush=True)
            code = supervisor.wait()
        finally:
            supervisor.stop()
        print("STOPPED", code, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = _read_until(proc, "READY", timeout=60)
        assert "READY" in output, output
        assert all(_is_listening(port) for port in ports)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "STOPPED 0" in rest and proc.returncode == 0, output + rest
    assert not any(_is_listening(port) for port in ports)


def test_supervisor_reports_a_part_that_dies_while_starting(tmp_path):
    supervisor = Supervisor()
    part = Part(name="broken", command=[sys.executable, "-c", "raise SystemExit(3)"],
                ready=answers(f"http://127.0.0.1:{free_port()}/"), show_url="-", log_file=tmp_path / "broken.log")
    try:
        with pytest.raises(RuntimeError, match=r"broken exited with code 3.*broken\.log"):
            supervisor.start(part)
    finally:
        supervisor.stop()
