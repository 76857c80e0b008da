"""Open311 GeoReport v2: the service list, reports from FixMyStreet-style clients, and what is shared back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from repairs.app import create_app
from repairs.auth.models import ApiKey
from repairs.auth.secrets import digest
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.open311.routes import router
from repairs.residents.models import Property
from repairs.tickets.models import Status, Ticket, TicketEvent

BASE = "/open311/v2"
KEY = "fms-test-key-" + "k" * 24
TAXONOMY = [
    "plumbing", "heating", "electrical", "gas", "damp_mould", "roofing", "doors_windows", "fittings",
    "walls_floors", "pests", "lifts", "communal", "external", "fire_safety", "other",
]


@pytest.fixture
def o311(ctx: ServiceContext) -> Iterator[TestClient]:
    app = create_app(ctx)
    if f"{BASE}/services.{{fmt}}" not in [getattr(r, "path", None) for r in app.routes]:
        app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api_key(ctx: ServiceContext) -> str:
    with transaction(ctx.sessions) as s:
        s.add(ApiKey(name="fixmystreet", key_hash=digest(KEY)))
    return KEY


def report(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "api_key": KEY,
        "service_code": "communal",
        "lat": "51.5390",
        "long": "-0.1426",
        "description": "The stairwell light on the second floor of Alder House is out.",
        "first_name": "Robin",
        "last_name": "Publicreporter",
        "email": "robin@example.org",
        "phone": "07700 900123",
        "attribute[location_type]": "communal",
        "attribute[location]": "stairwell",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def xml_root(response: Any) -> ET.Element:
    assert response.headers["content-type"].startswith("application/xml"), response.headers
    return ET.fromstring(response.content)  # raises if not well-formed


def ticket_count(ctx: ServiceContext) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(select(func.count(Ticket.id))) or 0


# -- services -------------------------------------------------------------------------------------------


def test_services_json_lists_exactly_the_taxonomy(o311):
    r = o311.get(f"{BASE}/services.json")
    assert r.status_code == 200, r.text
    services = r.json()
    assert [s["service_code"] for s in services] == TAXONOMY
    for s in services:
        assert s["type"] == "realtime"
        assert s["metadata"] is True
        assert s["service_name"] and s["description"] and s["keywords"] and s["group"]
    plumbing = services[0]
    assert plumbing["service_name"] == "Plumbing and leaks"
    assert plumbing["keywords"] == "plumbing, leaks"


def test_services_xml_lists_exactly_the_taxonomy(o311):
    r = o311.get(f"{BASE}/services.xml")
    assert r.status_code == 200
    root = xml_root(r)
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")] == TAXONOMY
    assert {s.findtext("metadata") for s in root.findall("service")} == {"true"}
    assert {s.findtext("type") for s in root.findall("service")} == {"realtime"}


def test_unsupported_format_is_404(o311):
    assert o311.get(f"{BASE}/services.csv").status_code == 404
    assert o311.get(f"{BASE}/services/plumbing.html").status_code == 404
    assert o311.get(f"{BASE}/requests.yaml", params={"api_key": KEY}).status_code == 404


def test_service_definition(o311):
    r = o311.get(f"{BASE}/services/lifts.json")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["service_code"] == "lifts"
    attrs = {a["code"]: a for a in body["attributes"]}
    assert {"location_type", "location", "floor", "block"} <= set(attrs)
    location_type = attrs["location_type"]
    assert location_type["datatype"] == "singlevaluelist"
    assert location_type["variable"] is True
    # A lift is never inside one home.
    assert [v["key"] for v in location_type["values"]] == ["communal", "external"]
    home = o311.get(f"{BASE}/services/plumbing.json").json()
    home_types = next(a for a in home["attributes"] if a["code"] == "location_type")
    assert [v["key"] for v in home_types["values"]] == ["in_home", "communal", "external"]


def test_gas_definition_carries_safety_advice(o311):
    body = o311.get(f"{BASE}/services/gas.json").json()
    advice = [a for a in body["attributes"] if a["variable"] is False]
    assert advice and "0800 111 999" in advice[0]["description"]


def test_service_definition_xml_and_unknown_code(o311):
    r = o311.get(f"{BASE}/services/heating.xml")
    root = xml_root(r)
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "heating"
    codes = [a.findtext("code") for a in root.find("attributes").findall("attribute")]
    assert "location_type" in codes
    values = root.find("attributes").find("attribute").find("values").findall("value")
    assert [v.findtext("key") for v in values] == ["in_home", "communal", "external"]

    r = o311.get(f"{BASE}/services/teleporter.json")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    r = o311.get(f"{BASE}/services/teleporter.xml")
    assert r.status_code == 404
    assert xml_root(r).find("error").findtext("code") == "404"


# -- POST requests --------------------------------------------------------------------------------------


def test_post_creates_a_ticket_officers_can_see(o311, ctx, api_key, factory):
    r = o311.post(f"{BASE}/requests.json", data=report(media_url="https://fms.example/photo/1.jpeg"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    ref = body[0]["service_request_id"]
    assert ref.startswith("HR-")
    assert body[0]["account_id"] is None
    assert ref in body[0]["service_notice"]

    with transaction(ctx.sessions) as s:
        ticket = s.scalar(select(Ticket).where(Ticket.reference == ref))
        assert ticket is not None
        assert ticket.channel == "open311"
        assert ticket.resident_id is None
        assert ticket.category == "communal"
        assert ticket.location_type.value == "communal"
        assert ticket.location == "stairwell"
        assert ticket.reporter_name == "Robin Publicreporter"
        assert ticket.reporter_email == "robin@example.org"
        assert ticket.reporter_phone == "07700 900123"
        assert ticket.status == Status.REPORTED
        events = {e.kind: e for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))}
        assert events["created"].actor_type == "open311"
        assert events["created"].actor_id == "fixmystreet"
        assert events["open311_report"].data["lat"] == pytest.approx(51.539)
        assert events["information_added"].data["media_url"] == "https://fms.example/photo/1.jpeg"

    # And it is in the officers' queue.
    officer = factory.officer()
    queue = o311.get("/api/v1/officer/tickets", headers=officer.headers, params={"channel": "open311"})
    assert queue.status_code == 200, queue.text
    assert [row["reference"] for row in queue.json()["items"]] == [ref]


def test_post_xml_response(o311, api_key):
    r = o311.post(f"{BASE}/requests.xml", data=report())
    assert r.status_code == 201, r.text
    root = xml_root(r)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request.findtext("service_request_id").startswith("HR-")
    assert request.find("account_id") is not None


def test_post_with_address_id_uses_the_property_and_its_block(o311, ctx, api_key, factory):
    res = factory.resident(block="Birch Court", postcode="NW5 2TX")
    with transaction(ctx.sessions) as s:
        prop = s.scalars(select(Property).where(Property.block == "Birch Court")).one()
        uprn, prop_id = prop.uprn, prop.id
    r = o311.post(f"{BASE}/requests.json", data=report(
        service_code="lifts", lat=None, long=None, address_id=uprn, **{"attribute[location_type]": None},
    ))
    assert r.status_code == 201, r.text
    with transaction(ctx.sessions) as s:
        ticket = s.scalar(select(Ticket).where(Ticket.reference == r.json()[0]["service_request_id"]))
        assert ticket.property_id == prop_id
        assert ticket.block == "Birch Court"
        assert ticket.location_type.value == "communal"
    assert res.id  # the resident is untouched: the ticket is not theirs
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(Ticket.resident_id).where(Ticket.property_id == prop_id)) is None


def test_gas_report_notice_gives_the_emergency_number(o311, api_key):
    r = o311.post(f"{BASE}/requests.json", data=report(
        service_code="gas", description="Strong smell of gas by the meter cupboard on the landing",
    ))
    assert r.status_code == 201, r.text
    assert "0800 111 999" in r.json()[0]["service_notice"]


@pytest.mark.parametrize("key", [None, "", "wrong-key", "x" * 5000])
def test_post_without_a_valid_key_is_403(o311, ctx, api_key, key):
    form = report(api_key=key)
    r = o311.post(f"{BASE}/requests.json", data=form)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    r = o311.post(f"{BASE}/requests.xml", data=form)
    assert r.status_code == 403
    root = xml_root(r)
    assert root.tag == "errors"
    assert root.find("error").findtext("code") == "403"
    assert root.find("error").findtext("description")
    assert ticket_count(ctx) == 0


def test_inactive_key_is_403(o311, ctx):
    with transaction(ctx.sessions) as s:
        s.add(ApiKey(name="old", key_hash=digest("revoked-key"), active=False))
    assert o311.post(f"{BASE}/requests.json", data=report(api_key="revoked-key")).status_code == 403


@pytest.mark.parametrize(
    "overrides",
    [
        {"service_code": None},
        {"service_code": "teleporter"},
        {"lat": None, "long": None},
        {"long": None},
        {"lat": "north", "long": "west"},
        {"lat": "91", "long": "0"},
        {"lat": "nan", "long": "0"},
        {"lat": "1e400", "long": "0"},
        {"description": None},
        {"description": "   "},
        {"description": "x" * 4001},
        {"description": "y" * 300_000},
        {"description": "bad \x00 byte"},
        {"attribute[location_type]": "in_home"},  # not for the communal service
        {"attribute[location_type]": "moon"},
        {"attribute[location]": "z" * 201},
        {"email": "not-an-email"},
        {"phone": "call me maybe"},
        {"media_url": "file:///etc/passwd"},
        {"address_id": "not-a-uprn", "lat": None, "long": None},
        {"address_id": "999999999999", "lat": None, "long": None},  # no such property
        {"first_name": "n" * 10_000},
    ],
)
def test_post_bad_input_is_400_never_500(o311, ctx, api_key, overrides):
    r = o311.post(f"{BASE}/requests.json", data=report(**overrides))
    assert r.status_code in (400, 413), r.text
    if r.status_code == 400:
        assert r.headers["content-type"].startswith("application/problem+json")
    r = o311.post(f"{BASE}/requests.xml", data=report(**overrides))
    assert r.status_code in (400, 413)
    if r.status_code == 400:
        error = xml_root(r).find("error")
        assert error.findtext("code") == "400"
        assert error.findtext("description")
    assert ticket_count(ctx) == 0


def test_post_missing_service_code_and_location_xml(o311, api_key):
    r = o311.post(f"{BASE}/requests.xml", data=report(service_code=None))
    assert r.status_code == 400
    assert "service_code" in xml_root(r).find("error").findtext("description")
    r = o311.post(f"{BASE}/requests.xml", data=report(lat=None, long=None))
    assert r.status_code == 400
    assert "location" in xml_root(r).find("error").findtext("description")


def test_post_accepts_address_string_alone(o311, ctx, api_key):
    r = o311.post(f"{BASE}/requests.json", data=report(
        lat=None, long=None, service_code="external",
        address_string="Gate by the play area, Castlehaven, NW1 8YL",
        **{"attribute[location_type]": "external"},
    ))
    assert r.status_code == 201, r.text


def test_post_json_body_is_415(o311, api_key):
    r = o311.post(f"{BASE}/requests.json", json=report())
    assert r.status_code == 415


def test_post_file_upload_is_400(o311, ctx, api_key):
    files = {"media": ("a.jpg", b"\xff\xd8", "image/jpeg")}
    r = o311.post(f"{BASE}/requests.json", data=report(), files=files)
    assert r.status_code == 400
    assert ticket_count(ctx) == 0


def test_idempotency_key_replay_gives_the_same_request(o311, ctx, api_key):
    headers = {"Idempotency-Key": "fms-retry-1"}
    first = o311.post(f"{BASE}/requests.json", data=report(), headers=headers)
    second = o311.post(f"{BASE}/requests.json", data=report(), headers=headers)
    as_xml = o311.post(f"{BASE}/requests.xml", data=report(), headers=headers)
    assert first.status_code == second.status_code == 201
    ref = first.json()[0]["service_request_id"]
    assert second.json()[0]["service_request_id"] == ref
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert xml_root(as_xml).find("request").findtext("service_request_id") == ref
    assert ticket_count(ctx) == 1
    # The same key with a different report is a client bug, not a second ticket.
    changed = o311.post(f"{BASE}/requests.json", data=report(description="Something else"), headers=headers)
    assert changed.status_code == 422
    assert ticket_count(ctx) == 1
    # Without a key, each post is a new report.
    o311.post(f"{BASE}/requests.json", data=report())
    assert ticket_count(ctx) == 2


def test_blank_or_huge_idempotency_key_is_400(o311, ctx, api_key):
    for key in ("   ", "k" * 500):
        r = o311.post(f"{BASE}/requests.xml", data=report(), headers={"Idempotency-Key": key})
        assert r.status_code == 400
        xml_root(r)
    assert ticket_count(ctx) == 0


# -- GET requests ---------------------------------------------------------------------------------------


def _resident_ticket(o311: TestClient, factory: Any) -> tuple[str, Any]:
    res = factory.resident(name="Zelda Quartermain", postcode="NW1 8YL", block="Alder House")
    r = o311.post(
        "/api/v1/tickets",
        headers={**res.headers, "Idempotency-Key": "resident-1"},
        json={"category": "plumbing", "description": "Secret kitchen sink leak under Zelda's cupboard",
              "location": "kitchen"},
    )
    assert r.status_code == 201, r.text
    return r.json()["reference"], res


def test_get_requests_needs_a_key(o311, api_key):
    for path in ("requests.json", "requests/HR-ABCDEF.json"):
        r = o311.get(f"{BASE}/{path}")
        assert r.status_code == 403
        r = o311.get(f"{BASE}/{path}", params={"api_key": "nope"})
        assert r.status_code == 403
    r = o311.get(f"{BASE}/requests.xml")
    assert r.status_code == 403
    assert xml_root(r).find("error").findtext("code") == "403"


def test_get_requests_shares_no_personal_data(o311, ctx, api_key, factory):
    resident_ref, _res = _resident_ticket(o311, factory)
    posted = o311.post(f"{BASE}/requests.json", data=report())
    open311_ref = posted.json()[0]["service_request_id"]
    with transaction(ctx.sessions) as s:
        uprn = s.scalars(select(Property.uprn)).one()

    bodies = [
        o311.get(f"{BASE}/requests.json", params={"api_key": api_key}),
        o311.get(f"{BASE}/requests.xml", params={"api_key": api_key}),
        o311.get(f"{BASE}/requests/{resident_ref}.json", params={"api_key": api_key}),
        o311.get(f"{BASE}/requests/{resident_ref}.xml", params={"api_key": api_key}),
        o311.get(f"{BASE}/requests/{open311_ref}.json", params={"api_key": api_key}),
    ]
    for r in bodies:
        assert r.status_code == 200, r.text
        text = r.text
        for secret in ("Zelda", "Quartermain", "NW1 8YL", "Flat", "Secret kitchen sink", "Robin",
                       "Publicreporter", "robin@example.org", "07700", uprn):
            assert secret not in text, (secret, text)
        assert r.headers["cache-control"] == "private, no-store"

    items = {i["service_request_id"]: i for i in bodies[0].json()}
    resident = items[resident_ref]
    assert resident["status"] == "open"
    assert resident["service_code"] == "plumbing"
    assert resident["service_name"] == "Plumbing and leaks"
    assert resident["description"] is None
    assert resident["address"] is None and resident["address_id"] is None
    assert resident["lat"] is None and resident["long"] is None
    assert resident["agency_responsible"] == ctx.settings.council_name
    expected = datetime.fromisoformat(resident["expected_datetime"])
    assert expected.tzinfo is not None and expected > datetime.now(UTC)
    assert datetime.fromisoformat(resident["requested_datetime"]).tzinfo is not None
    assert resident["status_notes"]

    mine = items[open311_ref]
    assert mine["description"].startswith("The stairwell light")
    assert mine["lat"] == pytest.approx(51.539)
    assert mine["long"] == pytest.approx(-0.1426)

    root = xml_root(bodies[1])
    assert root.tag == "service_requests"
    assert {r.findtext("service_request_id") for r in root.findall("request")} == {resident_ref, open311_ref}
    assert root.find("request").find("expected_datetime").text


def test_communal_resident_ticket_shows_block_and_district_only(o311, ctx, api_key, factory):
    res = factory.resident(name="Zelda Quartermain", postcode="NW1 8YL", block="Alder House")
    r = o311.post(
        "/api/v1/tickets", headers={**res.headers, "Idempotency-Key": "resident-lift"},
        json={"category": "lifts", "description": "Lift stuck on floor 3 since Zelda came home",
              "location_type": "communal"},
    )
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    item = o311.get(f"{BASE}/requests/{ref}.json", params={"api_key": api_key}).json()[0]
    assert item["address"] == "Alder House, NW1"
    assert item["description"] is None
    assert item["lat"] is None


def test_status_filter(o311, ctx, api_key, factory):
    ref_open, _ = _resident_ticket(o311, factory)
    closed = o311.post(f"{BASE}/requests.json", data=report()).json()[0]["service_request_id"]
    with transaction(ctx.sessions) as s:
        ticket = s.scalar(select(Ticket).where(Ticket.reference == closed))
        ticket.status, ticket.is_open = Status.CANCELLED, False

    def refs(**params: str) -> set[str]:
        r = o311.get(f"{BASE}/requests.json", params={"api_key": api_key, **params})
        assert r.status_code == 200, r.text
        return {i["service_request_id"] for i in r.json()}

    assert refs(status="open") == {ref_open}
    assert refs(status="closed") == {closed}
    assert refs(status="open,closed") == {ref_open, closed}
    assert refs() == {ref_open, closed}
    closed_item = o311.get(f"{BASE}/requests/{closed}.json", params={"api_key": api_key}).json()[0]
    assert closed_item["status"] == "closed"
    assert refs(service_code="communal") == {closed}
    assert refs(service_code="plumbing,heating") == {ref_open}
    assert refs(service_request_id=f"{closed}, nonsense") == {closed}
    assert refs(limit="1") <= {ref_open, closed} and len(refs(limit="1")) == 1


def test_date_filters(o311, api_key):
    ref = o311.post(f"{BASE}/requests.json", data=report()).json()[0]["service_request_id"]
    now = datetime.now(UTC)

    def get(**params: str) -> Any:
        return o311.get(f"{BASE}/requests.json", params={"api_key": api_key, **params})

    within = get(start_date=(now - timedelta(days=1)).isoformat(),
                 end_date=(now + timedelta(days=1)).isoformat())
    assert [i["service_request_id"] for i in within.json()] == [ref]
    before = get(end_date=(now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert before.status_code == 200 and before.json() == []
    # An unencoded '+' arrives as a space; still understood.
    spaced = o311.get(f"{BASE}/requests.json?api_key={api_key}&start_date="
                      + (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+00:00").replace("+", "%20"))
    assert spaced.status_code == 200 and len(spaced.json()) == 1

    too_long = get(start_date="2025-01-01T00:00:00Z", end_date="2025-04-02T00:00:00Z")
    assert too_long.status_code == 400
    assert too_long.headers["content-type"].startswith("application/problem+json")
    xml_too_long = o311.get(f"{BASE}/requests.xml", params={
        "api_key": api_key, "start_date": "2025-01-01", "end_date": "2025-06-01"})
    assert xml_too_long.status_code == 400
    assert xml_root(xml_too_long).find("error").findtext("code") == "400"
    assert get(start_date="2025-01-01", end_date="2025-03-31").status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "yesterday"},
        {"end_date": "2025-13-45"},
        {"start_date": "0001-01-01"},
        {"start_date": "9999-12-31T23:59:59+14:00"},
        {"start_date": "2025-02-01", "end_date": "2025-01-01"},
        {"start_date": "x" * 50_000},
        {"status": "fixed"},
        {"service_code": "teleporter"},
        {"service_code": ",".join(["plumbing"] * 5000)},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"limit": "9" * 400},
    ],
)
def test_get_bad_filters_are_400(o311, api_key, params):
    for fmt in ("json", "xml"):
        r = o311.get(f"{BASE}/requests.{fmt}", params={"api_key": api_key, **params})
        assert r.status_code == 400, (params, r.text)
        if fmt == "xml":
            xml_root(r)


def test_get_one_unknown_is_404(o311, api_key):
    for ref in ("HR-ABCDEF", "nonsense", "x" * 10_000):
        r = o311.get(f"{BASE}/requests/{ref}.json", params={"api_key": api_key})
        assert r.status_code == 404, r.text
    # A NUL in the path may be refused before routing; either way it is not a 500.
    assert o311.get(f"{BASE}/requests/HR-%00.json", params={"api_key": api_key}).status_code in (400, 404)
    r = o311.get(f"{BASE}/requests/HR-ABCDEF.xml", params={"api_key": api_key})
    assert r.status_code == 404
    assert xml_root(r).find("error").findtext("code") == "404"


def test_xml_survives_odd_characters_in_stored_text(o311, ctx, api_key):
    posted = o311.post(f"{BASE}/requests.json", data=report(description="Bin store door <broken> & 'stuck'"))
    ref = posted.json()[0]["service_request_id"]
    with transaction(ctx.sessions) as s:
        ticket = s.scalar(select(Ticket).where(Ticket.reference == ref))
        ticket.summary = "vertical\x0btab and \ufffe from an old import"
    r = o311.get(f"{BASE}/requests/{ref}.xml", params={"api_key": api_key})
    assert r.status_code == 200
    assert xml_root(r).find("request").findtext("description").startswith("verticaltab")


def test_odd_form_bodies_are_handled(o311, ctx, api_key):
    many = {**report(), **{f"extra{i}": "x" for i in range(300)}}
    r = o311.post(f"{BASE}/requests.xml", data=many)
    assert r.status_code == 400
    xml_root(r)
    raw = b"api_key=" + KEY.encode() + b"&service_code=communal&lat=51.5&long=-0.1&description=caf%E9+%FF%FE"
    r = o311.post(f"{BASE}/requests.json", content=raw,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code in (201, 400), r.text
    r = o311.post(f"{BASE}/requests.json", content=b"\xff\xfe\x00garbage",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code in (400, 403), r.text
    r = o311.post(f"{BASE}/requests.json", content=b"--x\r\nbroken",
                  headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code in (400, 403), r.text
    # The first value of a repeated field counts; unknown attributes are kept for officers, not refused.
    r = o311.post(f"{BASE}/requests.json", content=(
        b"api_key=" + KEY.encode() + b"&service_code=external&service_code=teleporter&lat=51.5&long=-0.1"
        b"&description=Broken+gate&attribute%5Bcolour%5D=green&attribute%5B%3Cscript%3E%5D=x"
    ), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201, r.text
