"""The emergency banner every workspace page shows while an emergency is unacknowledged.

A template global (registered in templating.py) so base.html can show it on any page without each page
module loading it: one short indexed query (repairs/alerts/actions.open_alerts) per signed-in page view,
run with the rest of the template in the thread pool (templating.render).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jinja2 import pass_context
from jinja2.runtime import Context

from repairs.alerts.actions import open_alerts
from repairs.context import context_of
from repairs.database import transaction

SHOWN = 3  # the oldest few by name; the alerts page lists them all


@dataclass(frozen=True)
class BannerAlert:
    reference: str
    category: str
    block: str | None
    raised_at: datetime


@dataclass(frozen=True)
class Banner:
    alerts: list[BannerAlert]
    total: int


@pass_context
def emergency_banner(context: Context) -> Banner | None:
    request, officer = context.get("request"), context.get("officer")
    if request is None or officer is None:
        return None
    ctx = context_of(request)
    with transaction(ctx.sessions) as session:
        alerts, total = open_alerts(session, limit=SHOWN)
    if not total:
        return None
    names = ctx.policy.categories
    return Banner(
        alerts=[
            BannerAlert(
                reference=a.reference,
                category=names[a.category].name if a.category in names else a.category,
                block=a.block,
                raised_at=a.raised_at,
            )
            for a in alerts
        ],
        total=total,
    )
