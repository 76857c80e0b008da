"""The shape every stand-in of the repairs service in the tests shares: a handler that answers JSON, quietly.

Each test's handler says only what it answers (its status, its document, any extra header); the writing of the
answer and the silenced request log live here once.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class JsonAnswers(BaseHTTPRequestHandler):
    def answer(self, doc: dict[str, Any], status: int = 200, *, content_type: str = "application/json",
               headers: dict[str, str] | None = None) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass
