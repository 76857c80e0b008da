"""The outbox claim narrowed to one chat (`external_id`), which web chat uses to pull a resident's updates
when their page asks: only that resident's rows, handed to the chat that asked, other residents' and
other channels' rows left alone; and the claim without it behaves as before."""

from __future__ import annotations

import uuid
from datetime import timedelta

from repairs.database import transaction, utcnow
from repairs.residents.models import ChannelIdentity
from tests.conftest import SERVICE_HEADERS

CLAIM = "/api/v1/outbox/claim"


def link(ctx, resident_id: int, channel: str, external_id: str, *, minutes_ago: int = 0) -> None:
    with transaction(ctx.sessions) as s:
        s.add(ChannelIdentity(resident_id=resident_id, channel=channel, external_id=external_id,
                              linked_at=utcnow() - timedelta(minutes=minutes_ago)))


def report(client, res, channel: str) -> str:
    body = {"category": "plumbing", "description": "The kitchen tap drips all the time", "location": "kitchen",
            "channel": channel}
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 201, r.text
    return r.json()["reference"]


def triage(client, officer, ref: str) -> None:
    r = client.post(f"/api/v1/officer/tickets/{ref}/status", headers=officer.headers, json={"status": "triaged"})
    assert r.status_code == 200, r.text


def claim(client, **body) -> list[dict]:
    r = client.post(CLAIM, headers=SERVICE_HEADERS, json={"limit": 50, "lease_seconds": 60, **body})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_chat_claims_only_its_own_residents_messages(client, factory, ctx):
    officer = factory.officer()
    mine, other = factory.resident(), factory.resident()
    link(ctx, mine.id, "web", "browser-mine")
    link(ctx, other.id, "web", "browser-other")
    mine_ref, other_ref = report(client, mine, "web"), report(client, other, "web")
    triage(client, officer, mine_ref)
    triage(client, officer, other_ref)

    assert claim(client, channels=["web"], external_id="browser-unknown") == []
    items = claim(client, channels=["web"], external_id="browser-mine")
    assert items and {i["external_id"] for i in items} == {"browser-mine"}
    assert all(i["channel"] == "web" for i in items)
    assert all(mine_ref in i["text"] or mine_ref in str(i["data"]) for i in items), items
    # Leased: the same chat asking again straight away gets nothing twice.
    assert claim(client, channels=["web"], external_id="browser-mine") == []
    # The other resident's rows were left for them.
    others = claim(client, channels=["web"], external_id="browser-other")
    assert others and all(other_ref in i["text"] or other_ref in str(i["data"]) for i in others)


def test_every_browser_of_the_resident_can_pull_not_only_the_newest(client, factory, ctx):
    """A resident verified on a laptop last week and on a phone today: opening the laptop's page shows the
    update there (returned with the laptop's id, not the phone's)."""
    officer, res = factory.officer(), factory.resident()
    link(ctx, res.id, "web", "laptop", minutes_ago=60 * 24 * 7)
    link(ctx, res.id, "web", "phone")
    triage(client, officer, report(client, res, "web"))
    items = claim(client, channels=["web"], external_id="laptop")
    assert items and {i["external_id"] for i in items} == {"laptop"}


def test_a_chat_never_takes_rows_meant_for_another_channel(client, factory, ctx):
    officer, res = factory.officer(), factory.resident()  # linked on telegram by the factory
    link(ctx, res.id, "web", "browser-1", minutes_ago=5)
    triage(client, officer, report(client, res, "telegram"))
    assert claim(client, channels=["web"], external_id="browser-1") == []
    [*items] = claim(client, channels=["telegram"])
    assert items and all(i["channel"] == "telegram" for i in items)


def test_the_plain_claim_is_unchanged_and_a_chat_needs_exactly_one_channel(client, factory, ctx):
    officer, res = factory.officer(), factory.resident()
    link(ctx, res.id, "web", "browser-2")
    triage(client, officer, report(client, res, "web"))
    for body in ({"channels": ["web", "telegram"], "external_id": "browser-2"},
                 {"channels": ["web"], "external_id": ""}, {"channels": ["web"], "external_id": "x" * 129}):
        r = client.post(CLAIM, headers=SERVICE_HEADERS, json=body)
        assert r.status_code == 422, body
    items = claim(client, channels=["web"])
    assert items and {i["external_id"] for i in items} == {"browser-2"}
