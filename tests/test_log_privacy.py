"""Logs carry no names, phone numbers, addresses or message text, whatever happens."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

from evaluation.rasa_process import free_port, managed_process, wait_until_ready
from repairs.logs import JsonFormatter
from tests.conftest import SERVICE_HEADERS, SERVICE_TOKEN


def test_flows_leave_no_personal_data_in_logs(client, factory, service_headers, caplog):
    caplog.set_level(logging.DEBUG)
    res = factory.resident(name="Philippa Quorndon-Smythe", postcode="NW5 2TX", linked=False)
    secret_text = "my neighbour Derek at flat 9 keeps flooding my bathroom zq-marker"
    client.post(
        "/api/v1/residents/verify",
        headers=service_headers,
        json={
            "tenancy_reference": res.tenancy_reference,
            "postcode": "E1 6AN",
            "channel": "telegram",
            "channel_user_id": "4242",
        },
    )
    client.post(
        "/api/v1/residents/verify",
        headers=service_headers,
        json={
            "tenancy_reference": res.tenancy_reference,
            "postcode": "NW5 2TX",
            "channel": "telegram",
            "channel_user_id": "4242",
        },
    )
    headers = {**service_headers, "X-Resident-Channel": "telegram:4242", "Idempotency-Key": "p1"}
    client.post("/api/v1/tickets", headers=headers, json={"category": "plumbing", "description": secret_text})
    client.post(
        "/api/v1/tickets",
        headers={**headers, "Idempotency-Key": "p2"},
        json={"category": "plumbing", "description": secret_text + "\x00"},
    )
    logged = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for personal in ("Philippa", "Quorndon", "NW5 2TX", "NW52TX", "zq-marker", "Derek", res.tenancy_reference):
        assert personal not in logged


def test_json_formatter_keeps_extra_fields():
    record = logging.LogRecord("repairs", logging.INFO, __file__, 1, "ticket created", None, None)
    record.reference = "HR-2345AB"
    line = JsonFormatter().format(record)
    assert '"reference": "HR-2345AB"' in line and '"level": "info"' in line


def test_outgoing_request_urls_with_tokens_are_not_logged(capsys):
    # Rasa's API token travels as ?token=...; httpx logs request URLs at INFO.
    import httpx

    from repairs.logs import configure_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    try:
        configure_logging("INFO")
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
        with httpx.Client(transport=transport) as http:
            http.post("http://rasa.invalid/model/parse", params={"token": "tok-zq-secret"}, json={"text": "hi"})
        logging.getLogger("repairs.test").info("still logging")
        err = capsys.readouterr().err
        assert "still logging" in err
        assert "tok-zq-secret" not in err
    finally:
        root.handlers[:], level, httpx_level = saved
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(httpx_level)


# A database error, forced on the insert of a ticket whose description carries personal data. On PostgreSQL a
# CHECK constraint fails, whose error quotes the whole failing row ("Failing row contains (...)") even with the
# engine hiding bound parameters; on SQLite a trigger aborts the insert.
FORCE_FAILURE = {
    "postgresql": ("ALTER TABLE tickets ADD CONSTRAINT zz_forced_failure CHECK (description NOT LIKE '%zq-%') "
                   "NOT VALID", "ALTER TABLE tickets DROP CONSTRAINT IF EXISTS zz_forced_failure"),
    "sqlite": ("CREATE TRIGGER zz_forced_failure BEFORE INSERT ON tickets WHEN NEW.description LIKE '%zq-%' "
               "BEGIN SELECT RAISE(ABORT, 'forced failure'); END", "DROP TRIGGER IF EXISTS zz_forced_failure"),
}


@contextmanager
def forced_database_failure(engine: sa.Engine) -> Iterator[None]:
    create, drop = FORCE_FAILURE[engine.dialect.name]
    with engine.begin() as conn:
        conn.execute(sa.text(create))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(drop))


@contextmanager
def service_process(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`python -m repairs serve` as production runs it, its log (uvicorn's own lines too) in a file."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    env.update({"REPAIRS_DATABASE_URL": database_url, "REPAIRS_API_TOKEN": SERVICE_TOKEN,
                "REPAIRS_PHOTO_DIR": str(tmp_path / "photos"), "REPAIRS_PORT": str(port),
                "REPAIRS_SECRET_KEY": "test-secret-key-" + "y" * 20, "REPAIRS_LOG_LEVEL": "DEBUG",
                "REPAIRS_OUTBOX_SWEEP_SECONDS": "0"})
    log_file = tmp_path / "repairs.log"
    url = f"http://127.0.0.1:{port}"
    with managed_process([sys.executable, "-m", "repairs", "serve"], env, log_file) as process:
        wait_until_ready(process, lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200,
                         "repairs service", 60)
        yield url, log_file


def test_a_database_error_leaves_no_personal_data_in_the_service_log(backend, ctx, engine, factory, tmp_path):
    res = factory.resident(name="Philippa Quorndon-Smythe", postcode="NW5 2TX")
    secret_text = "Philippa Quorndon-Smythe on 07700 900461: water through the ceiling zq-marker"
    headers = {**SERVICE_HEADERS, "X-Resident-Channel": res.chat, "Idempotency-Key": "forced-1"}
    with service_process(ctx.settings.database_url, tmp_path) as (url, log_file), forced_database_failure(engine):
        answer = httpx.post(f"{url}/api/v1/tickets", headers=headers, timeout=30,
                            json={"category": "plumbing", "description": secret_text})
        # A caller's own request id is kept when it is a safe token; anything else is replaced.
        kept = httpx.post(f"{url}/api/v1/tickets", timeout=30,
                          headers={**headers, "Idempotency-Key": "forced-2", "X-Request-ID": "bot-4f2a9c01"},
                          json={"category": "plumbing", "description": secret_text})
        replaced = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "Philippa Quorndon 07700"}, timeout=5)
    logged = log_file.read_text(errors="replace")

    assert answer.status_code == 500, answer.text
    assert answer.json()["code"] == "internal_error"
    request_id = answer.headers["X-Request-ID"]
    assert answer.json()["request_id"] == request_id
    assert kept.status_code == 500 and kept.headers["X-Request-ID"] == "bot-4f2a9c01"
    assert replaced.headers["X-Request-ID"] != "Philippa Quorndon 07700"
    assert "Philippa" not in replaced.headers["X-Request-ID"]

    # Nothing of what the resident said is logged. uvicorn's own traceback of the error would quote it: the
    # service answers the error itself, so there is none.
    for personal in ("Philippa", "Quorndon", "07700", "900461", "zq-marker", "ceiling", "NW5"):
        assert personal not in logged, (personal, logged)
    assert "Traceback" not in logged and "Exception in ASGI application" not in logged
    # The failure is logged, with what an operator needs to find it.
    entries = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    failures = [e for e in entries if e.get("message") == "unexpected error"]
    assert [e["request_id"] for e in failures] == [request_id, "bot-4f2a9c01"], logged
    assert failures[0]["route"] == "/api/v1/tickets" and failures[0]["method"] == "POST"
    assert failures[0]["error_type"] in ("IntegrityError", "OperationalError")
    assert failures[0]["where"].startswith("repairs/"), failures[0]


def test_a_logged_exception_keeps_its_type_and_place_but_not_its_message():
    # Any log.exception anywhere (the bot's error handler, the delivery loop) goes through this formatter:
    # a message or a chained cause's message can quote a resident's words, so neither may be written.
    def insert_row() -> None:
        try:
            raise KeyError("Philippa Quorndon, NW5 2TX")
        except KeyError as inner:
            raise RuntimeError("insert failed for 07700 900123") from inner

    try:
        insert_row()
    except RuntimeError:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "handler failed", None, sys.exc_info())
    line = JsonFormatter().format(record)
    for personal in ("Philippa", "Quorndon", "NW5 2TX", "07700"):
        assert personal not in line
    error = json.loads(line)["error"]
    assert error["type"] == "RuntimeError"
    assert error["caused_by"] == ["KeyError"]
    assert any("in insert_row" in frame for frame in error["frames"])


def test_a_traceback_another_formatter_wrote_on_the_record_is_not_written_either():
    # logging's own formatters cache the whole traceback, message included, on the record (exc_text), and a
    # record sent through logging.handlers.SocketHandler arrives with that text and no exc_info. The JSON
    # library would write the cached text; ours writes nothing of it.
    try:
        raise KeyError("Philippa Quorndon, NW5 2TX")
    except KeyError:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "handler failed", None, sys.exc_info())
    assert "Philippa" in logging.Formatter().format(record)  # the plain formatter writes it, and caches it
    record.exc_info = None  # as SocketHandler.makePickle sends it
    line = JsonFormatter().format(record)
    assert "Philippa" not in line and "NW5 2TX" not in line and "Traceback" not in line
