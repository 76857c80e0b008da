"""Who may use the officer workspace: sign-in, sessions, roles, CSRF, lock-out and sign-out."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from repairs.workspace import pages
from tests.factories import Factory
from tests.workspace_client import sign_in


def workspace_routes() -> list[tuple[str, str]]:
    """Every (method, path) the workspace registers, read from its router (so a new page is covered
    the day it is added)."""
    from fastapi.routing import iter_route_contexts

    app = FastAPI()
    pages.install(app)
    found = []
    for route in iter_route_contexts(app.router.routes):
        if route.path.startswith("/officer") and route.methods:
            found.extend((method, route.path) for method in sorted(route.methods) if method != "HEAD")
    return sorted(set(found))


PUBLIC = {("GET", "/officer/login"), ("POST", "/officer/login")}


def concrete(path: str) -> str:
    """A path template with its parameters filled in with harmless values."""
    return re.sub(r"\{[^}]+\}", lambda m: "HR-AAAA2222" if "reference" in m.group(0) else "1", path)


@pytest.mark.parametrize(("method", "path"), [r for r in workspace_routes() if r not in PUBLIC])
def test_nothing_under_officer_without_signing_in(client: TestClient, backend: str, method: str, path: str) -> None:
    response = client.request(method, concrete(path), follow_redirects=False)
    if method == "GET":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/officer/login?next=")
    else:
        assert response.status_code == 401
        assert "Sign in again" in response.text
    assert response.headers["cache-control"] == "no-store"


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
