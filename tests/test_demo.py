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
from repairs_common import turn_signing

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
        channel_secret = (var / "rasa-channel-secret").read_text().strip()
        action_token = (var / "action-server-token").read_text().strip()
        for secret in ("rasa-token", "rasa-channel-secret", "action-server-token"):
            assert (var / secret).stat().st_mode & 0o077 == 0, f"{secret} is readable by others"
        assert len(channel_secret) >= 32 and len(action_token) >= 32

        # The repairs service, with its token.
        assert httpx.get(f"{repairs}/healthz", timeout=5).status_code == 200
        categories = httpx.get(f"{repairs}/api/v1/categories", headers={"Authorization": f"Bearer {repairs_token}"},
                               timeout=5)
        assert categories.status_code == 200 and len(categories.json()) == 15

        # The web chat, its URL printed.
        assert f"Web chat:                  http://127.0.0.1:{bot_port}/" in output, output
        assert "Telegram off: no TELEGRAM_BOT_TOKEN" in output, output  # judged with the bot's own settings
        page = httpx.get(f"http://127.0.0.1:{bot_port}/", timeout=5)
        assert page.status_code == 200 and "Housing repairs chat" in page.text
        assert (var / "webchat-secret").stat().st_mode & 0o077 == 0

        # The action server: its health for anyone, its actions for Rasa only.
        assert httpx.get(f"http://127.0.0.1:{actions_port}/health", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{actions_port}/actions", timeout=5).status_code == 401
        allowed = httpx.get(f"http://127.0.0.1:{actions_port}/actions", timeout=5,
                            headers={"Authorization": f"Bearer {action_token}"})
        assert allowed.status_code == 200 and {"name": "action_check_status"} in allowed.json()
        # Its token reaches Rasa through the environment, never written into the endpoints file.
        assert action_token not in (var / "endpoints.yml").read_text()

        # Rasa's HTTP API answers with the token and refuses without it, or with a wrong one.
        status = httpx.get(f"{rasa}/status", params={"token": rasa_token}, timeout=5)
        assert status.status_code == 200 and status.json()["model_file"].startswith("assistant-")
        assert httpx.get(f"{rasa}/status", timeout=5).status_code == 401
        assert httpx.get(f"{rasa}/status", params={"token": "not-" + rasa_token}, timeout=5).status_code == 401

        # A real conversation on the signed channel: a greeting gets a reply, and verification goes through
        # Rasa, the action server and the repairs service (so the action server has the right URL and token,
        # and Rasa sends it the right action token).
        def say(text: str) -> list[str]:
            body, headers = turn_signing.signed_request(channel_secret, "web:demo-test", text, {},
                                                        typed=not text.startswith("/"))
            r = httpx.post(f"{rasa}{turn_signing.WEBHOOK_PATH}", content=body, headers=headers, timeout=60)
            assert r.status_code == 200
            return [str(m.get("text", "")) for m in r.json()]

        # Rasa's REST channel is off; an unsigned turn is refused.
        rest = httpx.post(f"{rasa}/webhooks/rest/webhook", json={"sender": "web:demo-test", "message": "hi"},
                          timeout=10)
        assert rest.status_code == 404
        unsigned = httpx.post(f"{rasa}{turn_signing.WEBHOOK_PATH}", json={"sender": "web:demo-test",
                                                                          "message": "hi"}, timeout=10)
        assert unsigned.status_code == 401

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
