"""What the forms on a record's page (a ticket's, a complaint's) share: reading a field, the officer's words
checked as the API checks them, what was typed kept for showing the form again, and who is acting."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData

from repairs.schemas import LongText, OptionalLongText
from repairs.tickets.service import Actor
from repairs.workspace.auth import WorkspaceOfficer

_LONG = TypeAdapter(LongText)
_OPTIONAL_LONG = TypeAdapter(OptionalLongText)


class FormProblem(Exception):
    """What the officer sent cannot be used; said in words next to the form."""


def field(form: FormData, name: str, limit: int = 4000) -> str:
    """The field's text, cut one past `limit` so a check on length still sees it was too long."""
    value = form.get(name)
    return value[: limit + 1] if isinstance(value, str) else ""


def long_text(form: FormData, name: str, what: str) -> str:
    try:
        return _LONG.validate_python(field(form, name))
    except ValidationError:
        raise FormProblem(f"Write the {what} (at most 4,000 characters, no control characters).") from None


def optional_long_text(form: FormData, name: str, what: str) -> str | None:
    try:
        return _OPTIONAL_LONG.validate_python(field(form, name)).strip() or None
    except ValidationError:
        raise FormProblem(f"The {what} can be at most 4,000 characters, with no control characters.") from None


def kept(form: FormData) -> dict[str, str]:
    """What was typed, to fill the form in again when it is refused (never the CSRF token)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def officer_actor(officer: WorkspaceOfficer) -> Actor:
    return Actor(type="officer", id=str(officer.id))  # as the JSON API and ticket events record officers
