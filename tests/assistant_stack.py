"""The whole assistant on this machine for conversation tests: the repairs service (SQLite, demo data),
the action server and the Rasa server with the trained model, each a real process on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from evaluation.rasa_process import (
    RASA_BIN,
    ROOT,
    free_port,
    managed_process,
    rasa_env,
    rasa_server,
    train,
    wait_until_ready,
)


@dataclass
class Stack:
    rasa_url: str
    repairs_url: str
    repairs_token: str
    database_url: str
    rasa_token: str = ""  # Rasa's HTTP API token (the REST channel needs none)

    def say(self, sender: str, text: str) -> list[dict[str, object]]:
        r = httpx.post(f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                       timeout=60)
        r.raise_for_status()
        return list(r.json())


def _answers(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=2).status_code < 500


@contextmanager
def assistant_stack(workdir: Path, *, endpoints_extra: str = "") -> Iterator[Stack]:
    """`endpoints_extra`: more of Rasa's endpoints.yml (e.g. a tracker_store); conversations are kept in
    memory otherwise."""
    token = "stack-token-" + "z" * 24
    database_url = f"sqlite:///{workdir / 'repairs.db'}"
    repairs_port, actions_port = free_port(), free_port()
    app_env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    app_env.update({"REPAIRS_DATABASE_URL": database_url, "REPAIRS_API_TOKEN": token,
                    "REPAIRS_PHOTO_DIR": str(workdir / "photos"), "REPAIRS_PORT": str(repairs_port)})
    subprocess.run([sys.executable, "-m", "repairs", "db", "upgrade"], cwd=ROOT, env=app_env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "repairs", "seed-demo"], cwd=ROOT, env=app_env, check=True,
                   capture_output=True)
    model = train(ROOT / "models").path
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n' + endpoints_extra)
    actions_env = rasa_env()
    actions_env.update({"REPAIRS_API_URL": f"http://127.0.0.1:{repairs_port}", "REPAIRS_API_TOKEN": token})
    with ExitStack() as stack:
        repairs = stack.enter_context(managed_process([sys.executable, "-m", "repairs", "serve"], app_env,
                                                      workdir / "repairs.log"))
        actions = stack.enter_context(managed_process(
            [str(RASA_BIN), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            actions_env, workdir / "actions.log"))
        wait_until_ready(repairs, _answers(f"http://127.0.0.1:{repairs_port}/healthz"), "repairs service", 120)
        wait_until_ready(actions, _answers(f"http://127.0.0.1:{actions_port}/health"), "action server", 120)
        rasa = stack.enter_context(rasa_server(model, endpoints=endpoints, log_file=workdir / "rasa.log"))
        yield Stack(rasa_url=rasa.url, repairs_url=f"http://127.0.0.1:{repairs_port}", repairs_token=token,
                    database_url=database_url, rasa_token=rasa.token)
