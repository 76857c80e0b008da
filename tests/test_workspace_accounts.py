"""Supervisors manage officer accounts in the workspace, and every change is on record."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from repairs.auth.models import AccountAction, Officer, OfficerAccountEvent, Role
from repairs.context import ServiceContext
from repairs.database import transaction
from tests.factories import Factory, OfficerHandle
from tests.workspace_client import sign_in, signed_in_csrf

NEW_PASSWORD = "a brand new password 42"


@pytest.fixture
def supervisor(client: TestClient, factory: Factory) -> OfficerHandle:
    boss = factory.officer(role=Role.SUPERVISOR)
    assert sign_in(client, boss.email, boss.password).status_code == 303
    return boss


@pytest.fixture
def post(client: TestClient) -> Callable[..., Response]:
    def _post(path: str, **data: str) -> Response:
        return client.post(path, data={"csrf_token": signed_in_csrf(client, "/officer/accounts"), **data},
                           follow_redirects=False)

    return _post


def events(ctx: ServiceContext) -> list[tuple[int | None, int, AccountAction, str | None]]:
    with transaction(ctx.sessions) as s:
        rows = s.scalars(sa.select(OfficerAccountEvent).order_by(OfficerAccountEvent.id)).all()
        return [(e.actor_id, e.officer_id, e.action, e.detail) for e in rows]


def test_a_supervisor_adds_an_officer_who_can_then_sign_in(
    client: TestClient, ctx: ServiceContext, supervisor: OfficerHandle, post: Callable[..., Response], backend: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    created = post("/officer/accounts", name="Priya Shah", email="Priya.Shah@council.invalid", role="officer",
                   password=NEW_PASSWORD)
    assert created.status_code == 303 and created.headers["location"] == "/officer/accounts?done=created"
    page = client.get("/officer/accounts?done=created")
    assert "Account created" in page.text and "priya.shah@council.invalid" in page.text
    assert "created the account of Priya Shah (officer)" in page.text
    with transaction(ctx.sessions) as s:
        priya = s.scalar(sa.select(Officer).where(Officer.email == "priya.shah@council.invalid"))
        assert priya is not None and priya.role == Role.OFFICER and priya.password_hash.startswith("$argon2id$")
        priya_id = priya.id
    assert events(ctx) == [(supervisor.id, priya_id, AccountAction.CREATED, "officer")]
    # The record is in the database; the log says only ids and the action.
    logged = " ".join(str(vars(r)) for r in caplog.records)
    assert "account changed" in logged and "Priya" not in logged and "priya.shah" not in logged
    with TestClient(client.app) as other:
        assert sign_in(other, "priya.shah@council.invalid", NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "email": "a@council.invalid", "role": "officer", "password": NEW_PASSWORD}, "Enter the officer"),
        ({"name": "A", "email": "not-an-address", "role": "officer", "password": NEW_PASSWORD}, "work e-mail"),
        ({"name": "A", "email": "a@council.invalid", "role": "admin", "password": NEW_PASSWORD}, "Choose officer"),
        ({"name": "A", "email": "a@council.invalid", "role": "officer", "password": "short"}, "at least 12"),
    ],
)
def test_a_new_account_must_be_complete(
    client: TestClient, ctx: ServiceContext, supervisor: OfficerHandle, post: Callable[..., Response], backend: str,
    fields: dict[str, str], message: str,
) -> None:
    response = post("/officer/accounts", **fields)
    assert response.status_code == 422 and message in response.text
    assert events(ctx) == []


def test_the_same_e_mail_twice_is_refused(
    factory: Factory, ctx: ServiceContext, supervisor: OfficerHandle, post: Callable[..., Response], backend: str
) -> None:
    existing = factory.officer()
    response = post("/officer/accounts", name="Again", email=existing.email.upper(), role="officer",
                    password=NEW_PASSWORD)
    assert response.status_code == 422 and "already an account" in response.text


def test_deactivating_signs_the_officer_out_everywhere(
    client: TestClient, factory: Factory, ctx: ServiceContext, supervisor: OfficerHandle,
    post: Callable[..., Response], backend: str,
) -> None:
    officer = factory.officer()
    with TestClient(client.app) as theirs:
        sign_in(theirs, officer.email, officer.password)
        assert theirs.get("/officer/queue").status_code == 200
        assert post(f"/officer/accounts/{officer.id}/deactivate").status_code == 303
        assert theirs.get("/officer/queue", follow_redirects=False).status_code == 303
        assert sign_in(theirs, officer.email, officer.password).status_code == 401
    # Their API token is gone too.
    assert client.get("/api/v1/officer/tickets", headers=officer.headers).status_code == 401
    assert post(f"/officer/accounts/{officer.id}/reactivate").status_code == 303
    assert [e[2] for e in events(ctx)] == [AccountAction.DEACTIVATED, AccountAction.REACTIVATED]


def test_a_supervisor_cannot_deactivate_or_demote_themselves(
    client: TestClient, ctx: ServiceContext, supervisor: OfficerHandle, post: Callable[..., Response], backend: str
) -> None:
    own = post(f"/officer/accounts/{supervisor.id}/deactivate")
    assert own.status_code == 422 and "your own account" in own.text
    demote = post(f"/officer/accounts/{supervisor.id}/role", role="officer")
    assert demote.status_code == 422 and "your own role" in demote.text
    assert client.get("/officer/accounts").status_code == 200
    assert events(ctx) == []


def test_unlock_and_password_reset(
    client: TestClient, factory: Factory, ctx: ServiceContext, supervisor: OfficerHandle,
    post: Callable[..., Response], backend: str,
) -> None:
    officer = factory.officer()
    with TestClient(client.app) as theirs:
        for _ in range(5):
            sign_in(theirs, officer.email, "wrong password again")
        assert sign_in(theirs, officer.email, officer.password).status_code == 429
        page = client.get("/officer/accounts")
        assert "Locked" in page.text
        assert post(f"/officer/accounts/{officer.id}/unlock").status_code == 303
        assert sign_in(theirs, officer.email, officer.password).status_code == 303
        # A reset ends their session and the old password with it.
        short = post(f"/officer/accounts/{officer.id}/password", password="short")
        assert short.status_code == 422
        assert post(f"/officer/accounts/{officer.id}/password", password=NEW_PASSWORD).status_code == 303
        assert theirs.get("/officer/queue", follow_redirects=False).status_code == 303
        assert sign_in(theirs, officer.email, officer.password).status_code == 401
        assert sign_in(theirs, officer.email, NEW_PASSWORD).status_code == 303
    assert [e[2] for e in events(ctx)] == [AccountAction.UNLOCKED, AccountAction.PASSWORD_RESET]


def test_a_role_change_takes_effect_on_the_next_page(
    client: TestClient, factory: Factory, ctx: ServiceContext, supervisor: OfficerHandle,
    post: Callable[..., Response], backend: str,
) -> None:
    officer = factory.officer()
    with TestClient(client.app) as theirs:
        sign_in(theirs, officer.email, officer.password)
        assert theirs.get("/officer/accounts").status_code == 403
        assert post(f"/officer/accounts/{officer.id}/role", role="supervisor").status_code == 303
        assert theirs.get("/officer/accounts").status_code == 200
    assert events(ctx) == [(supervisor.id, officer.id, AccountAction.ROLE_CHANGED, "supervisor")]


def test_an_unknown_change_or_account(
    client: TestClient, supervisor: OfficerHandle, post: Callable[..., Response], backend: str
) -> None:
    assert post(f"/officer/accounts/{supervisor.id}/promote").status_code == 404
    missing = post("/officer/accounts/999999/unlock")
    assert missing.status_code == 422 and "no such officer" in missing.text


# -- an officer's own password ---------------------------------------------------------------------


def test_an_officer_changes_their_own_password(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    sign_in(client, officer.email, officer.password)
    with TestClient(client.app) as elsewhere:
        sign_in(elsewhere, officer.email, officer.password)
        assert elsewhere.get("/officer/queue").status_code == 200
        csrf = signed_in_csrf(client, "/officer/password")
        form = {"csrf_token": csrf, "current": officer.password, "new": NEW_PASSWORD}
        mismatch = client.post("/officer/password", data={**form, "confirm": NEW_PASSWORD + "x"})
        assert mismatch.status_code == 422 and "not the same" in mismatch.text
        changed = client.post("/officer/password", data={**form, "confirm": NEW_PASSWORD}, follow_redirects=False)
        assert changed.status_code == 303
        # This browser stays signed in with a new session; the other one is signed out.
        assert "Your password is changed" in client.get("/officer/password?done=1").text
        assert elsewhere.get("/officer/queue", follow_redirects=False).status_code == 303
        assert sign_in(elsewhere, officer.email, officer.password).status_code == 401
        assert sign_in(elsewhere, officer.email, NEW_PASSWORD).status_code == 303
    assert events(ctx) == [(officer.id, officer.id, AccountAction.PASSWORD_CHANGED, None)]


def test_a_wrong_current_password_counts_towards_the_lock_out(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    sign_in(client, officer.email, officer.password)
    csrf = signed_in_csrf(client, "/officer/password")
    form = {"csrf_token": csrf, "current": "a guess at the password", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    for _ in range(5):
        wrong = client.post("/officer/password", data=form)
        assert wrong.status_code == 422 and "not your current password" in wrong.text
    locked = client.post("/officer/password", data={**form, "current": officer.password})
    assert locked.status_code == 429 and "locked until" in locked.text
    assert events(ctx) == []
    with TestClient(client.app) as other:
        assert sign_in(other, officer.email, officer.password).status_code == 429
