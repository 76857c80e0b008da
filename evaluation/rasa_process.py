"""Training a Rasa model and running a Rasa server from the application environment.

Rasa lives in its own Python 3.10 environment (.venv-rasa), so it is driven as a subprocess.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
# The encoder's package too: a change to how vectors are made is a change to what the classifiers learn from.
TRAINING_INPUTS = ["config.yml", "domain.yml", "nlu", "data/dialogue", "rasa_components", "packages/repairs_encoder"]


def rasa_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        # One BLAS thread: with two, NumPy's OpenBLAS busy-waits on a 2-core machine and doubles the
        # CPU each message costs (measured by `make bench-assistant`).
        "OPENBLAS_NUM_THREADS": "1",
    })
    return env


def training_fingerprint(config: Path | None = None) -> str:
    """A hash of everything training reads: retrain only when it changes."""
    digest = hashlib.sha256()
    inputs = [ROOT / p for p in TRAINING_INPUTS]
    if config is not None:
        inputs[0] = config
    for base in inputs:
        files = sorted(base.rglob("*")) if base.is_dir() else [base]
        for path in files:
            if path.is_file() and path.suffix in {".yml", ".yaml", ".py"}:
                digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class TrainedModel:
    path: Path
    seconds: float | None  # None when an up-to-date model was reused


def train(out_dir: Path, *, config: Path | None = None, name: str = "assistant", force: bool = False,
          nlu_only: bool = False) -> TrainedModel:
    config = config or ROOT / "config.yml"
    fingerprint = training_fingerprint(config)
    model = out_dir / f"{name}-{fingerprint}.tar.gz"
    if model.exists() and not force:
        return TrainedModel(model, None)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Several processes (test workers, the demo, a benchmark) may ask for the same model at once: one
    # trains while the others wait on the lock and then reuse it. Training goes to a scratch directory
    # and is renamed into place, so nobody ever loads a half-written archive.
    with open(out_dir / f".train-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if model.exists() and not force:
            return TrainedModel(model, None)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".training-") as scratch:
            command = [str(RASA_BIN), "train"] + (["nlu"] if nlu_only else []) + [
                "--config", str(config), "--domain", str(ROOT / "domain.yml"),
                "--out", scratch, "--fixed-model-name", f"{name}-{fingerprint}",
            ]
            command += (["--nlu", str(ROOT / "nlu")] if nlu_only
                        else ["--data", str(ROOT / "nlu"), str(ROOT / "data/dialogue")])
            started = time.monotonic()
            log = out_dir / f"train-{name}.log"
            with open(log, "w") as fh:
                result = subprocess.run(command, cwd=ROOT, env=rasa_env(), stdout=fh,  # noqa: S603
                                        stderr=subprocess.STDOUT, check=False)
            built = Path(scratch) / model.name
            if result.returncode != 0 or not built.exists():
                raise RuntimeError(f"rasa train failed (exit {result.returncode}); see {log}")
            os.replace(built, model)
            return TrainedModel(model, time.monotonic() - started)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningRasa:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    startup_seconds: float
    channel_secret: str = ""  # signs turns for its signed channel (repairs_common.turn_signing)


def channel_env(secret: str, replay_store: str) -> dict[str, str]:
    """What credentials.yml's signed channel reads: the secret shared with whoever sends turns, and where
    used nonces are kept (a database URL or redis://)."""
    return {"RASA_CHANNEL_SECRET": secret, "RASA_CHANNEL_REPLAY_STORE": replay_store}


@contextmanager
def managed_process(command: list[str], env: dict[str, str], log_file: Path | None = None
                    ) -> Iterator[subprocess.Popen[bytes]]:
    """A child process in its own session, stopped (SIGTERM, then SIGKILL) with everything it started."""
    with ExitStack() as stack:
        out = stack.enter_context(open(log_file, "w")) if log_file else subprocess.DEVNULL
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                   start_new_session=True)
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def wait_until_ready(process: subprocess.Popen[bytes], ready: Callable[[], bool], name: str, timeout: float) -> None:
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} while starting")
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{name} did not start in {timeout:.0f}s")
        time.sleep(0.3)


@contextmanager
def rasa_server(model: Path, *, token: str | None = None, endpoints: Path | None = None, port: int | None = None,
                log_file: Path | None = None, timeout: float = 180.0, channel_secret: str | None = None,
                replay_store: str | None = None, env: dict[str, str] | None = None) -> Iterator[RunningRasa]:
    """A local Rasa server with the repository's credentials.yml (the signed channel). Unless given, its
    channel secret is a throwaway one and used nonces go to a scratch SQLite file."""
    port = port or free_port()
    # A throwaway token for this local server; hex, because a token_urlsafe value can start with "-"
    # and Rasa's argument parser then takes it for an option.
    token = token or secrets.token_hex(16)
    channel_secret = channel_secret or secrets.token_hex(32)
    command = [str(RASA_BIN), "run", "--model", str(model), "--enable-api", f"--auth-token={token}",
               "--interface", "127.0.0.1", "--port", str(port), "--credentials", str(ROOT / "credentials.yml")]
    if endpoints is not None:
        command += ["--endpoints", str(endpoints)]
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        status = httpx.get(f"{url}/status", params={"token": token}, timeout=2)
        return status.status_code == 200 and bool(status.json().get("model_file"))

    started = time.monotonic()
    with ExitStack() as scratch:
        if replay_store is None:
            replay_dir = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="rasa-channel-")))
            replay_store = f"sqlite:///{replay_dir / 'nonces.db'}"
        # endpoints.yml (Rasa's default without --endpoints) sends the action server a token from the
        # environment; a throwaway one unless the caller runs an action server that expects its own.
        server_env = (rasa_env() | {"ACTION_SERVER_TOKEN": secrets.token_hex(32)}
                      | channel_env(channel_secret, replay_store) | (env or {}))
        process = scratch.enter_context(managed_process(command, server_env, log_file))
        wait_until_ready(process, ready, "Rasa", timeout)
        yield RunningRasa(url=url, token=token, process=process, startup_seconds=time.monotonic() - started,
                          channel_secret=channel_secret)


if __name__ == "__main__":  # `python -m evaluation.rasa_process` trains the default model
    trained = train(ROOT / "models")
    print(trained.path, f"{trained.seconds:.1f}s" if trained.seconds else "(up to date)")
    sys.exit(0)
