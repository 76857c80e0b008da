"""The whole assistant on this machine for conversation tests: the repairs service (SQLite, demo data),
the action server and the Rasa server with the trained model, each a real process on a free port.

Rasa takes turns only through its signed channel (credentials.yml), and calls the action server with the
action token, as in production."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from repairs_common import turn_signing

from evaluation.rasa_process import (
    RASA_PYTHON,
    ROOT,
    free_port,
    managed_process,
    rasa_env,
    rasa_server,
    train,
    wait_until_ready,
)

# Rasa sends the action server's token as a header (rasa.utils.endpoints.EndpointConfig's `headers`).
ACTION_ENDPOINT = ('action_endpoint:\n  url: "http://127.0.0.1:{port}/webhook"\n'
                   "  headers:\n    Authorization: Bearer ${{ACTION_SERVER_TOKEN}}\n")


@dataclass
class Stack:
    rasa_url: str
    repairs_url: str
    repairs_token: str
    database_url: str
    rasa_token: str = ""  # Rasa's HTTP API token
    channel_secret: str = ""  # what the bot signs turns with (RASA_CHANNEL_SECRET)
    action_server_url: str = ""
    action_token: str = ""  # what Rasa sends the action server (ACTION_SERVER_TOKEN)
    log_dir: Path | None = None

    def say(self, sender: str, text: str, *, typed: bool | None = None) -> list[dict[str, object]]:
        """One turn, signed as the bot signs it. Unless `typed` says otherwise, a message starting with "/"
        is sent as a button's payload (the tests' "/affirm" stand for taps) and anything else as typed words."""
        r = self.post_turn(sender, text, typed=not text.startswith("/") if typed is None else typed)
        r.raise_for_status()
        return list(r.json())

    def post_turn(self, sender: str, text: str, *, typed: bool, metadata: dict[str, object] | None = None
                  ) -> httpx.Response:
        body, headers = turn_signing.signed_request(self.channel_secret, sender, text, metadata or {}, typed=typed)
        return httpx.post(f"{self.rasa_url}{turn_signing.WEBHOOK_PATH}", content=body, headers=headers, timeout=60)

    def log(self, name: str) -> str:
        """A part's log so far: "rasa", "actions" or "repairs"."""
        assert self.log_dir is not None
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _answers(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=2).status_code < 500


def action_server_command() -> list[str]:
    """The action server as production runs it (docker/rasa-entrypoint.sh `actions`)."""
    return [str(RASA_PYTHON), "-m", "action_server"]


@contextmanager
def assistant_stack(workdir: Path, *, endpoints_extra: str = "",
                    actions_endpoint_port: int | None = None) -> Iterator[Stack]:
    """`endpoints_extra`: more of Rasa's endpoints.yml (e.g. a tracker_store); conversations are kept in
    memory otherwise. `actions_endpoint_port`: point Rasa at another action server (one that hangs, say)."""
    token = "stack-token-" + "z" * 24
    action_token = secrets.token_hex(32)
    database_url = f"sqlite:///{workdir / 'repairs.db'}"
    repairs_port, actions_port = free_port(), free_port()
    app_env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    app_env.update({"REPAIRS_DATABASE_URL": database_url, "REPAIRS_API_TOKEN": token,
                    "REPAIRS_SECRET_KEY": secrets.token_hex(32),
                    "REPAIRS_PHOTO_DIR": str(workdir / "photos"), "REPAIRS_PORT": str(repairs_port)})
    subprocess.run([sys.executable, "-m", "repairs", "db", "upgrade"], cwd=ROOT, env=app_env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "repairs", "seed-demo"], cwd=ROOT, env=app_env, check=True,
                   capture_output=True)
    model = train(ROOT / "models").path
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(ACTION_ENDPOINT.format(port=actions_endpoint_port or actions_port) + endpoints_extra)
    actions_env = rasa_env()
    actions_env.update({"REPAIRS_API_URL": f"http://127.0.0.1:{repairs_port}", "REPAIRS_API_TOKEN": token,
                        "ACTION_SERVER_TOKEN": action_token, "ACTION_SERVER_PORT": str(actions_port)})
    with ExitStack() as stack:
        repairs = stack.enter_context(managed_process([sys.executable, "-m", "repairs", "serve"], app_env,
                                                      workdir / "repairs.log"))
        actions = stack.enter_context(managed_process(action_server_command(), actions_env, workdir / "actions.log"))
        wait_until_ready(repairs, _answers(f"http://127.0.0.1:{repairs_port}/healthz"), "repairs service", 120)
        wait_until_ready(actions, _answers(f"http://127.0.0.1:{actions_port}/health"), "action server", 120)
        rasa = stack.enter_context(rasa_server(model, endpoints=endpoints, log_file=workdir / "rasa.log",
                                               replay_store=f"sqlite:///{workdir / 'rasa-channel.db'}",
                                               env={"ACTION_SERVER_TOKEN": action_token}))
        yield Stack(rasa_url=rasa.url, repairs_url=f"http://127.0.0.1:{repairs_port}", repairs_token=token,
                    database_url=database_url, rasa_token=rasa.token, channel_secret=rasa.channel_secret,
                    action_server_url=f"http://127.0.0.1:{actions_port}", action_token=action_token,
                    log_dir=workdir)


def texts(replies: list[dict[str, object]]) -> str:
    """Everything the assistant said in one answer, as one string to look for words in."""
    return " ".join(str(r.get("text", "")) for r in replies)
