"""Who may use the officer workspace: sign-in, sessions, roles, CSRF, lock-out and sign-out.

The route lists are read from the workspace's own router, so a page added later is covered the day it
is registered: nothing under /officer answers without a session, every supervisors' page refuses an
officer, and every form post refuses a missing or wrong CSRF token.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from repairs.app import create_app
from repairs.auth.models import Officer, OfficerSession, Role
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.workspace import pages
from repairs.workspace.auth import form_with_csrf, require_supervisor
from repairs.workspace.routes_auth import safe_next
from tests.factories import Factory
from tests.workspace_client import csrf_of, sign_in, signed_in_csrf

PUBLIC = {("GET", "/officer/login"), ("POST", "/officer/login")}


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def workspace_routes() -> list[tuple[str, str, frozenset[Callable[..., Any]]]]:
    """Every (method, path, dependencies) the workspace registers."""
    app = FastAPI()
    pages.install(app)
    found = {}
    for route in iter_route_contexts(app.router.routes):
        if not route.path.startswith("/officer") or not route.methods:
            continue
        calls = frozenset(_calls(route.original_route.dependant))  # type: ignore[attr-defined]
        for method in route.methods - {"HEAD"}:
            found[(method, route.path)] = calls
    return [(method, path, calls) for (method, path), calls in sorted(found.items())]


ROUTES = workspace_routes()
PRIVATE = [(m, p) for m, p, _ in ROUTES if (m, p) not in PUBLIC]
SUPERVISOR_ONLY = [(m, p) for m, p, calls in ROUTES if require_supervisor in calls]
FORM_POSTS = [(m, p) for m, p, _ in ROUTES if m != "GET" and (m, p) not in PUBLIC]


def concrete(path: str) -> str:
    """A path template with its parameters filled in with harmless values."""
    return re.sub(r"\{[^}]+\}", lambda m: "HR-AAAA2222" if "reference" in m.group(0) else "1", path)


@pytest.fixture
def signed_in(client: TestClient, factory: Factory) -> Callable[..., TestClient]:
    def _sign_in(role: Role = Role.OFFICER) -> TestClient:
        officer = factory.officer(role=role)
        response = sign_in(client, officer.email, officer.password)
        assert response.status_code == 303, response.text
        return client

    return _sign_in


# -- nothing without a session ---------------------------------------------------------------------


def test_the_route_lists_are_not_empty() -> None:
    assert ("GET", "/officer/queue") in PRIVATE
    assert ("POST", "/officer/logout") in FORM_POSTS
    assert ("GET", "/officer/accounts") in SUPERVISOR_ONLY


def test_no_officer_route_outside_the_workspace_router(ctx: ServiceContext) -> None:
    """A page registered straight on the app would escape these tests (and maybe the session check)."""
    app = create_app(ctx)
    registered = {
        (method, route.path)
        for route in iter_route_contexts(app.router.routes)
        if route.path.startswith("/officer") and route.methods
        for method in route.methods - {"HEAD"}
    }
    assert registered == {(m, p) for m, p, _ in ROUTES}


@pytest.mark.parametrize(("method", "path"), PRIVATE)
def test_nothing_under_officer_without_signing_in(client: TestClient, backend: str, method: str, path: str) -> None:
    response = client.request(method, concrete(path), follow_redirects=False)
    if method == "GET":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/officer/login?next=")
    else:
        assert response.status_code == 401
        assert "Sign in again" in response.text
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("cookie", ["", "x" * 43, "not a token", "a" * 400])
def test_a_made_up_session_cookie_is_no_session(client: TestClient, backend: str, cookie: str) -> None:
    client.cookies.set("officer_session", cookie, path="/officer")
    response = client.get("/officer/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/officer/login")


def test_an_api_token_is_not_a_workspace_session_nor_the_other_way(
    client: TestClient, factory: Factory, backend: str
) -> None:
    officer = factory.officer()  # has an API bearer token
    client.cookies.set("officer_session", officer.token, path="/officer")
    assert client.get("/officer/queue", follow_redirects=False).status_code == 303
    client.cookies.clear()
    signed = sign_in(client, officer.email, officer.password)
    cookie = signed.cookies["officer_session"]
    api = client.get("/api/v1/officer/tickets", headers={"Authorization": f"Bearer {cookie}"})
    assert api.status_code == 401


def test_static_files_need_no_session_and_hold_nothing_private(client: TestClient, backend: str) -> None:
    css = client.get("/officer/static/workspace.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert "no-store" not in css.headers.get("cache-control", "")


# -- signing in ------------------------------------------------------------------------------------


def test_sign_in_then_the_queue(client: TestClient, factory: Factory, backend: str) -> None:
    officer = factory.officer()
    response = sign_in(client, officer.email, officer.password, next_path="/officer/queue?priority=emergency")
    assert response.status_code == 303
    assert response.headers["location"] == "/officer/queue?priority=emergency"
    cookie = response.headers["set-cookie"]
    assert "officer_session=" in cookie and "HttpOnly" in cookie and "Path=/officer" in cookie
    assert "samesite=lax" in cookie.lower() and "Secure" not in cookie  # the test service is plain http
    page = client.get("/officer/queue")
    assert page.status_code == 200
    assert "Repairs queue" in page.text and "Test Officer" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    # Signed in, the sign-in page sends the officer on.
    again = client.get("/officer/login", params={"next": "/officer/queue"}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/officer/queue"


def test_cookies_are_secure_behind_https(ctx: ServiceContext, factory: Factory, backend: str) -> None:
    https = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"public_base_url": "https://repairs.council.example"})
    )
    officer = factory.officer()
    with TestClient(create_app(https), base_url="https://testserver") as client:
        form = client.get("/officer/login")
        assert "Secure" in form.headers["set-cookie"]
        signed = sign_in(client, officer.email, officer.password)
        assert signed.status_code == 303
        assert "Secure" in signed.headers["set-cookie"] and "HttpOnly" in signed.headers["set-cookie"]


def test_wrong_password_says_so_without_saying_which(client: TestClient, factory: Factory, backend: str) -> None:
    officer = factory.officer()
    wrong = sign_in(client, officer.email, "not the password at all")
    nobody = sign_in(client, "nobody@council.invalid", "not the password at all")
    assert wrong.status_code == nobody.status_code == 401
    assert "Wrong e-mail address or password" in wrong.text and "Wrong e-mail address or password" in nobody.text
    assert "officer_session" not in wrong.headers.get("set-cookie", "")


def test_the_sign_in_form_needs_its_own_csrf_pair(client: TestClient, factory: Factory, backend: str) -> None:
    officer = factory.officer()
    data = {"email": officer.email, "password": officer.password, "next": "/officer/queue"}
    # A cross-site form: no pre-session cookie, no token.
    refused = client.post("/officer/login", data=data, follow_redirects=False)
    assert refused.status_code == 403 and "expired" in refused.text
    # The cookie but a token made for another value.
    client.get("/officer/login")
    forged = client.post("/officer/login", data={**data, "csrf_token": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403
    # A token from another browser's form, with this browser's cookie.
    with TestClient(client.app) as other:
        theirs = csrf_of(other.get("/officer/login"))
    client.get("/officer/login")
    mixed = client.post("/officer/login", data={**data, "csrf_token": theirs}, follow_redirects=False)
    assert mixed.status_code == 403
    assert "officer_session" not in client.cookies


def test_lock_out_after_repeated_failures(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    for _ in range(5):
        assert sign_in(client, officer.email, "wrong password, again").status_code == 401
    locked = sign_in(client, officer.email, officer.password)  # even the right password now
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text and "Try again after" in locked.text
    assert 800 <= int(locked.headers["retry-after"]) <= 900
    assert "officer_session" not in client.cookies
    with transaction(ctx.sessions) as s:
        assert s.get(Officer, officer.id).locked_until is not None  # type: ignore[union-attr]


# -- after signing in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/officer",
        "//evil.example/officer/queue",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/officer@evil.example",
        "/officerx",
        "/officer/../api/v1/officer/tickets",
        "/officer/login?next=https://evil.example",
        "/officer/queue\r\nLocation: https://evil.example",
        "http:/officer/queue",
    ],
)
def test_no_open_redirect_after_sign_in(client: TestClient, factory: Factory, backend: str, target: str) -> None:
    officer = factory.officer()
    response = sign_in(client, officer.email, officer.password, next_path=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/officer/queue"


def test_local_workspace_paths_are_kept() -> None:
    assert safe_next("/officer/tickets/HR-ABCD2345") == "/officer/tickets/HR-ABCD2345"
    assert safe_next("/officer/queue?priority=emergency&q=NW1") == "/officer/queue?priority=emergency&q=NW1"
    assert safe_next("/officer") == "/officer"
    assert safe_next(None) == "/officer/queue"


def test_logout_ends_the_session(client: TestClient, factory: Factory, ctx: ServiceContext, backend: str) -> None:
    officer = factory.officer()
    sign_in(client, officer.email, officer.password)
    cookie = client.cookies["officer_session"]
    with transaction(ctx.sessions) as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(OfficerSession))
    # Sign-out is a form like any other: without its token it is refused and nothing ends.
    assert client.post("/officer/logout", data={}, follow_redirects=False).status_code == 403
    out = client.post("/officer/logout", data={"csrf_token": signed_in_csrf(client)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/officer/login?signed_out=1"
    with transaction(ctx.sessions) as s:
        after = s.scalar(sa.select(sa.func.count()).select_from(OfficerSession))
    assert after == before - 1  # the workspace session's row is gone; the API token's stays
    assert "You have signed out" in client.get("/officer/login?signed_out=1").text
    # The old cookie, kept by someone who copied it, opens nothing now.
    client.cookies.set("officer_session", cookie, path="/officer")
    assert client.get("/officer/queue", follow_redirects=False).status_code == 303


def test_a_deactivated_officer_is_signed_out(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    sign_in(client, officer.email, officer.password)
    assert client.get("/officer/queue").status_code == 200
    with transaction(ctx.sessions) as s:
        s.get(Officer, officer.id).active = False  # type: ignore[union-attr]
    assert client.get("/officer/queue", follow_redirects=False).status_code == 303


# -- roles and forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), SUPERVISOR_ONLY)
def test_an_officer_cannot_do_a_supervisors_work(
    signed_in: Callable[..., TestClient], backend: str, method: str, path: str
) -> None:
    client = signed_in(Role.OFFICER)
    data = {"csrf_token": signed_in_csrf(client)} if method != "GET" else None
    response = client.request(method, concrete(path), data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "Supervisors only" in response.text


@pytest.mark.parametrize(("method", "path"), FORM_POSTS)
def test_every_form_checks_its_csrf_token(
    signed_in: Callable[..., TestClient], backend: str, method: str, path: str
) -> None:
    assert form_with_csrf in dict(((m, p), c) for m, p, c in ROUTES)[(method, path)], "route does not check CSRF"
    client = signed_in(Role.SUPERVISOR)
    missing = client.request(method, concrete(path), data={"x": "1"}, follow_redirects=False)
    assert missing.status_code == 403 and "Form refused" in missing.text
    forged = client.request(method, concrete(path), data={"csrf_token": "f" * 64}, follow_redirects=False)
    assert forged.status_code == 403


def test_without_a_secret_key_the_workspace_says_it_is_not_set_up(ctx: ServiceContext, backend: str) -> None:
    unset = dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"secret_key": None}))
    with TestClient(create_app(unset)) as client:
        response = client.get("/officer/login")
        assert response.status_code == 503 and "REPAIRS_SECRET_KEY" in response.text
        assert client.get("/officer/queue", follow_redirects=False).status_code == 503


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({}, False),
        ({"REPAIRS_SECURE_COOKIES": ""}, False),
        ({"REPAIRS_PUBLIC_BASE_URL": "https://repairs.council.example"}, True),
        ({"REPAIRS_PUBLIC_BASE_URL": "https://repairs.council.example", "REPAIRS_SECURE_COOKIES": ""}, True),
        ({"REPAIRS_PUBLIC_BASE_URL": "https://repairs.council.example", "REPAIRS_SECURE_COOKIES": "false"}, False),
        ({"REPAIRS_SECURE_COOKIES": "true"}, True),
    ],
)
def test_when_cookies_are_secure(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], secure: bool) -> None:
    from repairs.settings import Settings

    for name in ("REPAIRS_PUBLIC_BASE_URL", "REPAIRS_SECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).cookies_secure is secure  # type: ignore[call-arg]
