"""Memory and CPU of process trees, read from /proc (psutil is not in the environment).

RSS is what was asked for, but it counts a page shared by a parent and its forked workers once in
each: PSS (proportional set size) splits shared pages between the processes that map them, so the
PSS of several processes adds up to what they really occupy together.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.server import process_tree

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Memory:
    processes: int
    rss_mb: float
    pss_mb: float
    peak_rss_mb: float  # the largest any one process reached (VmHWM), summed over the tree

    def as_dict(self) -> dict[str, float]:
        return {"processes": self.processes, "rss_mb": round(self.rss_mb, 1), "pss_mb": round(self.pss_mb, 1),
                "peak_rss_mb": round(self.peak_rss_mb, 1)}


def _kib(path: Path, keys: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in path.read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in keys:
                out[name] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return out


def memory(pids: list[int]) -> Memory:
    rss = pss = hwm = 0
    alive = 0
    for pid in pids:
        status = _kib(Path(f"/proc/{pid}/status"), ("VmRSS", "VmHWM"))
        if not status:
            continue
        alive += 1
        rss += status.get("VmRSS", 0)
        hwm += status.get("VmHWM", 0)
        pss += _kib(Path(f"/proc/{pid}/smaps_rollup"), ("Pss",)).get("Pss", 0)
    return Memory(alive, rss / 1024, pss / 1024, hwm / 1024)


def tree_memory(root: int) -> Memory:
    return memory(process_tree(root))


def cpu_snapshot(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds so far of each of these processes that is still running."""
    out: dict[int, float] = {}
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        out[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two snapshots; a process that started in between counts from zero
    (one that ended in between is lost: the servers measured here keep their processes)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def pids_named(name: str) -> list[int]:
    """Processes whose command name is exactly `name` (e.g. the shared redis-server)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    return found
