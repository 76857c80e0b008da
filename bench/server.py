"""The real service as a subprocess (`python -m repairs serve`), and CPU accounting from /proc.

Every server started here is registered so it is stopped on normal exit, on an exception, on Ctrl-C
and on SIGTERM. Each runs in its own session (process group), so stopping it also stops its workers.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from repairs.settings import PROJECT_ROOT

_RUNNING: list[Server] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerFailed(RuntimeError):
    pass


class Server:
    def __init__(self, *, database_url: str, workers: int, api_token: str, photo_dir: Path, log_path: Path) -> None:
        self.database_url = database_url
        self.workers = workers
        self.api_token = api_token
        self.photo_dir = photo_dir
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "repairs", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", str(self.workers)]

    def start(self, timeout: float = 60.0) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update({
            "REPAIRS_DATABASE_URL": self.database_url,
            "REPAIRS_API_TOKEN": self.api_token,
            "REPAIRS_PHOTO_DIR": str(self.photo_dir),
            "REPAIRS_MIGRATE_ON_START": "false",
            "REPAIRS_DEMO_MODE": "false",
            "PYTHONUNBUFFERED": "1",
        })
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command, cwd=PROJECT_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        _RUNNING.append(self)
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServerFailed(f"server exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        self.stop()
        raise ServerFailed(f"server not healthy after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)  # our own session: the server and its workers
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if process is not None:
            # Workers can outlive a master that died first; the group id is still the master's pid.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self in _RUNNING:
            _RUNNING.remove(self)

    def pids(self) -> list[int]:
        return process_tree(self.process.pid) if self.process is not None else []


def stop_all() -> None:
    for server in list(_RUNNING):
        server.stop()


def _on_signal(signum: int, _frame: object) -> None:
    stop_all()
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    # SIGINT stays KeyboardInterrupt; the caller's finally and atexit stop the servers.


# -- CPU accounting ---------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(comm, ppid, utime+stime ticks) for a process, or None if it has gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    comm = raw[raw.index("(") + 1: raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return comm, int(fields[1]), int(fields[11]) + int(fields[12])


def _all_stats() -> dict[int, tuple[str, int, int]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                out[int(entry)] = stat
    return out


def process_tree(root: int) -> list[int]:
    stats = _all_stats()
    children: dict[int, list[int]] = {}
    for pid, (_comm, ppid, _ticks) in stats.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def machine_ticks() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts) - idle, sum(parts)


@dataclass
class CpuSnapshot:
    server: dict[int, int]
    postgres: dict[int, int]
    client: float
    machine_busy: int
    machine_total: int
    at: float


def snapshot(server: Server | None, postgres_pids: set[int] | None = None) -> CpuSnapshot:
    """CPU ticks so far of the server's process tree and of PostgreSQL (`postgres_pids` when given, e.g.
    the benchmark database's backends and the shared background processes; else every postgres process)."""
    stats = _all_stats()
    tree = set(server.pids()) if server is not None else set()
    busy, total = machine_ticks()
    return CpuSnapshot(
        server={pid: stats[pid][2] for pid in tree if pid in stats},
        postgres={pid: s[2] for pid, s in stats.items()
                  if s[0] == "postgres" and (postgres_pids is None or pid in postgres_pids)},
        client=time.process_time(),
        machine_busy=busy,
        machine_total=total,
        at=time.perf_counter(),
    )


@dataclass
class CpuUse:
    server_s: float
    postgres_s: float
    client_s: float
    machine_busy_pct: float  # of all cores
    wall_s: float

    def as_dict(self) -> dict[str, float]:
        return {"server_cpu_s": round(self.server_s, 3), "postgres_cpu_s": round(self.postgres_s, 3),
                "client_cpu_s": round(self.client_s, 3), "machine_busy_pct": round(self.machine_busy_pct, 1),
                "wall_s": round(self.wall_s, 3)}


def cpu_between(a: CpuSnapshot, b: CpuSnapshot) -> CpuUse:
    def delta(before: dict[int, int], after: dict[int, int]) -> float:
        return sum(t - before.get(pid, 0) for pid, t in after.items()) / _TICK

    total = b.machine_total - a.machine_total
    return CpuUse(
        server_s=delta(a.server, b.server),
        postgres_s=delta(a.postgres, b.postgres),
        client_s=b.client - a.client,
        machine_busy_pct=100.0 * (b.machine_busy - a.machine_busy) / total if total else 0.0,
        wall_s=b.at - a.at,
    )


def wait_for_quiet(max_wait: float, what: str, log: Callable[[str], None], threshold: float = 20.0) -> float:
    """Wait (up to max_wait seconds) until the machine is mostly idle; returns the last busy share seen.
    Other people's builds and tests on a shared machine would otherwise be measured as our latency."""
    deadline = time.monotonic() + max_wait
    while True:
        busy0, total0 = machine_ticks()
        time.sleep(2.0)
        busy1, total1 = machine_ticks()
        pct = 100.0 * (busy1 - busy0) / max(1, total1 - total0)
        if pct < threshold or time.monotonic() >= deadline:
            log(f"{what}: machine {pct:.0f}% busy before measuring"
                + ("" if pct < threshold else f" (still above {threshold:.0f}% after waiting {max_wait:.0f}s)"))
            return pct
