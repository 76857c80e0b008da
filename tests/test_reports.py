"""The supervisors' reports: every figure against a small hand-built set of tickets with known answers,
on SQLite and PostgreSQL; the period's edges (local midnights across the clock change); an empty period;
the charts; and the CSV's formula escaping. The pages, the export and who may see them:
tests/test_reports_pages.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from markupsafe import Markup

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.reports import charts
from repairs.reports.export import safe_cell
from repairs.reports.figures import Share
from repairs.reports.period import Period, PeriodError, parse_period
from repairs.reports.report import Report, build_report
from repairs.tickets.models import Priority
from tests.factories import Factory
from tests.report_data import END, LONDON, NOW, PERIOD, START, H, at, build_dataset


@pytest.fixture
def report(ctx: ServiceContext, factory: Factory) -> Report:
    build_dataset(ctx, factory.resident())
    with transaction(ctx.sessions) as s:
        return build_report(s, PERIOD, now=NOW)


# -- the figures ----------------------------------------------------------------------------------------


def test_rp02_emergency_and_non_emergency_apart(report: Report, backend: str) -> None:
    done = report.completions
    assert done.emergency == Share(1, 2)  # T1 on time, T2 six hours late
    assert done.non_emergency == Share(3, 4)  # T3, T7, T11 on time; T4 late
    assert done.on_time[Priority.URGENT] == Share(2, 2)
    assert done.on_time[Priority.ROUTINE] == Share(1, 2)
    assert done.total == 6  # T10, completed at the period's end instant, is not in it
    assert done.emergency.percent() == "50.0%"


def test_median_time_to_complete(report: Report, backend: str) -> None:
    medians = report.completions.median_seconds
    assert medians[Priority.EMERGENCY] == pytest.approx((10 + 30) / 2 * 3600)
    assert medians[Priority.URGENT] == pytest.approx((48 + 24) / 2 * 3600)
    t4 = (at("2026-04-05T22:59:00") - at("2026-03-31T09:00:00")).total_seconds()
    assert medians[Priority.ROUTINE] == pytest.approx((t4 + 3601) / 2)
    # All six, sorted: 1 h 0 min 1 s, 10 h, 24 h, 30 h, 48 h, T4: the middle two are 24 h and 30 h.
    assert report.completions.median_all_seconds == pytest.approx(27 * 3600)


def test_volumes_by_category_channel_priority_and_week(report: Report, backend: str) -> None:
    vol = report.volumes
    assert vol.total == 9  # T1-T5 and T8-T11: not T6 (the day after) or T7 (the second before)
    assert vol.by_category == [("plumbing", 4), ("doors_windows", 1), ("electrical", 1), ("fittings", 1),
                               ("heating", 1), ("roofing", 1)]
    assert vol.by_channel == [("telegram", 6), ("email", 1), ("phone", 1), ("web", 1)]
    assert vol.by_priority == {Priority.EMERGENCY: 2, Priority.URGENT: 3, Priority.ROUTINE: 4}
    assert vol.by_week == [(date(2026, 3, 23), 5), (date(2026, 3, 30), 4)]
    assert vol.cancelled == 1
    assert vol.merged_duplicates == 1  # T12, left out of everything above


def test_reopen_rate_counts_repairs_finished_at_least_once(report: Report, backend: str) -> None:
    # Finished at least once: T1, T2, T3, T4, T9 (reopened, not finished again), T10, T11. Reopened: T9, T11.
    assert report.volumes.reopened == Share(2, 7)


def test_satisfaction_distribution_and_mean(report: Report, backend: str) -> None:
    sat = report.satisfaction
    assert sat.distribution == {1: 1, 2: 0, 3: 0, 4: 1, 5: 2}  # not the 3 at the end instant, nor the 2 before
    assert sat.count == 4
    assert sat.mean == pytest.approx(15 / 4)
    assert sat.satisfied == 3


def test_complaints_and_their_deadlines(report: Report, backend: str) -> None:
    comp = report.complaints
    assert comp.by_stage == {1: 2, 2: 1}
    assert comp.total == 3
    assert comp.open == 2
    assert comp.open_past_acknowledge_by == 2
    assert comp.open_past_respond_by == 1  # CP-OPEN2; CP-OPEN1's answer is due on 14 April
    assert [c.reference for c in comp.soonest] == ["CP-OPEN2", "CP-OPEN1", "CP-DONE3"]
    assert comp.soonest[1].ticket_reference is not None and comp.soonest[0].ticket_reference is None


def test_assistant_figures_are_what_the_database_holds(report: Report, backend: str) -> None:
    bot = report.assistant
    assert bot.reported_in_chat == [("telegram", 6), ("web", 1)]
    assert bot.callbacks == [("telegram", 2), ("web", 1)]
    assert bot.conversations is None and bot.fallback_rate is None and bot.without_person is None
    assert bot.unavailable_reason and "No conversation has been counted yet" in bot.unavailable_reason
    assert bot.note is None and bot.counted_from is None


def _usage(ctx: ServiceContext, *events: tuple[str, str, int]) -> None:
    """Counters as the edges and the action server leave them: (event, UK noon of that day, how many)."""
    from repairs.usage.counting import count
    from repairs.usage.models import UsageEvent

    with transaction(ctx.sessions) as s:
        for event, day, times in events:
            for _ in range(times):
                count(s, UsageEvent(event), "telegram", at=at(f"{day}T12:00:00"))


def test_a_period_before_conversations_were_counted_says_from_when(ctx: ServiceContext, factory: Factory,
                                                                   backend: str) -> None:
    build_dataset(ctx, factory.resident())
    _usage(ctx, ("misunderstood", "2026-03-25", 2), ("misunderstood_conversation", "2026-03-25", 1),
           ("conversation", "2026-04-07", 3))
    with transaction(ctx.sessions) as s:
        bot = build_report(s, PERIOD, now=NOW).assistant
    assert bot.conversations is None and bot.without_person is None and bot.fallback_rate is None
    assert bot.unavailable_reason and "counted from 7 Apr 2026, after this period" in bot.unavailable_reason
    assert (bot.misunderstood_messages, bot.misunderstood_conversations) == (2, 1), "counted before conversations"


def test_a_period_in_which_counting_began_has_the_figures_from_that_day(ctx: ServiceContext, factory: Factory,
                                                                       backend: str) -> None:
    build_dataset(ctx, factory.resident())
    _usage(ctx, ("misunderstood", "2026-03-25", 5), ("misunderstood_conversation", "2026-03-25", 4),
           ("person", "2026-03-25", 3),  # before conversations were counted: left out of the rates
           ("conversation", "2026-03-30", 4), ("conversation", "2026-04-05", 4), ("person", "2026-03-31", 2),
           ("misunderstood", "2026-04-01", 3), ("misunderstood_conversation", "2026-04-01", 2),
           ("conversation", "2026-04-06", 9))  # the day after the period
    with transaction(ctx.sessions) as s:
        bot = build_report(s, PERIOD, now=NOW).assistant
    assert (bot.conversations, bot.with_person, bot.without_person) == (8, 2, 6)
    assert (bot.misunderstood_messages, bot.misunderstood_conversations) == (3, 2)
    assert bot.fallback_rate == 0.25 and bot.unavailable_reason is None
    assert bot.counted_from == date(2026, 3, 30)
    assert bot.note and "counted from 30 Mar 2026" in bot.note and "30 Mar 2026 to 5 Apr 2026 only" in bot.note
    # A later period, all of it counted, has no note; a quiet one has a true zero, not "unavailable".
    quiet = Period(first_day=date(2026, 4, 20), last_day=date(2026, 4, 26), tz=LONDON)
    with transaction(ctx.sessions) as s:
        later = build_report(s, quiet, now=NOW).assistant
    assert (later.conversations, later.without_person, later.fallback_rate) == (0, 0, None)
    assert later.unavailable_reason is None and later.note is None


def test_assistant_usage_counted_by_the_action_server(ctx: ServiceContext, factory: Factory, client,
                                                      service_headers, backend: str) -> None:
    """The counters the action server posts: conversations, handoffs and misunderstandings, per UK day."""
    from repairs.usage.counting import count
    from repairs.usage.models import UsageEvent

    build_dataset(ctx, factory.resident())
    events = ([("conversation", "telegram")] * 7 + [("conversation", "web")] * 3 + [("person", "telegram")] * 2
              + [("misunderstood", "telegram")] * 5 + [("misunderstood_conversation", "telegram")] * 3)
    for event, channel in events:
        assert client.post("/api/v1/assistant/usage", headers=service_headers,
                           json={"event": event, "channel": channel}).status_code == 204
    with transaction(ctx.sessions) as s:  # the period's last hour (UK time), and the next day's first
        count(s, UsageEvent.CONVERSATION, "telegram", at=END - timedelta(hours=1))
        count(s, UsageEvent.CONVERSATION, "web", at=END + timedelta(hours=1))
    uk_today = datetime.now(LONDON).date()
    today = Period(first_day=uk_today, last_day=uk_today, tz=LONDON)
    with transaction(ctx.sessions) as s:
        bot = build_report(s, today, now=NOW).assistant
        old = build_report(s, PERIOD, now=NOW).assistant
    assert (bot.conversations, bot.with_person, bot.without_person) == (10, 2, 8)
    assert (bot.misunderstood_messages, bot.misunderstood_conversations) == (5, 3)
    assert bot.fallback_rate == 0.3 and bot.unavailable_reason is None
    assert old.conversations == 1, "counted by UK day: the day after the period is not in it"
    refused = [client.post("/api/v1/assistant/usage", headers=service_headers, json=body).status_code
               for body in ({"event": "typed words"}, {"event": "conversation", "text": "hello"})]
    assert refused == [422, 422], "counts only: no other field is taken"
    assert client.post("/api/v1/assistant/usage", json={"event": "conversation"}).status_code == 401


def test_an_empty_period(ctx: ServiceContext, factory: Factory, backend: str) -> None:
    build_dataset(ctx, factory.resident())
    empty = Period(first_day=date(2025, 1, 1), last_day=date(2025, 1, 10), tz=LONDON)
    with transaction(ctx.sessions) as s:
        r = build_report(s, empty, now=NOW)
    assert r.completions.total == 0 and r.completions.emergency.ratio is None
    assert r.completions.median_all_seconds is None
    assert all(m is None for m in r.completions.median_seconds.values())
    assert r.volumes.total == 0 and r.volumes.by_category == [] and r.volumes.reopened.ratio is None
    assert r.volumes.by_week == [(date(2024, 12, 30), 0), (date(2025, 1, 6), 0)]
    assert r.satisfaction.mean is None and r.complaints.total == 0 and r.complaints.soonest == []
    assert r.assistant.callbacks == []


def test_a_one_day_period_is_one_week_bucket(ctx: ServiceContext, factory: Factory, backend: str) -> None:
    build_dataset(ctx, factory.resident())
    day = Period(first_day=date(2026, 3, 23), last_day=date(2026, 3, 23), tz=LONDON)
    with transaction(ctx.sessions) as s:
        r = build_report(s, day, now=NOW)
    assert r.volumes.by_week == [(date(2026, 3, 23), 1)]
    assert r.completions.total == 2  # T1 and T7


# -- periods ----------------------------------------------------------------------------------------------


def test_period_edges_are_local_midnights() -> None:
    assert PERIOD.start == START and PERIOD.end == END
    weeks = PERIOD.weeks()
    assert [(w.start, w.end) for w in weeks] == [(START, at("2026-03-30T00:00:00") - H), (weeks[1].start, END)]
    assert weeks[1].start == at("2026-03-29T23:00:00")  # midnight BST


def test_parse_period() -> None:
    today = date(2026, 11, 26)
    default = parse_period(None, None, today=today, tz=LONDON)
    assert (default.first_day, default.last_day, default.days) == (date(2026, 10, 30), today, 28)
    assert parse_period("2026-11-01", "2026-11-01", today=today, tz=LONDON).days == 1
    for first, last in [("2026-11-02", "2026-11-01"), ("26/11/2026", None), ("2024-01-01", "2026-01-01")]:
        with pytest.raises(PeriodError):
            parse_period(first, last, today=today, tz=LONDON)


# -- charts -----------------------------------------------------------------------------------------------


def test_bar_chart_is_labelled_described_and_escaped() -> None:
    svg = charts.bar_chart("c1", "Repairs <by> category", [charts.Bar("Doors & windows", 12),
                                                           charts.Bar("<script>", 3)])
    assert isinstance(svg, Markup)
    assert 'role="img"' in svg and 'aria-labelledby="c1-title c1-desc"' in svg
    assert "<title id=\"c1-title\">Repairs &lt;by&gt; category</title>" in svg
    assert "<desc id=\"c1-desc\">Doors &amp; windows: 12; &lt;script&gt;: 3.</desc>" in svg
    assert "<script" not in svg and ">12</text>" in svg
    assert svg.count("<rect") == 2


def test_line_chart_and_empty_charts() -> None:
    svg = charts.line_chart("w", "Each week", [charts.Bar("2 Mar", 5), charts.Bar("9 Mar", 1500)])
    assert "<polyline" in svg and ">1,500</text>" in svg and "2 Mar: 5; 9 Mar: 1,500." in svg
    empty = charts.bar_chart("e", "Nothing", [], empty="No ratings.")
    assert "No ratings." in empty and "<rect" not in empty


# -- CSV ----------------------------------------------------------------------------------------------------


def test_safe_cell_neutralises_formulas() -> None:
    for risky in ["=1+1", "+44 7700", "-2", "@SUM(A1)", "\tx", "\rx"]:
        assert safe_cell(risky) == "'" + risky
    assert safe_cell("Flat 1, Alder House") == "Flat 1, Alder House"
    assert safe_cell("") == ""


def test_long_labels_fit_and_stay_whole_in_the_description() -> None:
    long = "Kitchen, bathroom and joinery, and everything else a council might put in one category"
    svg = charts.bar_chart("l", "Long", [charts.Bar(long, 3), charts.Bar("Gas", 1)])
    assert f"{long}: 3" in svg  # the description
    shown = svg.split('text-anchor="end"')[1].split(">", 1)[1].split("</text>", 1)[0]
    assert shown.endswith("…") and len(shown) < len(long) and long.startswith(shown[:-1])


def test_the_longest_label_that_fits_is_shown_whole() -> None:
    svg = charts.bar_chart("w", "Channels", [charts.Bar("Telegram", 9), charts.Bar("Open311 (FixMyStreet)", 1)])
    assert ">Open311 (FixMyStreet)</text>" in svg and "…" not in svg
