"""The reports page and the CSV export over HTTP, signed in as a browser would: the figures on the page,
the export's columns, local times and formula escaping, bad periods, and that only supervisors see them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from repairs.auth.models import Role
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.reports.export import COLUMNS
from tests.factories import Factory
from tests.report_data import at, build_dataset, ticket
from tests.workspace_client import sign_in


def supervisor_client(client: TestClient, factory: Factory) -> TestClient:
    supervisor = factory.officer(role=Role.SUPERVISOR)
    assert sign_in(client, supervisor.email, supervisor.password).status_code == 303
    return client


def test_csv_export_columns_times_and_escaping(client: TestClient, ctx: ServiceContext, factory: Factory,
                                               backend: str) -> None:
    resident = factory.resident(postcode="NW1 8YL")
    tickets = build_dataset(ctx, resident)
    with transaction(ctx.sessions) as s:
        s.add(ticket(None, reported=at("2026-03-25T12:00:00"), summary='=HYPERLINK("http://x.invalid","Click")',
                     channel="open311"))
    supervisor_client(client, factory)
    response = client.get("/officer/reports/tickets.csv", params={"from": "2026-03-23", "to": "2026-04-05"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="repairs-2026-03-23-to-2026-04-05.csv"' in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0].keys()) == COLUMNS
    assert len(rows) == 10  # the nine reported in the period, and the Open311 one
    by_ref = {row["reference"]: row for row in rows}
    assert tickets["T6"].reference not in by_ref and tickets["T7"].reference not in by_ref
    assert tickets["T12"].reference not in by_ref  # a merged duplicate
    first = by_ref[tickets["T1"].reference]
    assert first["reported_at"] == "2026-03-23T00:00:00+00:00"  # GMT
    assert first["priority"] == "emergency" and first["hact_priority_code"] == "2" and first["emergency"] == "yes"
    assert first["completed_within_target"] == "yes" and first["tenure"] == "tenant"
    assert first["postcode"] == "NW1 8YL" and first["uprn"] and first["tenancy_reference"] == resident.tenancy_reference
    assert first["category_name"] and first["trade_code"] == ""  # built here without a trade
    late = by_ref[tickets["T4"].reference]
    assert late["completed_at"] == "2026-04-05T23:59:00+01:00"  # BST
    assert late["completed_within_target"] == "no"
    assert by_ref[tickets["T5"].reference]["completed_within_target"] == ""
    public = next(row for row in rows if row["channel"] == "open311")
    assert public["description_of_work"].startswith("'=HYPERLINK(")
    assert public["uprn"] == "" and public["tenure"] == ""
    assert "Test Resident" not in response.text  # no names


# -- the page and who may see it -----------------------------------------------------------------------------


def test_reports_page_for_a_supervisor(client: TestClient, ctx: ServiceContext, factory: Factory,
                                       backend: str) -> None:
    build_dataset(ctx, factory.resident())
    supervisor_client(client, factory)
    page = client.get("/officer/reports", params={"from": "2026-03-23", "to": "2026-04-05"})
    assert page.status_code == 200
    text = page.text
    assert "23 Mar 2026 to 5 Apr 2026" in text
    assert "50.0%" in text and "(1 of 2)" in text and "75.0%" in text and "(3 of 4)" in text
    assert text.count('role="img"') == 5 and "<desc id=\"chart-categories-desc\">Plumbing and leaks: 4;" in text
    # The charts need no script: the page's only one is the workspace's banner refresher, loaded from a file.
    assert re.findall(r"<script[^>]*>", text) == ['<script src="/officer/static/banner.js" defer>']
    assert "style=" not in text
    assert 'href="/officer/reports/tickets.csv?from=2026-03-23&amp;to=2026-04-05"' in text
    assert "CP-OPEN2" in text and "Not available" in text
    assert "Not counted: 1 duplicate report merged into another ticket" in text


def test_the_assistants_conversation_figures_appear_once_conversations_are_counted(
        client: TestClient, ctx: ServiceContext, factory: Factory, backend: str) -> None:
    """Conversations counted at the edge as residents talk (repairs/usage/conversations.py), handoffs and
    misunderstandings counted by the action server: the page shows both figures with numbers."""
    from datetime import timedelta

    from repairs.usage.conversations import touch
    from repairs.usage.counting import count
    from repairs.usage.models import UsageEvent

    build_dataset(ctx, factory.resident())
    idle = ctx.settings.conversation_idle
    turns = [("telegram", "4101", "2026-03-23T09:00:00"), ("telegram", "4101", "2026-03-23T09:20:00"),
             ("telegram", "4101", "2026-03-23T12:00:00"),  # idle over an hour: a second conversation
             ("web", "browser-1", "2026-03-30T18:00:00"), ("web", "browser-1", "2026-03-30T18:01:00"),
             ("telegram", "4102", "2026-04-02T08:00:00")]
    with transaction(ctx.sessions) as s:
        began = [touch(s, channel, chat, idle=idle, now=at(when)) for channel, chat, when in turns]
        count(s, UsageEvent.PERSON, "telegram", at=at("2026-03-23T12:05:00"))
        for event in (UsageEvent.MISUNDERSTOOD, UsageEvent.MISUNDERSTOOD, UsageEvent.MISUNDERSTOOD_CONVERSATION):
            count(s, event, "web", at=at("2026-03-30T18:00:30"))
    assert began == [True, False, True, True, False, True]
    supervisor_client(client, factory)
    text = client.get("/officer/reports", params={"from": "2026-03-23", "to": "2026-04-05"}).text
    assert re.search(r"handled without a person</dt><dd><strong class=\"figure\">3</strong> of 4 conversations", text)
    assert re.search(r"at least once\)</dt><dd><strong class=\"figure\">25.0%</strong>", text)
    assert "(1 conversations; 2 messages not understood)" in text
    assert "No conversation has been counted" not in text and "Conversations are counted from" not in text
    # Before counting began the page says so, and from when.
    earlier = client.get("/officer/reports", params={"from": "2026-03-01", "to": "2026-03-15"}).text
    assert earlier.count("Not available") == 2
    assert "Conversations are counted from 23 Mar 2026, after this period" in earlier
    assert idle == timedelta(minutes=60)


def test_reports_page_default_period_and_a_bad_one(client: TestClient, factory: Factory, backend: str) -> None:
    supervisor_client(client, factory)
    page = client.get("/officer/reports")
    assert page.status_code == 200 and "(28 days)" in page.text and "No repairs were completed" in page.text
    bad = client.get("/officer/reports", params={"from": "2026-04-05", "to": "2026-03-23"})
    assert bad.status_code == 400 and "first day is after its last day" in bad.text
    assert client.get("/officer/reports/tickets.csv", params={"from": "yesterday"}).status_code == 400


@pytest.mark.parametrize("path", ["/officer/reports", "/officer/reports/tickets.csv"])
def test_reports_are_for_supervisors_only(client: TestClient, factory: Factory, backend: str, path: str) -> None:
    signed_out = client.get(path, follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/officer/login?next=")
    officer = factory.officer(role=Role.OFFICER)
    assert sign_in(client, officer.email, officer.password).status_code == 303
    refused = client.get(path, follow_redirects=False)
    assert refused.status_code == 403 and "Supervisors only" in refused.text
    assert "text/csv" not in refused.headers["content-type"]
