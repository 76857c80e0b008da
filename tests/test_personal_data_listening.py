"""What residents said (listening, issue 14) under the one retention schedule and in every erasure.

The utterances are one kind of record among the others (data/retention.yml, listening_utterances), deleted by
the same run; REPAIRS_LISTENING_RETENTION_DAYS still sets their period. An erasure (the officer's, or a chat's
/forget_me) takes what a chat said before it was verified as well as after: those rows carry only the chat's
keyed hash, not the resident. Real database (both backends; the brief's PostgreSQL run is `--db postgresql`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import ValidationError

from repairs.context import ServiceContext, build_context
from repairs.database import transaction, utcnow
from repairs.listening.answers import theme_counts
from repairs.listening.consumers import NamesCache, store_batch
from repairs.listening.models import Theme, ThemeKind, ThemeMember, Utterance
from repairs.personal_data.kinds import kind_names
from repairs.personal_data.retention_run import run_retention
from repairs.personal_data.schedule import RetentionConfigError, load_schedule, settings_overrides
from repairs.settings import Settings
from tests.factories import Factory, ResidentHandle
from tests.report_data import build_dataset
from tests.test_listening_store import user_event
from tests.test_personal_data import figures, supervisor_client

ROOT = Path(__file__).resolve().parent.parent


def said(ctx: ServiceContext) -> list[tuple[str, int | None]]:
    with transaction(ctx.sessions) as session:
        return [(text, rid) for text, rid in session.execute(
            sa.select(Utterance.text, Utterance.resident_id).order_by(Utterance.id))]


def answered_theme(ctx: ServiceContext, examples: list[str], *, computed_days_ago: float) -> int:
    """An answered theme quoting `examples` over every utterance stored so far (answered ones are kept)."""
    now = utcnow()
    with transaction(ctx.sessions) as session:
        theme = Theme(kind=ThemeKind.THEME, label="lift broken", size=3, this_week=3, weekly_before=0.0,
                      is_new=True, blocks=[["Alder House", 3]], examples=examples,
                      computed_at=now - timedelta(days=computed_days_ago), answered_at=now - timedelta(days=1),
                      answer="Fixed, thank you")
        session.add(theme)
        session.flush()
        for utterance_id in session.scalars(sa.select(Utterance.id)):
            session.add(ThemeMember(theme_id=theme.id, utterance_id=utterance_id))
        return theme.id


def theme_examples(ctx: ServiceContext, theme_id: int) -> list[str]:
    with transaction(ctx.sessions) as session:
        theme = session.get(Theme, theme_id)
        assert theme is not None
        return list(theme.examples)


# --- one schedule -------------------------------------------------------------------------------------------

def test_listening_has_its_period_in_the_one_schedule_and_its_setting_still_sets_it(settings: Settings) -> None:
    assert "listening_utterances" in kind_names()
    shipped = load_schedule(ROOT / "data", known=kind_names())
    rule = shipped.rule("listening_utterances")
    assert (rule.keep_days, rule.does, rule.counts_from) == (90, "delete", "said")

    assert build_context(settings).retention.rule("listening_utterances").keep_days == 90  # unset: the file's
    tuned = settings.model_copy(update={"listening_retention_days": 30})
    assert build_context(tuned).retention.rule("listening_utterances").keep_days == 30
    assert settings_overrides({"photos": 365}, 30) == {"photos": 365, "listening_utterances": 30}
    assert settings_overrides({"listening_utterances": 30}, 30) == {"listening_utterances": 30}
    with pytest.raises(RetentionConfigError, match="disagree"):
        settings_overrides({"listening_utterances": 60}, 30)


def test_listenings_own_deletion_job_is_retired_with_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="REPAIRS_LISTENING_PURGE_SECONDS is retired"):
        Settings(REPAIRS_LISTENING_PURGE_SECONDS="3600", _env_file=None)
    assert Settings(_env_file=None).listening_purge_seconds is None
    # An empty line in .env (REPAIRS_LISTENING_RETENTION_DAYS=) means unset: the file's number.
    assert Settings(REPAIRS_LISTENING_RETENTION_DAYS="", _env_file=None).listening_retention_days is None


def test_the_retention_run_deletes_old_utterances_and_the_examples_quoted_from_them(
    ctx: ServiceContext, factory: Factory
) -> None:
    resident = factory.resident()
    old = (utcnow() - timedelta(days=95)).timestamp()
    recent = (utcnow() - timedelta(days=10)).timestamp()
    store_batch(ctx, [user_event(resident.chat, "the lift has been broken for weeks", message_id="o1",
                                 timestamp=old),
                      user_event("web:visitor", "lift stuck again on floor 3", message_id="o2", timestamp=old),
                      user_event(resident.chat, "still no heating", message_id="r1", timestamp=recent)],
                NamesCache())
    stale = answered_theme(ctx, ["the lift has been broken for weeks", "lift stuck again on floor 3"],
                           computed_days_ago=94)
    fresh = answered_theme(ctx, ["still no heating"], computed_days_ago=9)
    with transaction(ctx.sessions) as session:
        counted = theme_counts(session, utcnow() - timedelta(days=30), utcnow())

    outcome = run_retention(ctx, trigger="command")

    assert outcome.counts["listening_utterances"] == 2
    assert said(ctx) == [("still no heating", resident.id)]
    assert theme_examples(ctx, stale) == [] and theme_examples(ctx, fresh) == ["still no heating"]
    with transaction(ctx.sessions) as session:
        assert theme_counts(session, utcnow() - timedelta(days=30), utcnow()) == counted  # the theme stays
        assert session.scalar(sa.select(sa.func.count()).select_from(Theme)) == 2
    again = run_retention(ctx, trigger="command")
    assert again.counts["listening_utterances"] == 0


def test_retention_show_lists_listening_with_its_setting(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    from repairs.cli import main

    monkeypatch.chdir(tmp_path)  # away from any .env file
    for name in ("REPAIRS_DATABASE_URL", "REPAIRS_TRACKER_DATABASE_URL", "REPAIRS_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPAIRS_PHOTO_DIR", str(tmp_path / "photos"))
    monkeypatch.setenv("REPAIRS_DATA_DIR", str(ROOT / "data"))
    monkeypatch.setenv("REPAIRS_LISTENING_RETENTION_DAYS", "45")
    assert main(["--database-url", database_url, "retention", "show"]) == 0
    assert "listening_utterances     delete         45 days from said" in capsys.readouterr().out
    monkeypatch.setenv("REPAIRS_RETENTION_DAYS", '{"listening_utterances": 60}')
    assert main(["--database-url", database_url, "retention", "show"]) == 1
    assert "disagree" in capsys.readouterr().err


# --- erasure reaches what a chat said before it verified --------------------------------------------------------

def verify(client: TestClient, service_headers: dict[str, str], resident: ResidentHandle, channel: str,
           chat: str) -> None:
    response = client.post("/api/v1/residents/verify", headers=service_headers, json={
        "tenancy_reference": resident.tenancy_reference, "postcode": resident.postcode, "channel": channel,
        "channel_user_id": chat})
    assert response.status_code == 200, response.text


def plant_before_and_after(ctx: ServiceContext, client: TestClient, service_headers: dict[str, str],
                           resident: ResidentHandle) -> None:
    """The resident talks on Telegram and on web chat, first unverified, then verified, on each."""
    chats = [("telegram", "4242"), ("web", "browser-session-9f")]
    for channel, chat in chats:
        store_batch(ctx, [user_event(f"{channel}:{chat}", f"before verifying on {channel}: the lift is broken",
                                     message_id=f"before-{channel}")], NamesCache())
    for channel, chat in chats:
        verify(client, service_headers, resident, channel, chat)
        store_batch(ctx, [user_event(f"{channel}:{chat}", f"after verifying on {channel}: still broken",
                                     message_id=f"after-{channel}")], NamesCache())
    rows = said(ctx)
    assert [rid for _, rid in rows if "before verifying" in _] == [None, None]  # only the chat's hash marks them
    assert [rid for _, rid in rows if "after verifying" in _] == [resident.id, resident.id]


def test_an_officers_erasure_takes_what_the_resident_said_before_verifying(
    ctx: ServiceContext, client: TestClient, factory: Factory, service_headers: dict[str, str]
) -> None:
    resident = factory.resident(linked=False, name="Ada Example")
    tickets = build_dataset(ctx, resident)  # the reports' hand-built period, so their figures can be compared
    bystander = factory.resident(name="Bob Other")
    store_batch(ctx, [user_event(bystander.chat, "my boiler is leaking", message_id="bob"),
                      user_event("web:never-verified", "the bins are overflowing", message_id="visitor")],
                NamesCache())
    plant_before_and_after(ctx, client, service_headers, resident)
    theme = answered_theme(ctx, ["before verifying on web: the lift is broken", "my boiler is leaking"],
                           computed_days_ago=1)
    before = figures(ctx)
    assert tickets

    csrf = supervisor_client(client, factory)
    done = client.post(f"/officer/residents/{resident.id}/erase",
                       data={"csrf_token": csrf, "confirm": resident.tenancy_reference}, follow_redirects=False)
    assert done.status_code == 303, done.text

    assert said(ctx) == [("my boiler is leaking", bystander.id), ("the bins are overflowing", None)]
    assert theme_examples(ctx, theme) == ["my boiler is leaking"]
    assert figures(ctx) == before
    with transaction(ctx.sessions) as session:
        from repairs.personal_data.models import DataProtectionEvent

        audit = session.scalar(sa.select(DataProtectionEvent))
        assert audit is not None and audit.counts["listening_deleted"] == 4 and audit.counts["chats_unlinked"] == 2


def test_forget_me_takes_what_the_chat_said_before_and_after_verifying(
    ctx: ServiceContext, client: TestClient, factory: Factory, service_headers: dict[str, str]
) -> None:
    resident = factory.resident(linked=False)
    plant_before_and_after(ctx, client, service_headers, resident)
    headers = {**service_headers, "X-Resident-Channel": "telegram:4242"}
    assert client.delete("/api/v1/residents/me/identity", headers=headers).status_code == 204
    # Telegram's words, from before and after, are gone; the web chat (another chat, still linked) keeps its own.
    assert [text for text, _ in said(ctx)] == ["before verifying on web: the lift is broken",
                                               "after verifying on web: still broken"]
