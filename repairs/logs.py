"""Structured (JSON) logs. Callers log ids and codes, never names, phone numbers, addresses or message text.

An exception is logged as its type and its frames (file, line, function), never its message or its chained
causes' messages: those are where personal data hides on the error path (a database error quotes the row it
refused, a KeyError its key, an HTTP error the URL with a reference in it). The frames say where it happened,
which is what an operator needs; the request id on the line finds the rest.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = describe_exception(record.exc_info[1])
        return json.dumps(entry, default=str)


def describe_exception(error: BaseException | None) -> dict[str, object]:
    """An exception as its type and frames, and the types of what caused it: no message anywhere."""
    if error is None:
        return {"type": "None"}
    frames = [f"{frame.filename}:{frame.lineno} in {frame.name}"
              for frame in traceback.extract_tb(error.__traceback__)]
    causes: list[str] = []
    seen = {id(error)}
    cause = error.__cause__ or error.__context__
    while cause is not None and id(cause) not in seen and len(causes) < 5:
        seen.add(id(cause))
        causes.append(type(cause).__qualname__)
        cause = cause.__cause__ or cause.__context__
    described: dict[str, object] = {"type": type(error).__qualname__, "frames": frames[-12:]}
    if causes:
        described["caused_by"] = causes
    return described


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx and httpcore log every request URL at INFO; Rasa takes its API token only as a query
    # parameter, so those lines would put a secret in the logs.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
