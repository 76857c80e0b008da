"""A small process supervisor for `make demo`: start each part, wait until it answers, print its URL,
and stop everything on Ctrl-C, SIGTERM, or when any part dies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Part:
    name: str
    command: list[str]
    ready_url: str
    show_url: str
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 120.0
    cwd: Path | None = None
    log_file: Path | None = None


class Supervisor:
    def __init__(self) -> None:
        self.running: list[tuple[Part, subprocess.Popen[bytes]]] = []
        self._stopping = False

    def start(self, part: Part) -> None:
        env = {**os.environ, **part.env}
        out = open(part.log_file, "ab") if part.log_file else None  # noqa: SIM115 - lives as long as the child
        proc = subprocess.Popen(  # noqa: S603 - our own fixed commands
            part.command,
            env=env,
            cwd=part.cwd,
            stdout=out or None,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        self.running.append((part, proc))
        started = time.monotonic()
        while time.monotonic() - started < part.ready_timeout:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{part.name} exited with code {proc.returncode} while starting"
                    + (f"; see {part.log_file}" if part.log_file else "")
                )
            if _answers(part.ready_url):
                print(f"  ✓ {part.name:<18} {part.show_url}   (ready in {time.monotonic() - started:.1f}s)", flush=True)
                return
            time.sleep(0.25)
        raise RuntimeError(f"{part.name} did not become ready within {part.ready_timeout:.0f}s")

    def wait(self) -> int:
        """Block until a part exits or we are told to stop; return an exit code."""
        while not self._stopping:
            for part, proc in self.running:
                if proc.poll() is not None:
                    print(f"{part.name} stopped (exit code {proc.returncode}); stopping the rest.", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0

    def stop(self) -> None:
        self._stopping = True
        for _part, proc in reversed(self.running):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _part, proc in self.running:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def install_signal_handlers(self) -> None:
        def _handler(signum: int, _frame: object) -> None:
            self._stopping = True

        signal.signal(signal.SIGINT, _handler)
        signal.signal(signal.SIGTERM, _handler)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL we built
            return bool(response.status < 500)
    except (urllib.error.URLError, OSError, ValueError):
        return False
