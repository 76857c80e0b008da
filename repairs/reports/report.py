"""The whole report for a period, gathered in one read-only transaction so its figures agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from repairs.reports.assistant import AssistantFigures, assistant_figures
from repairs.reports.feedback import Complaints, Satisfaction, complaints, satisfaction
from repairs.reports.figures import Completions, Volumes, completions, volumes
from repairs.reports.period import Period


@dataclass(frozen=True)
class Report:
    period: Period
    generated_at: datetime
    completions: Completions
    volumes: Volumes
    satisfaction: Satisfaction
    complaints: Complaints
    assistant: AssistantFigures


def build_report(session: Session, period: Period, *, now: datetime) -> Report:
    counted = volumes(session, period)
    return Report(
        period=period,
        generated_at=now,
        completions=completions(session, period),
        volumes=counted,
        satisfaction=satisfaction(session, period),
        complaints=complaints(session, period, now=now),
        assistant=assistant_figures(session, period, counted.by_channel),
    )
