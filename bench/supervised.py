"""Processes kept running as compose's `restart: unless-stopped` keeps containers: a part that exits is
started again after a back-off (1 s, doubling to 30 s, back to 1 s once it has stayed up a minute), and each
exit and restart is logged. Used by `make cluster` and `make drills` (bench/cluster.py).

Every part runs in its own session, so a stop (or a drill's kill -9) reaches the whole process group: Rasa
and uvicorn start children of their own, and a child left holding the port would keep a restart from
binding it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0  # up this long, the next crash starts the back-off again at FIRST_BACKOFF_S


@dataclass
class Part:
    name: str  # e.g. "repairs-1"
    kind: str  # e.g. "repairs"
    command: list[str]
    env: dict[str, str]
    log_file: Path
    health_url: str | None  # answers 200 when the part is ready; None: running is ready (or `probe` says)
    cwd: Path | None = None
    # Readiness for a part with no HTTP health page (PostgreSQL, RabbitMQ): True once it takes work.
    probe: Callable[[], bool] | None = None
    user: str | None = None  # run as this user (PostgreSQL refuses to run as root)
    ready_timeout: float = 120.0
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = FIRST_BACKOFF_S
    restart_due: float | None = None
    exits: list[tuple[float, int]] = field(default_factory=list)  # (time.monotonic(), exit code)

    def healthy(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            return False
        if self.probe is not None:
            return self.probe()
        if self.health_url is None:
            return True
        try:
            return httpx.get(self.health_url, timeout=2, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False


class Supervisor:
    def __init__(self, say: Callable[[str], None]) -> None:
        self.parts: dict[str, Part] = {}
        self.say = say
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._held: set[str] = set()  # kinds whose exits are not restarted for now (a drill's outage)

    # -- starting -------------------------------------------------------------------------------------
    def _launch(self, part: Part) -> None:
        part.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(part.log_file, "ab") as out:
            part.process = subprocess.Popen(
                part.command, env=part.env, cwd=part.cwd, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, user=part.user)
        part.started_at = time.monotonic()
        part.restart_due = None

    def start(self, *parts: Part) -> None:
        """Launch the parts together (they load in parallel) and wait until each is ready."""
        for part in parts:
            self.parts[part.name] = part
            self._launch(part)
        waiting = list(parts)
        started = time.monotonic()
        while waiting:
            if self._stopping.is_set():
                raise InterruptedError
            for part in list(waiting):
                assert part.process is not None
                if part.process.poll() is not None:
                    raise RuntimeError(f"{part.name} exited with code {part.process.returncode} while starting; "
                                       f"see {part.log_file}")
                if part.healthy():
                    self.say(f"  ready: {part.name} ({time.monotonic() - started:.1f}s)")
                    waiting.remove(part)
                elif time.monotonic() - started > part.ready_timeout:
                    raise RuntimeError(f"{part.name} was not ready within {part.ready_timeout:.0f}s; "
                                       f"see {part.log_file}")
            time.sleep(0.3)

    def watch(self) -> None:
        """Restart parts that exit, in a background thread, until stop()."""
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            with self._lock:
                for part in self.parts.values():
                    self._check(part)

    def _check(self, part: Part) -> None:
        now = time.monotonic()
        if part.process is None:
            return
        code = part.process.poll()
        if code is None:
            if now - part.started_at > STABLE_AFTER_S:
                part.backoff = FIRST_BACKOFF_S
            return
        if part.restart_due is None:
            part.exits.append((now, code))
            part.restart_due = now + part.backoff
            self.say(f"{part.name} exited (code {code}); restarting in {part.backoff:.0f}s (log: {part.log_file})")
            part.backoff = min(part.backoff * 2, MAX_BACKOFF_S)
            _kill_group(part.process, signal.SIGKILL)  # children it left behind would hold its port
        elif now >= part.restart_due and part.kind not in self._held:
            part.restarts += 1
            self._launch(part)
            self.say(f"{part.name} restarted (restart {part.restarts})")

    # -- drills -----------------------------------------------------------------------------------------
    def signal_part(self, name: str, signum: int, *, group: bool = True) -> None:
        """Send `signum` to one part (its whole process group by default), as a drill does."""
        with self._lock:
            process = self.parts[name].process
            assert process is not None
            if group:
                _kill_group(process, signum)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signum)

    @contextlib.contextmanager
    def held(self, kind: str) -> Iterator[None]:
        """Within this block, parts of `kind` that exit stay down; restarted (after their back-off) after."""
        with self._lock:
            self._held.add(kind)
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(kind)

    def pid(self, name: str) -> int:
        process = self.parts[name].process
        assert process is not None
        return process.pid

    # -- stopping ---------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every part; a second call does nothing (the cluster stops its parts before removing their
        data, and again on the way out)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            running = [p.process for p in reversed(self.parts.values()) if p.process is not None]
            for process in running:
                _kill_group(process, signal.SIGCONT)  # a drill may have left one stopped
                _kill_group(process, signal.SIGTERM)
            deadline = time.monotonic() + 20
            for process in running:
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    _kill_group(process, signal.SIGKILL)
                    process.wait()


def _kill_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
