"""`make demo` runs non-interactively, serves, and Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_starts_serves_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    env.update(
        {
            "CI": "true",
            "DEMO_VAR_DIR": str(tmp_path / "var"),
            "REPAIRS_PORT": str(port),
            "REPAIRS_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'demo.db'}",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "repairs.demo.run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Service token for the API" in line:
                break
        output = "".join(lines)
        assert "repairs service" in output and f":{port}/docs" in output, output
        assert "T-1000" in output  # the demo residents to try
        token = (tmp_path / "var" / "repairs-api-token").read_text().strip()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        categories = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/categories", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert categories.status_code == 200 and len(categories.json()) == 15
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the service is still listening after Ctrl-C"
