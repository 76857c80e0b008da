"""The listening page (`/officer/listening`), its CSV export (`/officer/listening.csv`) and the import of
posts and e-mails from elsewhere. Officers with the insight permission only; every view is audited.

The figures come from `repairs.listening`; this module reads the filter and the forms and renders them.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from repairs.context import ServiceContext, get_context
from repairs.database import transaction, utcnow
from repairs.listening import answers, imports, overview
from repairs.listening import hotspots as hotspot_store
from repairs.listening.models import Source, ThemeKind, ViewAction
from repairs.listening.store import store_posts
from repairs.workspace.auth import CsrfForm, InsightOfficer
from repairs.workspace.templating import render

router = APIRouter()
log = logging.getLogger(__name__)
Context = Annotated[ServiceContext, Depends(get_context)]

SOURCE_NAMES = {Source.ASSISTANT.value: "Assistant", Source.SOCIAL.value: "Social media",
                Source.EMAIL.value: "E-mail", Source.OTHER.value: "Other"}
CSV_FIELDS = ("said_at", "source", "channel", "text", "intent", "category", "confidence", "fell_back", "block",
              "estate", "dissatisfaction")
MAX_UPLOAD = 10 * 1024 * 1024


def _filter(request: Request) -> overview.Filter:
    q = request.query_params
    return overview.Filter.from_query(q.get("days"), q.get("source"), q.get("not_understood"))


def _page_data(ctx: ServiceContext, officer_id: int, f: overview.Filter) -> dict[str, object]:
    with transaction(ctx.sessions) as session:
        rows, total = overview.recent(session, f)
        themes = overview.themes(session, ThemeKind.THEME)
        not_understood = overview.themes(session, ThemeKind.NOT_UNDERSTOOD, limit=10)
        hotspots = hotspot_store.saved(session)  # found by the background job with the themes
        unhappy = overview.dissatisfaction(session, f)
        overview.audit(session, officer_id, ViewAction.PAGE, f.describe())
    computed = max((t.computed_at for t in themes + not_understood if t.answered_at is None), default=None)
    return {"rows": rows, "total": total, "themes": themes, "not_understood": not_understood,
            "hotspots": hotspots, "computed_at": computed, "dissatisfaction": unhappy}


async def _page(request: Request, officer: InsightOfficer, ctx: ServiceContext, *, status_code: int = 200,
                done: str | None = None, error: str | None = None) -> Response:
    f = _filter(request)
    data = await run_in_threadpool(_page_data, ctx, officer.id, f)
    query = f"days={f.days}" + (f"&source={f.source.value}" if f.source else "") + (
        "&not_understood=1" if f.not_understood else "")
    return await render(request, "listening.html", officer, status_code=status_code, filter=f,
                        periods=overview.PERIODS, sources=SOURCE_NAMES, csv_url=f"/officer/listening.csv?{query}",
                        done=done, error=error, category_names={c: v.name for c, v in ctx.policy.categories.items()},
                        **data)


@router.get("/listening", response_class=HTMLResponse)
async def listening(request: Request, officer: InsightOfficer, ctx: Context) -> Response:
    q = request.query_params
    imported, sent = q.get("imported", ""), q.get("sent", "")
    done = f"Imported {int(imported):,} new post(s)." if imported.isdigit() else None
    if sent.isdigit():
        drafts, unreachable = q.get("drafts", "0"), q.get("unreachable", "0")
        done = (f"Reply sent to {int(sent):,} resident(s) on their chat. "
                + (f"{int(drafts):,} post(s) or e-mail(s) from elsewhere: the draft below is for replying by hand. "
                   if drafts.isdigit() and int(drafts) else "")
                + (f"{int(unreachable):,} chat(s) never verified and cannot be reached."
                   if unreachable.isdigit() and int(unreachable) else ""))
    return await _page(request, officer, ctx, done=done)


def _csv_rows(ctx: ServiceContext, f: overview.Filter) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for row in overview.stream(ctx.sessions, f):
        writer.writerow([row.said_at.isoformat(), row.source, row.channel, row.text, row.intent or "",
                         row.category or "", "" if row.confidence is None else f"{row.confidence:.3f}",
                         int(row.fell_back), row.block or "", row.estate or "",
                         "" if row.dissatisfaction is None else f"{row.dissatisfaction:.3f}"])
        if out.tell() > 64 * 1024:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def _audit(ctx: ServiceContext, officer_id: int, action: ViewAction, detail: str) -> None:
    with transaction(ctx.sessions) as session:
        overview.audit(session, officer_id, action, detail)


@router.get("/listening.csv")
async def listening_csv(request: Request, officer: InsightOfficer, ctx: Context) -> Response:
    f = _filter(request)
    await run_in_threadpool(_audit, ctx, officer.id, ViewAction.CSV, f.describe())
    log.info("listening exported", extra={"officer_id": officer.id})
    return StreamingResponse(_csv_rows(ctx, f), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="listening.csv"'})


def _import(ctx: ServiceContext, officer_id: int, posts: list[imports.Post]) -> int:
    with transaction(ctx.sessions) as session:
        added = store_posts(session, posts)
        overview.audit(session, officer_id, ViewAction.IMPORT, f"rows={len(posts)} new={added}")
    return added


@router.post("/listening/import", response_class=HTMLResponse)
async def import_posts(request: Request, form: CsrfForm, officer: InsightOfficer, ctx: Context) -> Response:
    # The form is checked first, so a forged post is refused as one whatever the officer's permissions.
    now = utcnow()
    try:
        source = imports.source_named(str(form.get("source") or ""), Source.SOCIAL)
        upload = form.get("file")
        pasted = form.get("text")
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                raise imports.ImportRefused("The file is larger than 10 MB: split it.")
            posts = imports.from_csv(data, source, now)
        elif isinstance(pasted, str) and pasted.strip():
            posts = imports.pasted(pasted[:200_000], source, now)
        else:
            raise imports.ImportRefused("Paste a post or e-mail, or choose a CSV file.")
    except imports.ImportRefused as exc:
        return await _page(request, officer, ctx, status_code=422, error=str(exc))
    added = await run_in_threadpool(_import, ctx, officer.id, posts)
    return RedirectResponse(f"/officer/listening?imported={added}", status_code=303)


def _answer(ctx: ServiceContext, officer_id: int, theme_id: int | None, text: str,
            hotspot: tuple[str, str] | None) -> answers.Answered:
    with transaction(ctx.sessions) as session:
        if hotspot is not None:
            block, category = hotspot
            name = ctx.policy.categories[category].name if category in ctx.policy.categories else category
            theme_id = answers.theme_for_hotspot(session, block=block, category=category, label=f"{name} at {block}")
        assert theme_id is not None
        done = answers.answer_theme(session, theme_id=theme_id, officer_id=officer_id, text=text,
                                    council_name=ctx.settings.council_name)
        overview.audit(session, officer_id, ViewAction.ANSWER, f"theme={done.theme_id} sent={done.sent}")
    log.info("listening theme answered", extra={"officer_id": officer_id, "theme_id": done.theme_id,
                                                "sent": done.sent})
    return done


async def _answered(request: Request, officer: InsightOfficer, ctx: ServiceContext, theme_id: int | None,
                    text: object, hotspot: tuple[str, str] | None) -> Response:
    try:
        done = await run_in_threadpool(_answer, ctx, officer.id, theme_id, text if isinstance(text, str) else "",
                                       hotspot)
    except answers.AnswerRefused as exc:
        return await _page(request, officer, ctx, status_code=422, error=str(exc))
    return RedirectResponse(f"/officer/listening?sent={done.sent}&drafts={done.drafts}"
                            f"&unreachable={done.unreachable}#theme-{done.theme_id}", status_code=303)


@router.post("/listening/themes/{theme_id}/answer", response_class=HTMLResponse)
async def answer_theme(request: Request, theme_id: int, form: CsrfForm, officer: InsightOfficer,
                       ctx: Context) -> Response:
    if not (1 <= theme_id <= 2**31 - 1):
        return await _page(request, officer, ctx, status_code=404, error="There is no such theme.")
    return await _answered(request, officer, ctx, theme_id, form.get("text"), None)


@router.post("/listening/hotspots/answer", response_class=HTMLResponse)
async def answer_hotspot(request: Request, form: CsrfForm, officer: InsightOfficer, ctx: Context) -> Response:
    block, category = form.get("block"), form.get("category")
    if not (isinstance(block, str) and isinstance(category, str) and block and category):
        return await _page(request, officer, ctx, status_code=422, error="Choose a hotspot to answer.")
    return await _answered(request, officer, ctx, None, form.get("text"), (block[:100], category[:40]))
