"""Rendering workspace pages: one Jinja2 environment (autoescaped), the context every page gets."""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.routing import Match

from repairs.context import context_of
from repairs.workspace.alerts_banner import emergency_banner
from repairs.workspace.auth import WorkspaceOfficer
from repairs.workspace.formatting import local_time, span, time_left

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


@pass_context
def _csrf_field(context: Context) -> Markup:
    token = context.get("csrf_token") or ""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(token))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Built on first use (nothing at import time) and shared: templates are read-only."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["csrf_field"] = _csrf_field
    env.filters["local_time"] = local_time
    env.filters["span"] = span
    env.globals["time_left"] = time_left
    env.globals["emergency_banner"] = emergency_banner  # base.html shows unacknowledged emergencies
    return env


# The navigation: label, path, and who sees it ("all", "supervisor", "insight": officers with the insight
# permission, or "data_protection": officers with the data protection permission). A link shows only once its
# page is registered, so a page another module adds later appears without editing this list's callers.
NAV: tuple[tuple[str, str, str], ...] = (
    ("Queue", "/officer/queue", "all"),
    ("Complaints", "/officer/complaints", "all"),
    ("Alerts", "/officer/alerts", "all"),
    ("Announcements", "/officer/announcements", "all"),
    ("Reports", "/officer/reports", "supervisor"),
    ("Listening", "/officer/listening", "insight"),
    ("Accounts", "/officer/accounts", "supervisor"),
    ("Residents", "/officer/residents", "data_protection"),
)


def _may_see(officer: WorkspaceOfficer, who: str) -> bool:
    return (who == "all" or (who == "supervisor" and officer.is_supervisor) or (who == "insight" and officer.insight)
            or (who == "data_protection" and officer.data_protection))


def _registered(app: Any, path: str) -> bool:
    """Does some route answer a GET for `path`? (Asked of the router itself, since FastAPI keeps
    included routers as nodes rather than a flat list of paths.) Remembered per app: routes are fixed
    once the app is built."""
    known: dict[str, bool] | None = getattr(app.state, "workspace_nav_known", None)
    if known is None:
        known = app.state.workspace_nav_known = {}
    if path not in known:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [], "query_string": b""}
        known[path] = any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)
    return known[path]


def _nav(request: Request, officer: WorkspaceOfficer | None) -> list[dict[str, Any]]:
    if officer is None:
        return []
    return [
        {"label": label, "path": path, "current": request.url.path.startswith(path)}
        for label, path, who in NAV
        if _may_see(officer, who) and _registered(request.app, path)
    ]


async def render(
    request: Request,
    name: str,
    officer: WorkspaceOfficer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page `name` for `officer`, rendered in the thread pool: base.html's banner asks the database, and a
    big template (the reports' charts) takes milliseconds, neither of which may hold up the event loop and
    every other request on this worker."""
    return await run_in_threadpool(partial(render_now, request, name, officer, status_code, **context))


def render_now(
    request: Request,
    name: str,
    officer: WorkspaceOfficer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page `name` for `officer` (None only on the sign-in page, which passes its own csrf_token), in
    this thread: for plain-def handlers, which already run in the thread pool."""
    settings = context_of(request).settings
    values: dict[str, Any] = {
        "request": request,
        "officer": officer,
        "csrf_token": officer.csrf_token if officer is not None else "",
        "council_name": settings.council_name,
        "nav": _nav(request, officer),
        "banner_seconds": max(1, round(settings.workspace_banner_seconds)),
    }
    values.update(context)
    html = environment().get_template(name).render(values)
    return HTMLResponse(html, status_code=status_code)
