"""The whole assistant on this machine for conversation tests: the repairs service (SQLite, demo data),
the action server and the Rasa server with the trained model, each a real process on a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from evaluation.rasa_process import RASA_BIN, ROOT, free_port, rasa_env, rasa_server, train


@dataclass
class Stack:
    rasa_url: str
    repairs_url: str
    repairs_token: str
    database_url: str

    def say(self, sender: str, text: str) -> list[dict[str, object]]:
        r = httpx.post(f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                       timeout=60)
        r.raise_for_status()
        return list(r.json())


def _wait(url: str, proc: subprocess.Popen[bytes], name: str, timeout: float = 120) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not start in {timeout:.0f}s")


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def assistant_stack(workdir: Path) -> Iterator[Stack]:
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
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n')
    actions_env = rasa_env()
    actions_env.update({"REPAIRS_API_URL": f"http://127.0.0.1:{repairs_port}", "REPAIRS_API_TOKEN": token})
    with ExitStack() as stack:
        repairs = stack.enter_context(_process([sys.executable, "-m", "repairs", "serve"], app_env,
                                               workdir / "repairs.log"))
        actions = stack.enter_context(_process(
            [str(RASA_BIN), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            actions_env, workdir / "actions.log"))
        _wait(f"http://127.0.0.1:{repairs_port}/healthz", repairs, "repairs service")
        _wait(f"http://127.0.0.1:{actions_port}/health", actions, "action server")
        rasa = stack.enter_context(rasa_server(model, endpoints=endpoints, log_file=workdir / "rasa.log"))
        yield Stack(rasa_url=rasa.url, repairs_url=f"http://127.0.0.1:{repairs_port}", repairs_token=token,
                    database_url=database_url)
