"""Workspace sessions end after REPAIRS_WORKSPACE_IDLE_MINUTES without use, as well as at their absolute
lifetime: the next page goes to the sign-in form, which says why and comes back to where the officer was
(a path under /officer only). Activity is written at most once a minute, and the emergency banner's
background poll is not activity."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from repairs.auth.models import OfficerSession
from repairs.auth.officers import SessionKind, session_hash
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.settings import Settings
from repairs.tickets.models import TicketEvent
from tests.factories import Factory, OfficerHandle
from tests.workspace_client import csrf_of, sign_in

IDLE_NOTICE = "You were signed out because the workspace was not used for 30 minutes."


@pytest.fixture
def officer(client: TestClient, factory: Factory) -> OfficerHandle:
    handle = factory.officer()
    assert sign_in(client, handle.email, handle.password).status_code == 303
    return handle


def _row(client: TestClient) -> sa.ColumnElement[bool]:
    return OfficerSession.token_hash == session_hash(client.cookies["officer_session"], SessionKind.WORKSPACE)


def last_seen(ctx: ServiceContext, client: TestClient) -> datetime | None:
    with transaction(ctx.sessions) as s:
        return s.scalar(sa.select(OfficerSession.last_seen_at).where(_row(client)))


def quiet_for(ctx: ServiceContext, client: TestClient, minutes: float, *, column: str = "last_seen_at") -> None:
    """As if the officer's last request was `minutes` ago."""
    with transaction(ctx.sessions) as s:
        values = {column: utcnow() - timedelta(minutes=minutes)}
        if column == "created_at":
            values["last_seen_at"] = None  # a session from before last_seen_at was kept
        s.execute(sa.update(OfficerSession).where(_row(client)).values(**values))


def session_rows(ctx: ServiceContext, token: str) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(OfficerSession).where(
            OfficerSession.token_hash == session_hash(token, SessionKind.WORKSPACE))) or 0


@contextmanager
def session_writes(ctx: ServiceContext) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn, _cursor, statement: str, *_args: object) -> None:
        if "officer_sessions" in statement and statement.lstrip().upper().startswith(("UPDATE", "DELETE")):
            seen.append(statement)

    sa.event.listen(ctx.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(ctx.engine, "before_cursor_execute", note)


def ticket(client: TestClient, factory: Factory) -> str:
    res = factory.resident()
    r = client.post("/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex},
                    json={"category": "plumbing", "description": "The kitchen tap drips", "location": "kitchen"})
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def test_an_idle_session_goes_to_the_sign_in_page_which_says_why_and_comes_back(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ref = ticket(client, factory)
    token = client.cookies["officer_session"]
    quiet_for(ctx, client, 31)
    page = f"/officer/tickets/{ref}?done=note"
    r = client.get(page, follow_redirects=False)
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    assert location.path == "/officer/login"
    assert parse_qs(location.query) == {"next": [page], "idle": ["1"]}
    assert session_rows(ctx, token) == 0, "the idle session is gone, not just refused"
    assert "officer_session" not in client.cookies
    form = client.get(r.headers["location"])
    assert form.status_code == 200 and IDLE_NOTICE in form.text
    assert f'name="next" value="/officer/tickets/{ref}?done=note"' in form.text
    back = client.post("/officer/login", follow_redirects=False, data={
        "email": officer.email, "password": officer.password, "csrf_token": csrf_of(form), "next": page})
    assert back.status_code == 303 and back.headers["location"] == page
    # The same cookie, kept by someone who copied it, opens nothing now. (Their browser holds only that one: a
    # jar holding the new session's cookie beside it would send both.)
    client.cookies.clear()
    client.cookies.set("officer_session", token, path="/officer")
    again = client.get("/officer/queue", follow_redirects=False)
    assert again.status_code == 303 and "idle" not in again.headers["location"]


def test_use_keeps_it_open_and_is_written_at_most_once_a_minute(
    client: TestClient, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    quiet_for(ctx, client, 29)
    with session_writes(ctx) as writes:
        assert client.get("/officer/queue").status_code == 200
    assert len(writes) == 1
    seen = last_seen(ctx, client)
    assert seen is not None and utcnow() - seen < timedelta(seconds=30)
    # Within the minute, pages are served without writing the session row at all.
    with session_writes(ctx) as writes:
        for _ in range(3):
            assert client.get("/officer/queue").status_code == 200
    assert writes == []
    assert last_seen(ctx, client) == seen
    # Another 29 quiet minutes after that last use: still signed in.
    quiet_for(ctx, client, 29)
    assert client.get("/officer/queue", follow_redirects=False).status_code == 200


def test_the_banner_poll_is_not_activity(
    client: TestClient, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    quiet_for(ctx, client, 20)
    before = last_seen(ctx, client)
    with session_writes(ctx) as writes:
        assert client.get("/officer/alerts/banner").status_code == 200
    assert writes == [] and last_seen(ctx, client) == before
    # Gone idle: the poll is sent to sign in (banner.js stops asking) but leaves the row, so the officer's
    # own next click is the one told why.
    quiet_for(ctx, client, 31)
    token = client.cookies["officer_session"]
    poll = client.get("/officer/alerts/banner", follow_redirects=False)
    assert poll.status_code == 303 and "/officer/login" in poll.headers["location"]
    assert session_rows(ctx, token) == 1
    client.cookies.set("officer_session", token, path="/officer")
    click = client.get("/officer/queue", follow_redirects=False)
    assert click.status_code == 303 and "idle=1" in click.headers["location"]
    assert session_rows(ctx, token) == 0


def test_a_form_sent_after_going_idle_changes_nothing_and_returns_to_its_page(
    client: TestClient, factory: Factory, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ref = ticket(client, factory)
    csrf = csrf_of(client.get(f"/officer/tickets/{ref}"))
    quiet_for(ctx, client, 45)
    r = client.post(f"/officer/tickets/{ref}/notes", data={"csrf_token": csrf, "text": "Called the contractor"},
                    headers={"Referer": f"http://testserver/officer/tickets/{ref}"}, follow_redirects=False)
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    assert location.path == "/officer/login"
    assert parse_qs(location.query) == {"next": [f"/officer/tickets/{ref}"], "idle": ["unsaved"]}
    assert "was not saved" in client.get(r.headers["location"]).text
    with transaction(ctx.sessions) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(TicketEvent).where(TicketEvent.kind == "note")) == 0


@pytest.mark.parametrize("referer", [
    "https://evil.example/officer/queue",
    "http://testserver/api/v1/officer/tickets",
    "http://testserver//evil.example/officer",
    "not a url",
    "",
])
def test_the_way_back_is_only_ever_a_workspace_page(
    client: TestClient, ctx: ServiceContext, officer: OfficerHandle, backend: str, referer: str
) -> None:
    csrf = csrf_of(client.get("/officer/queue"))
    quiet_for(ctx, client, 31)
    headers = {"Referer": referer} if referer else {}
    r = client.post("/officer/logout", data={"csrf_token": csrf}, headers=headers, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/officer/login?")
    form = client.get(r.headers["location"])
    assert form.status_code == 200
    assert 'name="next" value="/officer/queue"' in form.text


def test_the_absolute_lifetime_still_ends_a_busy_session(
    client: TestClient, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    with transaction(ctx.sessions) as s:
        s.execute(sa.update(OfficerSession).where(_row(client)).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.get("/officer/queue", follow_redirects=False)
    assert r.status_code == 303 and "idle" not in r.headers["location"]


def test_a_session_from_before_last_seen_was_kept_counts_from_its_start(
    client: TestClient, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    quiet_for(ctx, client, 10, column="created_at")
    assert client.get("/officer/queue", follow_redirects=False).status_code == 200
    assert last_seen(ctx, client) is not None
    quiet_for(ctx, client, 31, column="created_at")
    r = client.get("/officer/queue", follow_redirects=False)
    assert r.status_code == 303 and "idle=1" in r.headers["location"]


def test_the_idle_time_is_a_setting(
    client: TestClient, ctx: ServiceContext, officer: OfficerHandle, backend: str
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"workspace_idle_minutes": 5})
    quiet_for(ctx, client, 6)
    r = client.get("/officer/queue")
    assert "was not used for 5 minutes" in r.text


def test_the_setting_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPAIRS_WORKSPACE_IDLE_MINUTES", "15")
    assert Settings(_env_file=None).workspace_idle_minutes == 15  # type: ignore[call-arg]
    monkeypatch.delenv("REPAIRS_WORKSPACE_IDLE_MINUTES")
    assert Settings(_env_file=None).workspace_idle_minutes == 30  # type: ignore[call-arg]
    for bad in ("0", "-5", "ten", "100000"):
        monkeypatch.setenv("REPAIRS_WORKSPACE_IDLE_MINUTES", bad)
        with pytest.raises(ValueError, match="REPAIRS_WORKSPACE_IDLE_MINUTES"):
            Settings(_env_file=None)  # type: ignore[call-arg]
