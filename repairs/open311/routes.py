"""Open311 GeoReport v2 under /open311/v2/, for FixMyStreet and other civic reporting clients.

    GET  services.{json,xml}                         the repair categories (public: the discovery document)
    GET  services/{service_code}.{json,xml}          a category's attributes
    POST requests.{json,xml}                         report a repair (form-encoded; needs api_key)
    GET  requests.{json,xml}                         requests, filtered (needs api_key; non-personal only)
    GET  requests/{service_request_id}.{json,xml}    one request (needs api_key)

Errors are RFC 9457 problem documents for .json and the Open311 `<errors>` document for .xml.
Requests are parsed by hand (not by FastAPI validation) so every malformed input gets a 400 in the
right format, never a 422 in the wrong one and never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from repairs.auth.dependencies import ContextDep
from repairs.context import ServiceContext, context_of
from repairs.database import transaction, utcnow
from repairs.idempotency.service import request_fingerprint, run_once, validate_key
from repairs.open311 import listing, xml
from repairs.open311.keys import ApiClient, check_api_key
from repairs.open311.schemas import (
    Report,
    bad_request,
    parse_report,
    postcode_district,
    service_definition,
    services,
)
from repairs.problems import Problem, problem_response
from repairs.residents.models import Property
from repairs.tickets import service
from repairs.tickets.models import Ticket

router = APIRouter(prefix="/open311/v2", tags=["open311"])

FORMATS = ("json", "xml")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM_FIELDS = 200
PRIVATE = {"Cache-Control": "private, no-store"}
PUBLIC = {"Cache-Control": "public, max-age=300"}


# -- formats and errors ---------------------------------------------------------------------------------


def _format(fmt: str) -> str | None:
    lowered = fmt.lower()
    return lowered if lowered in FORMATS else None


def _unsupported(request: Request) -> Response:
    return problem_response(
        404, "not_found", "Not found", "Open311 documents are available as .json or .xml.",
        instance=request.url.path,
    )


def _error(fmt: str, request: Request, exc: Problem) -> Response:
    if fmt == "xml":
        return Response(
            xml.errors([(exc.status, exc.detail or exc.title)]),
            status_code=exc.status,
            media_type=xml.XML_MEDIA_TYPE,
            headers=exc.headers or None,
        )
    return problem_response(
        exc.status, exc.code, exc.title, exc.detail,
        instance=request.url.path, headers=exc.headers, **exc.extra,
    )


def _list(fmt: str, root: str, item: str, items: list[dict[str, Any]], *, status_code: int = 200,
          headers: dict[str, str] | None = None) -> Response:
    if fmt == "xml":
        return Response(xml.document(root, item, items), status_code=status_code,
                        media_type=xml.XML_MEDIA_TYPE, headers=headers)
    return JSONResponse(items, status_code=status_code, headers=headers)


# -- services -----------------------------------------------------------------------------------------


@router.get("/services.{fmt}", summary="Service list: the repair categories (no api_key needed)",
            response_class=Response)
def list_services(fmt: str, request: Request, ctx: ContextDep) -> Response:
    chosen = _format(fmt)
    if chosen is None:
        return _unsupported(request)
    return _list(chosen, "services", "service", services(ctx.policy), headers=PUBLIC)


@router.get("/services/{service_code}.{fmt}", summary="Service definition: a category's attributes",
            response_class=Response)
def get_service(service_code: str, fmt: str, request: Request, ctx: ContextDep) -> Response:
    chosen = _format(fmt)
    if chosen is None:
        return _unsupported(request)
    if service_code not in ctx.policy.categories:
        return _error(chosen, request, Problem(404, "not_found", "Service not found",
                                               "No service with that service_code: see services.json."))
    definition = service_definition(ctx.policy, service_code, utcnow())
    if chosen == "xml":
        return Response(xml.single("service_definition", definition), media_type=xml.XML_MEDIA_TYPE,
                        headers=PUBLIC)
    return JSONResponse(definition, headers=PUBLIC)


# -- POST requests --------------------------------------------------------------------------------------


async def _submitted_fields(request: Request) -> dict[str, str]:
    """The form fields (the first value of each). Without a Content-Type, the query string is used."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type:
        return {k: v for k, v in reversed(request.query_params.multi_items())}
    if content_type not in FORM_TYPES:
        raise Problem(415, "unsupported_media_type", "Unsupported media type",
                      "Send the request as application/x-www-form-urlencoded, as Open311 specifies.")
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except (StarletteHTTPException, MultiPartException):
        raise bad_request("form_invalid", "The form could not be read (too many fields, or files).") from None
    try:
        fields: dict[str, str] = {}
        for name, value in form.multi_items():
            if not isinstance(value, str):
                raise bad_request("form_invalid", "Send a media_url instead of uploading files.")
            fields.setdefault(name, value)
        return fields
    finally:
        await form.close()


@dataclass(frozen=True)
class _Submitted:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def _service_notice(ctx: ServiceContext, ticket: Ticket, advice: str | None) -> str:
    due = ctx.policy.describe_deadline(ticket.due_at, utcnow())
    notice = (
        f"Thank you: we have logged this as {ticket.reference}, a {ticket.priority.value} repair. "
        f"We aim to finish it {due}."
    )
    if advice:
        notice += "\n\n" + advice
    return notice


def _create(session: Session, ctx: ServiceContext, client: ApiClient, report: Report) -> dict[str, Any]:
    category = ctx.policy.categories[report.service_code]
    prop = None
    if report.address_id is not None:
        prop = session.scalar(select(Property).where(Property.uprn == report.address_id))
        if prop is None and report.lat is None and report.address_string is None:
            raise bad_request(
                "address_id_unknown",
                "address_id is not a property we know: send lat and long or address_string instead.",
            )
    block = report.block or (prop.block if prop is not None and category.communal else None)
    actor = service.Actor(type="open311", id=client.actor_id)
    new = service.NewTicket(
        category=category.code,
        description=report.description,
        location_type=report.location_type,
        location=report.location,
        block=block,
        floor=report.floor,
        channel=listing.CHANNEL,
        reporter_name=report.reporter_name,
        reporter_email=report.email,
        reporter_phone=report.phone,
    )
    try:
        created = service.create_ticket(
            session, ctx.policy, new, actor=actor, resident=None, prop=prop,
            officer_alert_chat=ctx.settings.officer_alert_chat,
        )
    except service.NotCouncilResponsibility as exc:  # pragma: no cover - only for known leaseholders
        raise bad_request("not_council_responsibility", exc.reason) from None
    ticket = created.ticket

    details: dict[str, Any] = {
        "client": client.name,
        "lat": report.lat,
        "long": report.long,
        "address_string": report.address_string,
        "address_id": report.address_id,
        "address_id_matched": prop is not None if report.address_id is not None else None,
        "postcode_district": postcode_district(report.address_string),
        "location_type_given": report.location_type_given,
        "device_id": report.device_id,
        "account_id": report.account_id,
        "attributes": report.other_attributes or None,
    }
    session.add(service.record_event(
        ticket, actor, listing.REPORT_EVENT, data={k: v for k, v in details.items() if v is not None}
    ))
    if report.media_url is not None:
        # Recorded for officers only and never fetched here: fetching a client's URL is an SSRF risk.
        session.add(service.record_event(ticket, actor, "information_added", data={
            "text": "Link to a photo or file sent with the Open311 report "
                    "(not fetched by us; open with care): " + report.media_url,
            "media_url": report.media_url,
        }))
    session.flush()
    return {"service_request_id": ticket.reference, "service_notice": _service_notice(ctx, ticket, created.advice),
            "account_id": None}


def _submit(ctx: ServiceContext, fields: dict[str, str], idempotency_key: str | None) -> _Submitted:
    client = check_api_key(ctx.sessions, fields.get("api_key"))
    report = parse_report(fields, ctx.policy)
    if idempotency_key is None:
        with transaction(ctx.sessions) as session:
            return _Submitted(201, _create(session, ctx, client, report), replayed=False)
    key = validate_key(idempotency_key)
    outcome = run_once(
        ctx.sessions,
        principal=client.principal,
        key=key,  # the principal already names the client
        fingerprint=request_fingerprint(report.fingerprint_payload()),
        create=lambda session: (201, _create(session, ctx, client, report)),
    )
    return _Submitted(outcome.status_code, outcome.body, outcome.replayed)


@router.post("/requests.{fmt}", summary="Report a repair (form-encoded; api_key required)",
             response_class=Response, status_code=201)
async def post_request(fmt: str, request: Request) -> Response:
    chosen = _format(fmt)
    if chosen is None:
        return _unsupported(request)
    ctx = context_of(request)
    try:
        fields = await _submitted_fields(request)
        if "api_key" not in fields and "api_key" in request.query_params:
            fields["api_key"] = request.query_params["api_key"]
        submitted = await run_in_threadpool(_submit, ctx, fields, request.headers.get("idempotency-key"))
    except Problem as exc:
        return _error(chosen, request, exc)
    headers = {"Idempotent-Replayed": "true"} if submitted.replayed else {}
    return _list(chosen, "service_requests", "request", [submitted.body], status_code=submitted.status_code,
                 headers={**headers, **PRIVATE})


# -- GET requests ---------------------------------------------------------------------------------------


@router.get("/requests.{fmt}", summary="Requests, filtered (api_key required; no personal data)",
            response_class=Response)
def list_requests(fmt: str, request: Request, ctx: ContextDep) -> Response:
    chosen = _format(fmt)
    if chosen is None:
        return _unsupported(request)
    params = request.query_params
    try:
        check_api_key(ctx.sessions, params.get("api_key"))
        flt = listing.parse_filter(params, ctx.policy, utcnow())
        with transaction(ctx.sessions) as session:
            agency = ctx.settings.council_name
            items = [listing.present(row, ctx.policy, agency=agency) for row in listing.find(session, flt)]
    except Problem as exc:
        return _error(chosen, request, exc)
    return _list(chosen, "service_requests", "request", items, headers=PRIVATE)


@router.get("/requests/{service_request_id}.{fmt}",
            summary="One request (api_key required; no personal data)", response_class=Response)
def get_request(service_request_id: str, fmt: str, request: Request, ctx: ContextDep) -> Response:
    chosen = _format(fmt)
    if chosen is None:
        return _unsupported(request)
    try:
        check_api_key(ctx.sessions, request.query_params.get("api_key"))
        with transaction(ctx.sessions) as session:
            row = listing.find_one(session, service_request_id)
            if row is None:
                raise Problem(404, "not_found", "Request not found", "No service request has that id.")
            item = listing.present(row, ctx.policy, agency=ctx.settings.council_name)
    except Problem as exc:
        return _error(chosen, request, exc)
    return _list(chosen, "service_requests", "request", [item], headers=PRIVATE)
