"""Signing a test client in to the officer workspace the way a browser does: fetch the form, post it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(page: Response | str) -> str:
    text = page if isinstance(page, str) else page.text
    found = CSRF.search(text)
    assert found, "the page has no csrf_token field"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str, *, next_path: str = "/officer/queue") -> Response:
    form = client.get("/officer/login", params={"next": next_path})
    assert form.status_code == 200, form.text
    return client.post(
        "/officer/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form), "next": next_path},
        follow_redirects=False,
    )


def signed_in_csrf(client: TestClient, page: str = "/officer/queue") -> str:
    """The CSRF token of the signed-in officer, read from a page as a browser would."""
    response = client.get(page)
    assert response.status_code == 200, response.text
    return csrf_of(response)
