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
from repairs.listening import imports, overview
from repairs.listening.hotspots import find_hotspots
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
        hotspots = find_hotspots(session, now=utcnow())
        overview.audit(session, officer_id, ViewAction.PAGE, f.describe())
    computed = max((t.computed_at for t in themes + not_understood if t.answered_at is None), default=None)
    return {"rows": rows, "total": total, "themes": themes, "not_understood": not_understood,
            "hotspots": hotspots, "computed_at": computed}


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
    imported = request.query_params.get("imported", "")
    done = f"Imported {int(imported):,} new post(s)." if imported.isdigit() else None
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
