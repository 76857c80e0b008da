"""Action server benchmark: does one conversation's wait on the repairs service hold up the others? A report,
not a test.

The real action server (`python -m action_server`, Rasa's Python 3.10) against a stand-in repairs service that
answers every call after a fixed delay, as a busy service would. Each turn is Rasa's call to run
action_check_status (two service calls: who is this chat, then their open repairs), sent one at a time and
then many at once. With actions that block the event loop, turns at once queue behind each other's service
calls; with async actions they overlap. Nothing else runs (no Rasa, no database), so the figures say what the
action server does with waiting, not how busy the machine is.

    python -m bench.action_server_bench                       # 50 ms a service call; 1 and 20 at once
    python -m bench.action_server_bench --service-ms 100 --turns 200 --out var/bench/action-server.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import percentile
from bench.proc_usage import cpu_delta, cpu_snapshot
from bench.server import process_tree
from evaluation.rasa_process import ROOT, free_port, managed_process, rasa_env, wait_until_ready
from tests.assistant_stack import action_server_command


def stand_in(delay: float) -> ThreadingHTTPServer:
    """The repairs service's two answers action_check_status needs, each after `delay` seconds."""

    class Service(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay)
            doc: dict[str, Any] = ({"id": 1, "first_name": "Sam", "tenure": "tenant"}
                                   if self.path.startswith("/api/v1/residents/me") else {"items": []})
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    # A listen queue of socketserver's default 5 would drop connections 20 turns open at once (retried a second
    # later by the kernel): the stand-in's limit, not the action server's.
    Server = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 256, "daemon_threads": True})
    server = Server(("127.0.0.1", 0), Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def call(sender: str) -> dict[str, Any]:
    latest = {"text": "how are my repairs doing", "intent": {"name": "check_status", "confidence": 0.99},
              "entities": [], "message_id": uuid.uuid4().hex}
    tracker = {"sender_id": sender, "slots": {}, "latest_message": latest, "paused": False,
               "events": [{"event": "user", "text": latest["text"], "parse_data": latest}],
               "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"}
    return {"next_action": "action_check_status", "sender_id": sender, "tracker": tracker, "domain": {},
            "version": "3.6.21"}


async def turns(url: str, token: str, *, count: int, concurrency: int) -> tuple[list[float], int]:
    """Latencies in ms of `count` turns, `concurrency` at a time, and how many failed."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    failed = 0

    async def one(http: httpx.AsyncClient, n: int) -> None:
        nonlocal failed
        async with gate:
            started = time.perf_counter()
            r = await http.post(f"{url}/webhook", json=call(f"telegram:{900000 + n}"))
            latencies.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200 or "no open repairs" not in r.text:
                failed += 1

    async with httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(max_connections=concurrency)) as http:
        await asyncio.gather(*(one(http, n) for n in range(count)))
    return latencies, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service-ms", type=float, default=50.0, help="the stand-in's delay per call")
    parser.add_argument("--turns", type=int, default=100, help="turns per scenario")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "action-server.md")
    args = parser.parse_args(argv)
    service = stand_in(args.service_ms / 1000)
    token, port = secrets.token_hex(32), free_port()
    env = rasa_env()
    env.update({"REPAIRS_API_URL": f"http://127.0.0.1:{service.server_address[1]}", "REPAIRS_API_TOKEN": "b" * 32,
                "ACTION_SERVER_TOKEN": token, "ACTION_SERVER_PORT": str(port)})
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="action-bench-") as scratch, \
                managed_process(action_server_command(), env, Path(scratch) / "actions.log") as process:
            url = f"http://127.0.0.1:{port}"
            wait_until_ready(process, lambda: httpx.get(f"{url}/health", timeout=2).status_code < 500,
                             "action server", 120)
            asyncio.run(turns(url, token, count=5, concurrency=1))  # warm-up: imports, first connections
            for concurrency in (1, args.concurrency):
                cpu = cpu_snapshot(process_tree(process.pid))
                started = time.perf_counter()
                latencies, failed = asyncio.run(turns(url, token, count=args.turns, concurrency=concurrency))
                wall = time.perf_counter() - started
                cpu_ms = cpu_delta(cpu, cpu_snapshot(process_tree(process.pid))) * 1000 / len(latencies)
                rows.append((concurrency, len(latencies), failed, len(latencies) / wall,
                             percentile(latencies, 50), percentile(latencies, 95), max(latencies), cpu_ms))
    finally:
        service.shutdown()
    lines = [
        "# Action server: turns waiting on a slow repairs service",
        "",
        f"action_check_status (two service calls), the stand-in answering each after {args.service_ms:.0f} ms; "
        f"{args.turns} turns per scenario.",
        "",
        "| turns at once | turns | failed | turns/s | p50 ms | p95 ms | max ms | action server CPU ms a turn |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {c} | {n} | {f} | {tps:.1f} | {p50:.0f} | {p95:.0f} | {top:.0f} | {cpu:.1f} |"
          for c, n, f, tps, p50, p95, top, cpu in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
