"""Signing a test client in to the officer workspace the way a browser does: fetch the form, post it."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from httpx import Response

from tests.factories import Factory, OfficerHandle

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


def text_of(page: str) -> str:
    """The page as a reader sees it: tags gone, entities decoded, spaces collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def signed_in_officer(client: TestClient, factory: Factory) -> OfficerHandle:
    """A new officer, signed in on `client` through the login form."""
    handle = factory.officer()
    assert sign_in(client, handle.email, handle.password).status_code == 303
    return handle


class RecordPage:
    """A record's page under `base` (a ticket's, a complaint's) as the signed-in officer's browser has it, and
    its forms posted the way it posts them."""

    def __init__(self, client: TestClient, base: str, ref: str, query: str = "") -> None:
        self.client, self.base, self.ref = client, base, ref
        self.response = client.get(f"{base}/{ref}{query}")
        assert self.response.status_code == 200, self.response.text
        self.html = self.response.text
        self.text = text_of(self.html)

    def post(self, action: str, **fields: str) -> Response:
        data = {"csrf_token": csrf_of(self.html), **fields}
        return self.client.post(f"{self.base}/{self.ref}/{action}", data=data, follow_redirects=False)


def assert_done(response: Response, page: str, what: str) -> None:
    """A change that worked: 303 back to the record's page (which then says so)."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{page}?done={what}"
