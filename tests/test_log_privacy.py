"""Logs carry no names, phone numbers, addresses or message text, whatever happens."""

from __future__ import annotations

import logging

from repairs.logs import JsonFormatter


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
