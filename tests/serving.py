"""An ASGI app behind a real uvicorn server in a thread of the test process, on a local port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from evaluation.rasa_process import free_port


@contextmanager
def serving(app: Any, *, port: int | None = None, **options: Any) -> Iterator[str]:
    """Serve `app` (uvicorn `options` as given: proxy headers and the like) until the block ends; yields its
    base URL once the server is accepting connections."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
