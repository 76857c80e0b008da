"""Identity checks and the resident's own profile, for the bot and the action server."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field

from repairs.auth.dependencies import ContextDep, ResidentDep, ServiceDep, parse_channel_identity
from repairs.channels import state as chat_state
from repairs.database import transaction
from repairs.listening.store import forget_chat_words
from repairs.problems import Problem
from repairs.residents.models import Resident, Tenure
from repairs.residents.verification import VerificationFailed, unlink, verify_and_link
from repairs.residents.verify_throttle import (
    TooManyAttempts,
    VerifyRequest,
    begin_attempt,
    succeeded,
    throttles_for,
)
from repairs.schemas import ChannelUserId, Postcode, ResidentChannel, TenancyReference
from repairs.tickets.models import LocationType

router = APIRouter(prefix="/api/v1", tags=["residents"])


class VerifyBody(BaseModel):
    """Written out one way before anything compares them: 't 100234' arrives here as T-100234."""

    model_config = ConfigDict(extra="forbid")
    tenancy_reference: TenancyReference = Field(description="e.g. T-100234")
    postcode: Postcode = Field(description="e.g. NW1 7AB")
    channel: ResidentChannel
    channel_user_id: ChannelUserId


class PropertyOut(BaseModel):
    address: str
    postcode: str
    block: str | None
    estate: str | None


class ResidentOut(BaseModel):
    first_name: str
    tenure: Tenure
    vulnerable: bool
    property: PropertyOut


class ResponsibilityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(max_length=30)
    location_type: LocationType = LocationType.IN_HOME
    text: str = Field(default="", max_length=4000)


class ResponsibilityOut(BaseModel):
    responsible: Literal["council", "resident"]
    reason: str
    advice: str | None


def _resident_out(resident: Resident) -> ResidentOut:
    prop = resident.tenancy.property
    address = ", ".join(p for p in (prop.address_line1, prop.address_line2) if p)
    return ResidentOut(
        first_name=resident.full_name.split()[0] if resident.full_name.strip() else "",
        tenure=resident.tenure,
        vulnerable=resident.is_vulnerable,
        property=PropertyOut(address=address, postcode=prop.postcode, block=prop.block, estate=prop.estate),
    )


_NO_MATCH = (
    "We could not match those details. Check the tenancy reference on your tenancy agreement or rent "
    "statement, and the postcode of the home."
)


# The bot's keyed digest of a web chat's client address (never the address), which the action server passes
# on from the signed turn's metadata; absent for Telegram, whose chat is the client.
ClientDigest = Annotated[str | None, Header(max_length=128, pattern=r"^[A-Za-z0-9_-]{16,128}$")]


@router.post("/residents/verify", response_model=ResidentOut, summary="Link a chat to a resident")
def verify(
    body: VerifyBody, _service: ServiceDep, ctx: ContextDep, x_resident_client: ClientDigest = None
) -> ResidentOut:
    asking = VerifyRequest(
        channel=body.channel,
        external_id=body.channel_user_id,
        tenancy_reference=body.tenancy_reference,
        postcode=body.postcode,
        client=x_resident_client,
    )
    try:
        # Counted as a failure before the details are checked, and committed (see verify_throttle).
        with transaction(ctx.sessions) as session:
            attempt = begin_attempt(session, throttles_for(ctx.settings), asking)
    except TooManyAttempts as exc:
        raise Problem(
            429,
            "too_many_attempts",
            "Too many attempts",
            "Too many details did not match. Please wait a while, or call us.",
            headers={"Retry-After": str(exc.retry_after_seconds)},
        ) from None
    try:
        with transaction(ctx.sessions) as session:
            resident = verify_and_link(
                session,
                tenancy_reference=body.tenancy_reference,
                postcode=body.postcode,
                channel=body.channel,
                external_id=body.channel_user_id,
                tz=ctx.policy.calendar.tz,
            )
            succeeded(session, attempt)
            return _resident_out(resident)
    except VerificationFailed:
        raise Problem(401, "verification_failed", "Details not matched", _NO_MATCH) from None
    except Exception:
        # Our failure, not the resident's: the attempt does not count against them.
        with transaction(ctx.sessions) as session:
            succeeded(session, attempt)
        raise


@router.get("/residents/me", response_model=ResidentOut, summary="The verified resident behind this chat")
def me(actor: ResidentDep, ctx: ContextDep) -> ResidentOut:
    with transaction(ctx.sessions) as session:
        resident = session.get(Resident, actor.resident_id)
        if resident is None:
            raise Problem(403, "not_verified", "Not verified")
        return _resident_out(resident)


@router.delete("/residents/me/identity", status_code=204, summary="Unlink this chat (forget me)")
def forget_identity(
    _service: ServiceDep,
    ctx: ContextDep,
    x_resident_channel: Annotated[str | None, Header()] = None,
) -> Response:
    channel, external_id = parse_channel_identity(x_resident_channel)
    with transaction(ctx.sessions) as session:
        unlink(session, channel, external_id)
        chat_state.erase_chat(session, channel, external_id)  # what the bot kept for the chat goes too
        forget_chat_words(session, ctx.settings, channel, external_id)  # and what listening kept of its words
    return Response(status_code=204)


@router.post("/responsibility", response_model=ResponsibilityOut, summary="Whose repair is this, and why")
def responsibility(body: ResponsibilityBody, actor: ResidentDep, ctx: ContextDep) -> ResponsibilityOut:
    try:
        ctx.policy.category(body.category)
    except KeyError:
        raise Problem(422, "unknown_category", "Unknown category") from None
    with transaction(ctx.sessions) as session:
        resident = session.get(Resident, actor.resident_id)
        assert resident is not None
        tenure = resident.tenure
    duty = ctx.policy.responsibility(tenure, body.category, body.location_type, body.text)
    return ResponsibilityOut(responsible=duty.responsible, reason=duty.reason, advice=duty.advice)

