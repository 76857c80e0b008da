"""The supervisors' reports page (figures and charts for a period) and its CSV export of the period's tickets.

The figures come from `repairs.reports`; this module only reads the period from the query string and turns
the figures into words, tables and charts. Dates are whole local days, first to last inclusive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from repairs.context import ServiceContext, get_context
from repairs.database import transaction, utcnow
from repairs.listening.answers import ThemeCounts, theme_counts
from repairs.reports import charts
from repairs.reports.export import export_csv
from repairs.reports.figures import PRIORITIES, Share
from repairs.reports.period import Period, PeriodError, parse_period
from repairs.reports.report import Report, build_report
from repairs.workspace.auth import SupervisorOfficer
from repairs.workspace.formatting import local_time, span
from repairs.workspace.templating import render

router = APIRouter()
log = logging.getLogger(__name__)
Context = Annotated[ServiceContext, Depends(get_context)]

CHANNEL_NAMES = {
    "telegram": "Telegram", "web": "Web chat", "whatsapp": "WhatsApp", "sms": "Text message", "phone": "Phone",
    "email": "E-mail", "open311": "Open311 (FixMyStreet)", "api": "Other systems",
}


@dataclass(frozen=True)
class Chart:
    """A chart and its title, which the page shows above it (the SVG's own title is for screen readers)."""

    title: str
    svg: Markup


@dataclass(frozen=True)
class Charts:
    rp02: Chart
    categories: Chart
    channels: Chart
    weeks: Chart
    ratings: Chart


def _period(request: Request, ctx: ServiceContext) -> tuple[Period | None, dict[str, str], str | None]:
    values = {name: request.query_params.get(name, "").strip()[:10] for name in ("from", "to")}
    tz = ctx.policy.calendar.tz
    today = utcnow().astimezone(tz).date()
    try:
        period = parse_period(values["from"] or None, values["to"] or None, today=today, tz=tz)
    except PeriodError as exc:
        return None, values, str(exc)
    return period, {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}, None


def duration(seconds: float | None) -> str:
    return "no repairs" if seconds is None else span(timedelta(seconds=round(seconds)))


def _charts(report: Report, ctx: ServiceContext) -> Charts:
    done = report.completions
    categories = ctx.policy.categories
    rp02 = [(charts.Bar("Emergency", _percent(done.emergency)), done.emergency),
            (charts.Bar("Non-emergency", _percent(done.non_emergency)), done.non_emergency)]
    ratings = sorted(report.satisfaction.distribution.items(), reverse=True) if report.satisfaction.count else []

    def bar(chart_id: str, title: str, bars: list[charts.Bar], **options: Any) -> Chart:
        return Chart(title, charts.bar_chart(chart_id, title, bars, **options))

    return Charts(
        rp02=bar("chart-rp02", "Repairs completed within target (RP02)", [b for b, share in rp02 if share.whole],
                 fmt=lambda v: f"{v:.1f}%", max_value=100.0, empty="No repairs were completed in this period."),
        categories=bar("chart-categories", "Repairs reported by category",
                       [charts.Bar(categories[c].name if c in categories else c, n)
                        for c, n in report.volumes.by_category]),
        channels=bar("chart-channels", "Repairs reported by channel",
                     [charts.Bar(CHANNEL_NAMES.get(c, c), n) for c, n in report.volumes.by_channel]),
        weeks=Chart("Repairs reported each week (weeks start on Monday)", charts.line_chart(
            "chart-weeks", "Repairs reported each week (weeks start on Monday)",
            [charts.Bar(f"{monday:%-d %b}", n) for monday, n in report.volumes.by_week])),
        ratings=bar("chart-ratings", "Satisfaction ratings given (1 very poor to 5 very good)",
                    [charts.Bar(f"{score} out of 5", n) for score, n in ratings],
                    empty="No ratings were given in this period."),
    )


def _percent(share: Share) -> float:
    return (share.ratio or 0.0) * 100


def _build(ctx: ServiceContext, period: Period) -> tuple[Report, ThemeCounts]:
    with transaction(ctx.sessions) as session:
        return build_report(session, period, now=utcnow()), theme_counts(session, period.start, period.end)


@router.get("/reports", response_class=HTMLResponse)
async def reports(request: Request, officer: SupervisorOfficer, ctx: Context) -> Response:
    period, values, problem = _period(request, ctx)
    if period is None:
        return await render(request, "reports.html", officer, status_code=400, values=values, problem=problem,
                      report=None)
    report, themes = await run_in_threadpool(_build, ctx, period)
    return await render(
        request,
        "reports.html",
        officer,
        values=values,
        problem=None,
        report=report,
        themes=themes,
        charts=_charts(report, ctx),
        priorities=PRIORITIES,
        duration=duration,
        local_time=local_time,
        category_names={code: c.name for code, c in ctx.policy.categories.items()},
        channel_names=CHANNEL_NAMES,
        csv_url=f"/officer/reports/tickets.csv?from={values['from']}&to={values['to']}",
    )


@router.get("/reports/tickets.csv")
async def tickets_csv(request: Request, officer: SupervisorOfficer, ctx: Context) -> Response:
    period, values, problem = _period(request, ctx)
    if period is None:
        return await render(request, "reports.html", officer, status_code=400, values=values, problem=problem,
                      report=None)
    # Who took a copy of the tickets, and for which days: ids and dates only.
    log.info("tickets exported", extra={"officer_id": officer.id, "first_day": values["from"],
                                         "last_day": values["to"]})
    filename = f"repairs-{values['from']}-to-{values['to']}.csv"
    return StreamingResponse(
        export_csv(ctx.sessions, period, ctx.policy.categories),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
