"""Identity checks: linking a chat to a resident, throttling, and forgetting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from repairs.database import transaction, utcnow
from repairs.residents.models import Resident, Tenancy, Tenure


def _verify(client, service_headers, ref, postcode, chat="555"):
    return client.post(
        "/api/v1/residents/verify",
        headers=service_headers,
        json={"tenancy_reference": ref, "postcode": postcode, "channel": "telegram", "channel_user_id": chat},
    )


def test_verify_links_the_chat_and_remembers_it(client, factory, service_headers):
    res = factory.resident(linked=False, postcode="NW5 2TX", name="Amina Okafor")
    # Residents type postcodes and references loosely.
    r = _verify(client, service_headers, res.tenancy_reference.lower(), "nw52tx", chat="777")
    assert r.status_code == 200, r.text
    assert r.json()["first_name"] == "Amina"
    assert r.json()["tenure"] == "tenant"
    me = client.get("/api/v1/residents/me", headers={**service_headers, "X-Resident-Channel": "telegram:777"})
    assert me.status_code == 200
    assert me.json()["property"]["postcode"] == "NW5 2TX"


def test_wrong_postcode_and_unknown_reference_answer_the_same(client, factory, service_headers):
    res = factory.resident(linked=False)
    wrong_postcode = _verify(client, service_headers, res.tenancy_reference, "E1 6AN", chat="1")
    unknown_ref = _verify(client, service_headers, "T-999999", res.postcode, chat="2")
    assert wrong_postcode.status_code == unknown_ref.status_code == 401
    strip = lambda body: {k: v for k, v in body.items() if k != "instance"}  # noqa: E731
    assert strip(wrong_postcode.json()) == strip(unknown_ref.json())
    assert wrong_postcode.headers["content-type"].startswith("application/problem+json")


def test_repeated_failures_are_throttled_even_with_right_details(client, factory, service_headers):
    res = factory.resident(linked=False)
    for _ in range(5):
        assert _verify(client, service_headers, res.tenancy_reference, "E1 6AN", chat="42").status_code == 401
    blocked = _verify(client, service_headers, res.tenancy_reference, res.postcode, chat="42")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


def test_guessing_one_reference_from_many_chats_is_throttled(client, factory, service_headers):
    res = factory.resident(linked=False)
    for chat in range(5):
        _verify(client, service_headers, res.tenancy_reference, "E1 6AN", chat=f"c{chat}")
    assert _verify(client, service_headers, res.tenancy_reference, res.postcode, chat="fresh").status_code == 429


def test_verify_needs_the_service_token(client, factory):
    res = factory.resident(linked=False)
    officer = factory.officer()
    body = {
        "tenancy_reference": res.tenancy_reference,
        "postcode": res.postcode,
        "channel": "telegram",
        "channel_user_id": "9",
    }
    assert client.post("/api/v1/residents/verify", json=body).status_code == 401
    assert (
        client.post("/api/v1/residents/verify", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    assert client.post("/api/v1/residents/verify", json=body, headers=officer.headers).status_code == 403


def test_forget_me_unlinks_the_chat(client, factory, service_headers):
    res = factory.resident()
    assert client.get("/api/v1/residents/me", headers=res.headers).status_code == 200
    r = client.delete("/api/v1/residents/me/identity", headers=res.headers)
    assert r.status_code == 204
    again = client.get("/api/v1/residents/me", headers=res.headers)
    assert again.status_code == 403
    assert again.json()["code"] == "not_verified"


def test_unlinked_chat_cannot_act_as_a_resident(client, service_headers):
    r = client.get("/api/v1/tickets", headers={**service_headers, "X-Resident-Channel": "telegram:123456"})
    assert r.status_code == 403
    bad = client.get("/api/v1/tickets", headers={**service_headers, "X-Resident-Channel": "carrier-pigeon:1"})
    assert bad.status_code == 400


def test_responsibility_answers_whose_repair_it_is(client, factory):
    leaseholder = factory.resident(tenure=Tenure.LEASEHOLDER)
    inside = client.post(
        "/api/v1/responsibility",
        headers=leaseholder.headers,
        json={"category": "fittings", "location_type": "in_home", "text": "kitchen cupboard broken"},
    )
    assert inside.status_code == 200
    assert inside.json()["responsible"] == "resident"
    assert inside.json()["reason"]
    communal = client.post(
        "/api/v1/responsibility",
        headers=leaseholder.headers,
        json={"category": "lifts", "location_type": "communal", "text": "lift broken"},
    )
    assert communal.json()["responsible"] == "council"
    tenant = factory.resident()
    mine = client.post(
        "/api/v1/responsibility",
        headers=tenant.headers,
        json={"category": "fittings", "location_type": "in_home", "text": "kitchen cupboard broken"},
    )
    assert mine.json()["responsible"] == "council"


def _end_tenancy(ctx, res, on: date) -> None:
    with transaction(ctx.sessions) as s:
        s.get(Tenancy, s.get(Resident, res.id).tenancy_id).end_date = on


def test_a_tenancy_verifies_to_the_end_of_its_last_day_and_not_after(awkward_day, client, ctx, factory,
                                                                      service_headers):
    res = factory.resident(linked=False)
    today = ctx.policy.calendar.local_date(utcnow())
    _end_tenancy(ctx, res, today)
    assert _verify(client, service_headers, res.tenancy_reference, res.postcode, chat="1").status_code == 200
    _end_tenancy(ctx, res, today - timedelta(days=1))
    assert _verify(client, service_headers, res.tenancy_reference, res.postcode, chat="2").status_code == 401


def test_a_tenancy_ended_yesterday_in_london_does_not_verify_while_utc_still_has_that_date(
    client, ctx, factory, service_headers, time_machine
):
    # 00:30 on Friday 16 July in London is 23:30 on Thursday 15th in UTC: the tenancy ended on the 15th.
    time_machine.move_to(datetime(2027, 7, 15, 23, 30, tzinfo=UTC), tick=True)
    res = factory.resident(linked=False)
    _end_tenancy(ctx, res, date(2027, 7, 15))
    r = _verify(client, service_headers, res.tenancy_reference, res.postcode)
    assert r.status_code == 401, r.text
