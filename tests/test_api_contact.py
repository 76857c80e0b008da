"""Asking for a person: the council's numbers, and callback requests recorded once."""

from __future__ import annotations

from sqlalchemy import func, select

from repairs.database import transaction
from repairs.tickets.models import CallbackRequest


def test_council_contact_details(client, service_headers):
    body = client.get("/api/v1/council", headers=service_headers).json()
    assert body["repairs_phone"] and body["opening_hours"] and body["gas_emergency_phone"] == "0800 111 999"


def test_callback_is_recorded_once_per_key(client, factory, ctx):
    res = factory.resident()
    headers = {**res.headers, "Idempotency-Key": "cb-1"}
    first = client.post("/api/v1/callbacks", headers=headers, json={"reason": "want to talk about my boiler"})
    again = client.post("/api/v1/callbacks", headers=headers, json={"reason": "want to talk about my boiler"})
    assert first.status_code == again.status_code == 201
    assert "call you back" in first.json()["message"]
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(func.count()).select_from(CallbackRequest)) == 1


def test_callback_needs_a_verified_chat(client, service_headers):
    r = client.post("/api/v1/callbacks", headers={**service_headers, "X-Resident-Channel": "web:nobody",
                                                  "Idempotency-Key": "x"}, json={"reason": "hello"})
    assert r.status_code == 403
