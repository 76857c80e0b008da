"""Which repair a resident's photo is for, the same on every channel: a chat that is not verified is
sent to the assistant to verify, a resident with no open repair is told so, one with a current repair
has it attached there, and otherwise the resident picks from their open repairs.

The current repair is the resident's only open one, or the newest if it was reported in the last
two hours (the assistant asks for a photo right after logging a report).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.repairs_client import RepairsClient, TicketSummary

RECENT = timedelta(hours=2)
CHOICES = 5


class Found(enum.Enum):
    NOT_VERIFIED = "not_verified"
    NO_REPAIR = "no_repair"
    NOT_YOURS = "not_yours"  # the repair the resident named is not one of their open ones
    CHOOSE = "choose"
    TICKET = "ticket"


@dataclass(frozen=True)
class PhotoTarget:
    found: Found
    reference: str | None = None
    choices: tuple[TicketSummary, ...] = field(default_factory=tuple)


def current_ticket(tickets: list[TicketSummary], now: datetime | None = None) -> TicketSummary | None:
    if len(tickets) == 1:
        return tickets[0]
    if not tickets:
        return None
    newest = tickets[0]
    try:
        reported = datetime.fromisoformat(newest.reported_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if reported.tzinfo is None:
        reported = reported.replace(tzinfo=UTC)
    return newest if (now or datetime.now(UTC)) - reported <= RECENT else None


async def photo_target(repairs: RepairsClient, resident: str, wanted: str | None = None) -> PhotoTarget:
    """Where a photo from `resident` goes; `wanted` is a repair the resident picked. Raises the client's
    RepairsUnavailable / RepairsError when the service cannot say."""
    if not await repairs.is_verified(resident):
        return PhotoTarget(Found.NOT_VERIFIED)
    tickets = await repairs.open_tickets(resident)
    if not tickets:
        return PhotoTarget(Found.NO_REPAIR)
    if wanted is not None:
        chosen = next((t for t in tickets if t.reference == wanted), None)
        return PhotoTarget(Found.TICKET, chosen.reference) if chosen else PhotoTarget(Found.NOT_YOURS)
    current = current_ticket(tickets)
    if current is not None:
        return PhotoTarget(Found.TICKET, current.reference)
    return PhotoTarget(Found.CHOOSE, choices=tuple(tickets[:CHOICES]))
