"""A small process supervisor for `make demo`: start the parts together, print each one's URL as it
answers, and stop everything on Ctrl-C, SIGTERM, or when any part dies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived: stop what has started and exit cleanly."""


@dataclass
class Part:
    name: str
    command: list[str]
    ready: Callable[[], bool]
    show_url: str
    env: Mapping[str, str] | None = None  # the child's whole environment; None inherits ours
    ready_timeout: float = 120.0
    cwd: Path | None = None
    log_file: Path | None = None


class Supervisor:
    def __init__(self) -> None:
        self.running: list[tuple[Part, subprocess.Popen[bytes]]] = []
        self._stopping = False
        self._raise_on_signal = False

    def start(self, *parts: Part) -> None:
        """Launch the parts at once (they load in parallel), then wait until each answers."""
        started = time.monotonic()
        waiting = {part.name: (part, self._launch(part)) for part in parts}
        while waiting:
            if self._stopping:
                raise Interrupted
            for name, (part, proc) in list(waiting.items()):
                elapsed = time.monotonic() - started
                if proc.poll() is not None:
                    raise RuntimeError(f"{part.name} exited with code {proc.returncode} while starting"
                                       + (f"; see {part.log_file}" if part.log_file else ""))
                if part.ready():
                    print(f"  ✓ {part.name:<15} {part.show_url}   (ready in {elapsed:.1f}s)", flush=True)
                    del waiting[name]
                elif elapsed > part.ready_timeout:
                    raise RuntimeError(f"{part.name} did not become ready within {part.ready_timeout:.0f}s"
                                       + (f"; see {part.log_file}" if part.log_file else ""))
            time.sleep(0.25)

    def _launch(self, part: Part) -> subprocess.Popen[bytes]:
        out = open(part.log_file, "ab") if part.log_file else None  # noqa: SIM115 - lives as long as the child
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own fixed commands
                part.command,
                env=dict(os.environ if part.env is None else part.env),
                cwd=part.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out or None,
                stderr=subprocess.STDOUT if out else None,
                # Its own session: a terminal's Ctrl-C reaches only us, and we stop each child's whole
                # process group in order (Rasa and uvicorn start children of their own).
                start_new_session=True,
            )
        finally:
            if out:
                out.close()  # the child has its own copy of the descriptor
        self.running.append((part, proc))
        return proc

    def wait(self) -> int:
        """Block until a part exits or we are told to stop; return an exit code."""
        while not self._stopping:
            for part, proc in self.running:
                if proc.poll() is not None:
                    print(f"{part.name} stopped (exit code {proc.returncode}); stopping the rest."
                          + (f" See {part.log_file}" if part.log_file else ""), file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0

    def stop(self) -> None:
        self._stopping = True
        for _part, proc in reversed(self.running):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _part, proc in self.running:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.running.clear()

    def install_signal_handlers(self) -> None:
        """Ctrl-C and SIGTERM ask for a clean stop. Inside `interruptible()` they also break out of
        blocking work (training) at once; elsewhere the loops above notice the flag, so a signal never
        lands between starting a child and recording it."""

        def _handler(signum: int, _frame: FrameType | None) -> None:
            if self._stopping:
                return  # a second Ctrl-C while stopping: keep stopping in order
            self._stopping = True
            if self._raise_on_signal:
                raise Interrupted

        signal.signal(signal.SIGINT, _handler)
        signal.signal(signal.SIGTERM, _handler)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        if self._stopping:
            raise Interrupted
        self._raise_on_signal = True
        try:
            yield
        finally:
            self._raise_on_signal = False


def answers(url: str, *, params: Mapping[str, str] | None = None,
            accept: Callable[[httpx.Response], bool] | None = None) -> Callable[[], bool]:
    """A readiness check: `url` answers with 200 (and passes `accept`, when given)."""

    def ready() -> bool:
        try:
            response = httpx.get(url, params=params, timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and (accept is None or accept(response))

    return ready
