"""Request and response bodies for tickets, complaints and ratings."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from repairs_common.channels import RESIDENT_CHANNELS

from repairs.schemas import (
    AvailabilityText,
    BlockText,
    ChatLineText,
    FloorText,
    LongText,
    OptionalLongText,
    RequiredShortText,
    ShortText,
    one_of,
)
from repairs.tickets.models import LocationType, Priority, Status

MAX_CONVERSATION_LINES = 30
# Where a ticket made through the API came from: a resident's chat, or a call or e-mail an officer took.
API_TICKET_CHANNELS = (*RESIDENT_CHANNELS, "phone", "email", "api")


class ConversationLine(BaseModel):
    """One message of the chat that produced a report, as the assistant saw it."""

    model_config = ConfigDict(extra="forbid")
    by: Literal["resident", "assistant"]
    text: ChatLineText


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=30, description="A category code from GET /api/v1/categories")
    description: LongText = Field(description="What is wrong, in the resident's words")
    location_type: LocationType = LocationType.IN_HOME
    location: ShortText | None = Field(default=None, description="Room or place, e.g. kitchen, stairwell")
    block: BlockText | None = None
    floor: FloorText | None = None
    access_notes: OptionalLongText | None = None
    availability: AvailabilityText | None = None
    reported_emergency: bool = Field(
        default=False, description="The assistant judged it an emergency; can raise the priority, never lower it"
    )
    vulnerable_present: bool = Field(
        default=False, description="Someone vulnerable is affected (a baby, an elderly or disabled person)"
    )
    channel: Annotated[str, *one_of(API_TICKET_CHANNELS)] = "api"
    conversation: list[ConversationLine] | None = Field(
        default=None,
        max_length=MAX_CONVERSATION_LINES,
        description="The last messages of the chat that produced the report, oldest first, kept for officers",
    )
    facts: dict[str, Any] | None = Field(
        default=None, description="What the assistant read in the report (repairs_common.facts' wire form); "
        "with them the priority is decided by the fact rules, and the ticket records them")
    answers: dict[str, bool | str] | None = Field(
        default=None, max_length=12, description="The resident's answers to the assistant's questions: "
        "qualifier -> value (e.g. {\"contained\": false})")


class AppointmentOut(BaseModel):
    date: str
    period: str
    starts_at: datetime
    ends_at: datetime
    text: str


class PhotoOut(BaseModel):
    id: str
    width: int
    height: int
    size_bytes: int
    created_at: datetime


class TicketOut(BaseModel):
    reference: str
    category: str
    category_name: str
    priority: Priority
    emergency: bool
    status: Status
    status_text: str
    summary: str
    description: str
    location_type: LocationType
    location: str | None
    reported_at: datetime
    due_at: datetime
    due_text: str
    make_safe_by: datetime | None
    awaab_investigate_by: datetime | None
    appointment: AppointmentOut | None
    photos: list[PhotoOut]
    can_cancel: bool
    can_reopen: bool
    can_rate: bool
    advice: str | None = None
    # For a duplicate merged into another ticket: that ticket's reference.
    merged_into: str | None = None
    # Another household's report this resident is linked to (they said "me too", or their own report was
    # merged into it): shown without what that household told us, and only to follow.
    linked: bool = False


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: OptionalLongText | None = None


class InformationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: LongText


class ReopenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: LongText = "Not fixed"


class RatingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5)
    fixed: bool | None = None
    comment: OptionalLongText | None = None


class RatingOut(BaseModel):
    reference: str
    score: int
    fixed: bool | None
    status: Status


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: LongText
    ticket_reference: RequiredShortText | None = None


class ComplaintOut(BaseModel):
    reference: str
    stage: int
    ticket_reference: str | None
    acknowledge_by: datetime
    respond_by: datetime
    respond_by_text: str
    acknowledge_by_text: str | None = None  # e.g. "by Friday 4 December", as respond_by_text


def encode_cursor(moment: datetime, ident: int) -> str:
    raw = json.dumps([moment.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment_text, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(moment_text)
        if moment.tzinfo is None or not isinstance(ident, int) or not (0 < ident < 2**62):
            return None
        return moment, ident
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        return None
