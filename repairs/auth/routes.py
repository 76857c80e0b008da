"""Officer sign-in for API clients: e-mail and password for a bearer token."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from repairs.auth.address_throttle import TooManyFromAddress, begin_attempt, succeeded, throttle_for
from repairs.auth.dependencies import ContextDep
from repairs.auth.officers import AccountLocked, authenticate, issue_session
from repairs.database import transaction, utcnow
from repairs.problems import Problem
from repairs.schemas import RequiredShortText

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: RequiredShortText = Field(max_length=254)
    password: str = Field(min_length=1, max_length=1024, pattern=r"^[^\x00]*$")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime


@router.post("/token", response_model=TokenOut, summary="Officer sign-in")
def token(body: TokenRequest, request: Request, ctx: ContextDep) -> TokenOut:
    issued = None
    try:
        # Counted against the client's address before the password is checked (see address_throttle). The
        # address is uvicorn's: X-Forwarded-For only from a trusted proxy (FORWARDED_ALLOW_IPS).
        client = request.client.host if request.client else None
        with transaction(ctx.sessions) as session:
            attempt = begin_attempt(session, client, throttle_for(ctx.settings))
        # Committed even when sign-in fails, so the failed-login count is kept.
        with transaction(ctx.sessions) as session:
            officer = authenticate(session, body.email, body.password)
            if officer is not None:
                succeeded(session, attempt)
                issued = issue_session(session, officer, ttl=timedelta(hours=ctx.settings.officer_token_ttl_hours))
    except TooManyFromAddress as exc:
        raise Problem(
            429,
            "too_many_failures_from_address",
            "Too many failed sign-ins",
            "Too many sign-ins from this address have failed recently; try again later.",
            headers={"Retry-After": str(max(int((exc.until - utcnow()).total_seconds()), 1))},
        ) from None
    except AccountLocked as exc:
        wait = max(int((exc.until - utcnow()).total_seconds()), 1)
        raise Problem(
            429,
            "account_locked",
            "Account locked",
            "Too many failed sign-ins; try again later.",
            headers={"Retry-After": str(wait)},
        ) from None
    if issued is None:
        raise Problem(401, "login_failed", "Sign-in failed", "Wrong e-mail address or password.")
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)
