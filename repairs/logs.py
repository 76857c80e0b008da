"""Structured (JSON) logs. Callers log ids and codes, never names, phone numbers, addresses or message text.

An exception is logged as its type and its frames (file, line, function), never its message or its chained
causes' messages: those are where personal data hides on the error path (a database error quotes the row it
refused, a KeyError its key, an HTTP error the URL with a reference in it). The frames say where it happened,
which is what an operator needs; the request id on the line finds the rest.
"""

from __future__ import annotations

import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

# The fields every line starts with, in this order; `at` is filled in by add_fields.
FIELDS = ("at", "levelname", "name", "message")


class JsonFormatter(LibraryJsonFormatter):
    """python-json-logger's formatter (fields, extras, serialising) with our field names, and our rule for
    exceptions: `error` is describe_exception's type-and-frames, never the formatted traceback the library
    would write, which ends with the exception's message."""

    def __init__(self) -> None:
        super().__init__(FIELDS, rename_fields={"levelname": "level", "name": "logger", "exc_info": "error"},
                         json_default=str)

    def format(self, record: logging.LogRecord) -> str:
        # Without exc_info the library writes `exc_text`: the whole traceback, message included, as another
        # formatter cached it (a record from logging.handlers.SocketHandler comes so). logging's own formatters
        # remake it when it is empty.
        record.exc_text = None
        return super().format(record)

    def formatException(self, ei: Any) -> Any:
        return describe_exception(ei[1] if ei else None)

    def formatStack(self, stack_info: str) -> Any:
        return stack_info.splitlines()

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["at"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        log_data["level"] = record.levelname.lower()


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
