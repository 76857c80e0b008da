"""Who is calling: the service token (bot, action server), an officer, or a resident acting through a channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Header, Request
from repairs_common.channels import RESIDENT_CHANNELS, ChannelIdentityError
from repairs_common.channels import parse_channel_identity as parse_identity
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from repairs.auth.models import Role
from repairs.auth.officers import officer_for_token
from repairs.auth.secrets import same_secret
from repairs.context import ServiceContext, get_context
from repairs.database import transaction
from repairs.problems import Problem
from repairs.residents.models import ChannelIdentity

_UNAUTHORISED = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    kind: Literal["service", "officer"]
    officer_id: int | None = None
    role: Role | None = None

    @property
    def actor_id(self) -> str:
        return "service" if self.kind == "service" else f"officer:{self.officer_id}"


@dataclass(frozen=True)
class ResidentActor:
    """A verified resident, reached through a channel identity the bot vouches for."""

    resident_id: int
    channel: str
    external_id: str

    @property
    def principal_key(self) -> str:
        return f"resident:{self.resident_id}"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def get_principal(request: Request, ctx: Annotated[ServiceContext, Depends(get_context)]) -> Principal:
    token = _bearer(request)
    if token is None or len(token) > 512:
        raise Problem(401, "unauthorised", "Authentication needed", "Send a bearer token.", headers=_UNAUTHORISED)
    if ctx.api_token and same_secret(token, ctx.api_token):
        return Principal(kind="service")
    # Only an officer token needs the database; that lookup runs off the event loop.
    found = await run_in_threadpool(_officer_principal, ctx, token)
    if found is not None:
        return found
    raise Problem(401, "unauthorised", "Authentication needed", "The token is not valid.", headers=_UNAUTHORISED)


def _officer_principal(ctx: ServiceContext, token: str) -> Principal | None:
    with transaction(ctx.sessions) as session:
        officer = officer_for_token(session, token)
        if officer is None:
            return None
        return Principal(kind="officer", officer_id=officer.id, role=officer.role)


async def require_service(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if principal.kind != "service":
        raise Problem(403, "forbidden", "Not allowed", "Only the assistant's service token may do this.")
    return principal


async def require_officer(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if principal.kind != "officer":
        raise Problem(403, "forbidden", "Not allowed", "This needs an officer account.")
    return principal


async def require_supervisor(principal: Annotated[Principal, Depends(require_officer)]) -> Principal:
    if principal.role != Role.SUPERVISOR:
        raise Problem(403, "forbidden", "Not allowed", "This needs a supervisor account.")
    return principal


def parse_channel_identity(raw: str | None) -> tuple[str, str]:
    if not raw:
        raise Problem(
            400,
            "resident_identity_missing",
            "Resident identity missing",
            "Send X-Resident-Channel as channel:id, for example telegram:12345.",
        )
    try:
        identity = parse_identity(raw.strip())
    except ChannelIdentityError:
        raise Problem(
            400,
            "resident_identity_invalid",
            "Resident identity not valid",
            f"X-Resident-Channel must be channel:id with a channel of {', '.join(RESIDENT_CHANNELS)}.",
        ) from None
    return identity.channel, identity.external_id


def get_resident(
    principal: Annotated[Principal, Depends(require_service)],
    ctx: Annotated[ServiceContext, Depends(get_context)],
    x_resident_channel: Annotated[str | None, Header()] = None,
) -> ResidentActor:
    channel, external_id = parse_channel_identity(x_resident_channel)
    with transaction(ctx.sessions) as session:
        resident_id = session.scalar(
            select(ChannelIdentity.resident_id).where(
                ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
            )
        )
    if resident_id is None:
        raise Problem(
            403,
            "not_verified",
            "Not verified",
            "This chat is not linked to a resident yet: verify with a tenancy reference and postcode.",
        )
    return ResidentActor(resident_id=resident_id, channel=channel, external_id=external_id)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
ServiceDep = Annotated[Principal, Depends(require_service)]
OfficerDep = Annotated[Principal, Depends(require_officer)]
SupervisorDep = Annotated[Principal, Depends(require_supervisor)]
ResidentDep = Annotated[ResidentActor, Depends(get_resident)]
ContextDep = Annotated[ServiceContext, Depends(get_context)]
