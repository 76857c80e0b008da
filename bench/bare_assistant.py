"""The bare assistant the benchmark measures ours against, in the same run on the same machine.

bench/bare_rasa/ is a project shaped as `rasa init` makes one (a handful of small-talk intents, Rasa's
default pipeline and policies, no custom actions, in-memory tracker and lock stores). It is trained once
and cached under models/ by a fingerprint of its files, served on 127.0.0.1 through Rasa's REST channel,
and sent the same words as ours: what Rasa itself costs here, so ours can be read as a ratio of it.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import random
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.conversations import SCRIPT, Conversation, LoadResult, Turn, choose, drive, fill
from evaluation.rasa_process import (
    RASA_BIN,
    ROOT,
    RunningRasa,
    TrainedModel,
    free_port,
    managed_process,
    rasa_env,
    wait_until_ready,
)

PROJECT = ROOT / "bench" / "bare_rasa"
MODELS = ROOT / "models"
NAME = "bare-rasa"
REST_WEBHOOK = "/webhooks/rest/webhook"
# The bare assistant makes no tickets; the turn that asks after one names a reference of the right shape.
MADE_UP_REFERENCE = "HR-B4RE01"


def fingerprint() -> str:
    """A hash of the project's files: retrain only when one of them changes."""
    digest = hashlib.sha256()
    for path in sorted(PROJECT.rglob("*.yml")):
        digest.update(str(path.relative_to(PROJECT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def train(out_dir: Path = MODELS) -> TrainedModel:
    """The bare model, trained now only if no model of these files is cached in `out_dir`."""
    model = out_dir / f"{NAME}-{fingerprint()}.tar.gz"
    if model.exists():
        return TrainedModel(model, None)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Another process may be training the same model: wait for it and take its result.
    with open(out_dir / f".train-{NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if model.exists():
            return TrainedModel(model, None)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".training-") as scratch:
            command = [str(RASA_BIN), "train", "--config", str(PROJECT / "config.yml"),
                       "--domain", str(PROJECT / "domain.yml"), "--data", str(PROJECT / "data"),
                       "--out", scratch, "--fixed-model-name", model.name.removesuffix(".tar.gz")]
            log = out_dir / f"train-{NAME}.log"
            started = time.monotonic()
            with open(log, "w") as fh:
                # Run from the scratch directory: Rasa writes nothing into the project itself.
                result = subprocess.run(command, cwd=scratch, env=rasa_env(), stdout=fh,
                                        stderr=subprocess.STDOUT, check=False, timeout=1800)
            built = Path(scratch) / model.name
            if result.returncode != 0 or not built.exists():
                raise RuntimeError(f"training the bare assistant failed (exit {result.returncode}); see {log}")
            os.replace(built, model)
            return TrainedModel(model, time.monotonic() - started)


@contextmanager
def bare_rasa(model: Path, log_file: Path, *, timeout: float = 300.0) -> Iterator[RunningRasa]:
    """The bare assistant served on 127.0.0.1 with its own credentials (REST) and empty endpoints, and the
    same environment as ours (one BLAS thread), stopped on leaving."""
    port = free_port()
    token = secrets.token_hex(16)  # hex: a leading "-" would read as an option
    url = f"http://127.0.0.1:{port}"
    command = [str(RASA_BIN), "run", "--model", str(model), "--enable-api", f"--auth-token={token}",
               "--interface", "127.0.0.1", "--port", str(port), "--credentials", str(PROJECT / "credentials.yml"),
               "--endpoints", str(PROJECT / "endpoints.yml")]

    def ready() -> bool:
        status = httpx.get(f"{url}/status", params={"token": token}, timeout=2)
        return status.status_code == 200 and bool(status.json().get("model_file"))

    log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with managed_process(command, rasa_env(), log_file) as process:
        wait_until_ready(process, ready, "the bare assistant", timeout)
        yield RunningRasa(url=url, token=token, process=process, startup_seconds=time.monotonic() - started)


def conversations(count: int, rng: random.Random) -> list[Conversation]:
    """`count` senders of their own; nobody verifies (the bare assistant has no residents)."""
    ids = rng.sample(range(100_000_000, 999_999_999), count)
    return [Conversation(f"bare:{chat}", "", "", MADE_UP_REFERENCE) for chat in ids]


async def _play(client: httpx.AsyncClient, conversation: Conversation, rng: random.Random,
                think: tuple[float, float], result: LoadResult) -> None:
    """Every step of SCRIPT, with phrasings picked as for ours (button taps as their payloads, which the
    REST channel reads as intents). The bare assistant cannot follow the script, so its answers are not
    checked: a turn is timed until Rasa answers, and only a failed request is an error."""
    for step in SCRIPT:
        if step.kind != SCRIPT[0].kind and think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))
        _, template = choose(step, rng)
        body: dict[str, Any] = {"sender": conversation.sender, "message": fill(template, conversation.reference)}
        started = time.perf_counter()
        try:
            response = await client.post(REST_WEBHOOK, json=body)
            response.raise_for_status()
            response.json()
        except httpx.TimeoutException:
            result.errors[f"timeout: {step.kind}"] += 1
            continue
        except (httpx.HTTPError, ValueError) as exc:
            result.errors[f"{type(exc).__name__}: {step.kind}"] += 1
            continue
        result.turns.append(Turn(step.kind, (time.perf_counter() - started) * 1000, True))


def run_conversations(rasa_url: str, name: str, chats: list[Conversation], *, concurrency: int,
                      think: tuple[float, float], seed: int, timeout: float = 60.0) -> LoadResult:
    return drive(rasa_url, name, chats, _play, concurrency=concurrency, think=think, seed=seed, timeout=timeout)
