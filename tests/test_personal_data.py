"""Personal data: the retention schedule, its run (one replica at a time), subject access exports and erasure.

Everything against the real database (both backends; the brief's PostgreSQL run is `--db postgresql`), Rasa's
tracker store as a real `events` table in a database of its own, and the photo store on disk. The report
figures are taken before and after every removal: removing personal data must not move a single one.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update

from repairs.auth.models import Role
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.notifications import delivery
from repairs.notifications.models import Notification, OutboxStatus
from repairs.personal_data.erasure import NOTICE_KIND, erase_resident
from repairs.personal_data.kinds import kind_names
from repairs.personal_data.models import DataProtectionEvent, RetentionRun
from repairs.personal_data.removal import REMOVED_SUMMARY
from repairs.personal_data.retention_run import run_retention, take_lease
from repairs.personal_data.schedule import RetentionConfigError, load_schedule
from repairs.personal_data.tracker_store import EVENTS, TrackerStore
from repairs.reports import day_counts
from repairs.reports.report import build_report
from repairs.residents.models import ChannelIdentity, Resident, VerificationAttempt
from repairs.residents.verification import VerificationFailed, verify_and_link
from repairs.settings import Settings
from repairs.tickets.models import CallbackRequest, Complaint, ComplaintEvent, Photo, Rating, Ticket, TicketEvent
from tests.factories import Factory, ResidentHandle
from tests.report_data import NOW, PERIOD, build_dataset
from tests.workspace_client import csrf_of, sign_in, text_of

ROOT = Path(__file__).resolve().parent.parent
LATER = NOW + timedelta(days=7 * 365)  # every default period has run out
WORDS = "Water pouring through the kitchen ceiling next to the light, my son Sam is scared"


def figures(ctx: ServiceContext) -> tuple[object, ...]:
    """Every figure of the reports page for the hand-built period (tests/report_data.py)."""
    with transaction(ctx.sessions) as session:
        report = build_report(session, PERIOD, now=NOW)
    return report.completions, report.volumes, report.satisfaction, report.complaints, report.assistant


@pytest.fixture
def tracker(ctx: ServiceContext, scratch_database_url: str) -> Iterator[TrackerStore]:
    """Rasa's tracker store: its `events` table in a database of its own, as in production."""
    store = TrackerStore(scratch_database_url)
    store.create_table()
    ctx.tracker = store
    yield store
    store.engine.dispose()


def say(store: TrackerStore, sender: str, at: datetime, *lines: tuple[str, str]) -> None:
    with store.engine.begin() as conn:
        for offset, (kind, text) in enumerate(lines):
            moment = at.timestamp() + offset
            conn.execute(insert(EVENTS).values(sender_id=sender, type_name=kind, timestamp=moment,
                                               data=json.dumps({"event": kind, "text": text, "timestamp": moment})))
        conn.execute(insert(EVENTS).values(sender_id=sender, type_name="slot", timestamp=at.timestamp() + 9,
                                           data=json.dumps({"event": "slot", "name": "postcode", "value": "NW1 8YL"})))


def personal_records(ctx: ServiceContext, resident: ResidentHandle, tickets: dict[str, Ticket]) -> None:
    """Words, a photo, a message, a comment and a verification attempt on the hand-built data set."""
    key = ctx.photos.save(b"\xff\xd8 a photo of the ceiling", content_type="image/jpeg")
    with transaction(ctx.sessions) as s:
        for name in ("T11", "T5"):  # one closed, one still open
            ticket = s.get(Ticket, tickets[name].id)
            assert ticket is not None
            ticket.description = WORDS
            ticket.access_notes = "Key with the neighbour at 12"
            s.add(TicketEvent(ticket_id=ticket.id, actor_type="resident", kind="conversation",
                              data={"lines": [{"by": "resident", "text": WORDS}]}))
        s.add(Photo(public_id="p" * 20, ticket_id=tickets["T11"].id, storage_key=key, content_type="image/jpeg",
                    width=1, height=1, size_bytes=10, sha256="0" * 64, uploaded_by="resident"))
        rating = s.scalar(select(Rating).where(Rating.ticket_id == tickets["T1"].id))
        assert rating is not None
        rating.comment = "The plumber was kind to my mum"
        s.add(Notification(delivery_key=f"t:{resident.id}", resident_id=resident.id, ticket_id=tickets["T11"].id,
                           kind="status", payload={"text": "Your repair is closed"}, status=OutboxStatus.SENT,
                           created_at=NOW - timedelta(days=1), sent_at=NOW - timedelta(days=1)))
        s.add(VerificationAttempt(key_hash="h" * 64, attempted_at=NOW))
        complaint = s.scalar(select(Complaint).where(Complaint.reference == "CP-DONE3"))
        assert complaint is not None
        complaint.response = "We are sorry, Mrs Example"
        s.add(ComplaintEvent(complaint_id=complaint.id, actor_type="officer", kind="answered", stage=1,
                             data={"response": "We are sorry, Mrs Example"}, at=NOW))


# --- the schedule ---------------------------------------------------------------------------------------------

def test_the_shipped_schedule_covers_every_kind_and_settings_override_it() -> None:
    schedule = load_schedule(ROOT / "data", known=kind_names(), overrides={"photos": 365})
    assert set(schedule.rules) == set(kind_names())
    assert schedule.rule("photos").keep_days == 365
    assert schedule.rule("ticket_details").keep_days == 2190
    assert schedule.years("ticket_details") == "6 years"
    with pytest.raises(RetentionConfigError, match="unknown kinds: fotos"):
        load_schedule(ROOT / "data", known=kind_names(), overrides={"fotos": 1})


def test_a_kind_without_a_period_stops_the_service(tmp_path: Path) -> None:
    text = (ROOT / "data" / "retention.yml").read_text()
    (tmp_path / "retention.yml").write_text(text)
    with pytest.raises(RetentionConfigError, match="no entry for: voice_notes"):
        load_schedule(tmp_path, known=[*kind_names(), "voice_notes"])
    (tmp_path / "retention.yml").write_text(text.replace("keep_days: 730", "keep_days: -1", 1))
    with pytest.raises(RetentionConfigError, match="keep_days"):
        load_schedule(tmp_path, known=kind_names())


# --- the run ----------------------------------------------------------------------------------------------------

def test_a_run_removes_what_is_due_keeps_what_is_not_and_no_figure_moves(
    ctx: ServiceContext, factory: Factory, tracker: TrackerStore
) -> None:
    resident = factory.resident()
    tickets = build_dataset(ctx, resident)
    personal_records(ctx, resident, tickets)
    say(tracker, resident.chat, NOW, ("user", WORDS), ("bot", "Thanks, I have logged that."))
    say(tracker, "web:recent-visitor", LATER - timedelta(days=3), ("user", "hello"))
    before = figures(ctx)
    with transaction(ctx.sessions) as s:
        last_changed = s.scalar(select(Ticket.updated_at).where(Ticket.id == tickets["T11"].id))

    outcome = run_retention(ctx, trigger="command", now=LATER)

    assert outcome.ran
    assert figures(ctx) == before
    with ctx.engine.connect() as conn:
        assert day_counts.check(conn) == []
    with transaction(ctx.sessions) as s:
        closed = s.get(Ticket, tickets["T11"].id)
        still_open = s.get(Ticket, tickets["T5"].id)
        assert closed is not None and still_open is not None
        assert (closed.description, closed.summary, closed.access_notes) == ("", REMOVED_SUMMARY, None)
        assert closed.resident_id is None and closed.property_id is not None and closed.category == "roofing"
        assert closed.updated_at == last_changed  # removing words is not a change to the repair
        assert still_open.description == WORDS and still_open.resident_id == resident.id  # not over yet
        closed_lines = s.scalars(select(TicketEvent.data).where(TicketEvent.ticket_id == closed.id,
                                                                 TicketEvent.kind == "conversation")).all()
        open_lines = s.scalars(select(TicketEvent.data).where(TicketEvent.ticket_id == still_open.id,
                                                               TicketEvent.kind == "conversation")).all()
        assert closed_lines == [{"removed": True}] and WORDS in json.dumps(open_lines)
        assert s.scalar(select(func.count()).select_from(Photo)) == 0
        assert s.scalar(select(func.count()).select_from(Notification)) == 0
        assert s.scalar(select(func.count()).select_from(VerificationAttempt)) == 0
        assert s.scalar(select(Rating.comment).where(Rating.ticket_id == tickets["T1"].id)) is None
        done = s.scalar(select(Complaint).where(Complaint.reference == "CP-DONE3"))
        assert done is not None and done.text == "" and done.response is None
        assert s.scalar(select(func.count()).select_from(CallbackRequest).where(CallbackRequest.reason == "")) == 4
        run = s.scalar(select(RetentionRun))
        assert run is not None and run.status == "finished" and run.trigger == "command"
        assert run.counts["ticket_details"] == 3  # T8 cancelled, T11 closed, T12 merged
        assert run.counts["photos"] == 1 and run.counts["conversations"] == 1
    assert not list((Path(ctx.settings.photo_dir)).rglob("*.jpg"))
    assert set(tracker.conversation([resident.chat, "web:recent-visitor"])) == {"web:recent-visitor"}

    again = run_retention(ctx, trigger="command", now=LATER)
    assert again.ran and sum(again.counts.values()) == 0  # each removal is done once
    assert figures(ctx) == before


def test_nothing_goes_before_its_period_ends(ctx: ServiceContext, factory: Factory) -> None:
    resident = factory.resident()
    tickets = build_dataset(ctx, resident)
    personal_records(ctx, resident, tickets)
    outcome = run_retention(ctx, trigger="command", now=NOW + timedelta(days=2))
    assert outcome.counts["ticket_details"] == 0 and outcome.counts["photos"] == 0
    with transaction(ctx.sessions) as s:
        ticket = s.get(Ticket, tickets["T11"].id)
        assert ticket is not None and ticket.description == WORDS
        assert s.scalar(select(func.count()).select_from(Photo)) == 1


def test_one_replica_runs_it_and_the_daily_run_waits_a_day(ctx: ServiceContext) -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert take_lease(ctx, holder="other-replica", now=now)
    skipped = run_retention(ctx, trigger="service", now=now + timedelta(minutes=5))
    assert not skipped.ran and skipped.reason == "another replica is running it"
    # The other replica died holding it: the lease runs out by itself.
    assert run_retention(ctx, trigger="service", now=now + timedelta(hours=3)).ran
    not_due = run_retention(ctx, trigger="service", now=now + timedelta(hours=5), due_after=timedelta(hours=24))
    assert not not_due.ran and not_due.reason == "not due yet"
    assert run_retention(ctx, trigger="service", now=now + timedelta(hours=28), due_after=timedelta(hours=24)).ran


def test_the_service_runs_it_by_itself(ctx: ServiceContext) -> None:
    from repairs.app import create_app

    often = replace(ctx, settings=ctx.settings.model_copy(update={"retention_check_seconds": 0.05}))
    with TestClient(create_app(often)):
        for _ in range(400):  # waits for the background task, however slow the machine; asserts no speed
            with transaction(ctx.sessions) as s:
                runs = s.scalars(select(RetentionRun)).all()
            if runs and runs[0].status == "finished":
                break
            threading.Event().wait(0.05)
    # Checked many times while serving, yet run once: the next is due a day later.
    assert [(r.trigger, r.status) for r in runs] == [("service", "finished")]


def test_replicas_asking_at_once_run_it_once(ctx: ServiceContext) -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    start = threading.Barrier(4)
    outcomes: list[bool] = []

    def replica() -> None:
        start.wait()
        outcomes.append(run_retention(ctx, trigger="service", now=now, due_after=timedelta(hours=24)).ran)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False, False, False, True]
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(func.count()).select_from(RetentionRun)) == 1


# --- subject access and erasure, from the workspace ------------------------------------------------------------

def supervisor_client(client: TestClient, factory: Factory, role: Role = Role.SUPERVISOR,
                      data_protection: bool = True) -> str:
    officer = factory.officer(role=role, data_protection=data_protection)
    assert sign_in(client, officer.email, officer.password).status_code == 303
    return csrf_of(client.get("/officer/queue"))


def test_an_export_holds_everything_about_the_resident_and_is_recorded(
    ctx: ServiceContext, client: TestClient, factory: Factory, tracker: TrackerStore
) -> None:
    resident = factory.resident(name="Ada Example")
    other = factory.resident(name="Bob Other")
    tickets = build_dataset(ctx, resident)
    personal_records(ctx, resident, tickets)
    say(tracker, resident.chat, NOW, ("user", WORDS), ("bot", "Thanks, I have logged that."))
    say(tracker, other.chat, NOW, ("user", "Bob's own words"))
    csrf = supervisor_client(client, factory)

    page = client.get(f"/officer/residents?reference={resident.tenancy_reference}")
    assert page.status_code == 200 and f"/officer/residents/{resident.id}" in page.text
    assert "No run yet." in page.text
    response = client.post(f"/officer/residents/{resident.id}/export", data={"csrf_token": csrf})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert {"README.txt", "resident.json", "tickets.json", "messages.json", "complaints.json", "ratings.json",
            "callbacks.json", "conversations.json"} <= names
    assert json.loads(archive.read("resident.json"))["name"] == "Ada Example"
    tickets_out = json.loads(archive.read("tickets.json"))
    assert len(tickets_out) == 12 and WORDS in json.dumps(tickets_out)
    assert json.loads(archive.read("messages.json"))[0]["text"] == "Your repair is closed"
    assert "We are sorry" in archive.read("complaints.json").decode()
    assert "kind to my mum" in archive.read("ratings.json").decode()
    conversation = json.loads(archive.read("conversations.json"))
    assert list(conversation) == [resident.chat]
    assert [line["text"] for line in conversation[resident.chat][:2]] == [WORDS, "Thanks, I have logged that."]
    photos = [n for n in names if n.startswith("photos/")]
    assert len(photos) == 1 and archive.read(photos[0]) == b"\xff\xd8 a photo of the ceiling"
    assert "Bob" not in response.content.decode("latin-1")
    with transaction(ctx.sessions) as s:
        audit = s.scalars(select(DataProtectionEvent)).all()
        assert [(a.kind, a.resident_id) for a in audit] == [("export", resident.id)]
        assert audit[0].counts["photos"] == 1 and audit[0].counts["conversation_events"] == 3
    # The same page lists what the retention runs did.
    run_retention(ctx, trigger="command", now=LATER)
    assert "photos 1" in text_of(client.get("/officer/residents").text)


def test_only_officers_with_the_data_protection_permission_export_or_erase(
    ctx: ServiceContext, client: TestClient, factory: Factory
) -> None:
    resident = factory.resident(name="Ada Example")
    # A supervisor is not enough: the permission is its own (officers.data_protection).
    csrf = supervisor_client(client, factory, role=Role.SUPERVISOR, data_protection=False)
    assert "/officer/residents" not in client.get("/officer/queue").text
    for path in ("/officer/residents", f"/officer/residents/{resident.id}"):
        refused = client.get(path)
        assert refused.status_code == 403 and "Data protection permission needed" in refused.text
    export = client.post(f"/officer/residents/{resident.id}/export", data={"csrf_token": csrf})
    assert export.status_code == 403 and export.headers["content-type"].startswith("text/html")
    assert client.post(f"/officer/residents/{resident.id}/erase",
                       data={"csrf_token": csrf, "confirm": resident.tenancy_reference}).status_code == 403
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(func.count()).select_from(DataProtectionEvent)) == 0
        person = s.get(Resident, resident.id)
        assert person is not None and person.full_name == "Ada Example" and person.erased_at is None
        assert s.scalar(select(func.count()).select_from(ChannelIdentity)) == 1

    # An officer (not a supervisor) given the permission may.
    client.cookies.clear()
    csrf = supervisor_client(client, factory, role=Role.OFFICER, data_protection=True)
    assert "/officer/residents" in client.get("/officer/queue").text
    exported = client.post(f"/officer/residents/{resident.id}/export", data={"csrf_token": csrf})
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    with transaction(ctx.sessions) as s:
        assert s.scalars(select(DataProtectionEvent.kind)).all() == ["export"]


def test_a_supervisor_gives_and_takes_the_permission_and_it_is_audited(
    ctx: ServiceContext, client: TestClient, factory: Factory
) -> None:
    from repairs.auth.models import AccountAction, Officer, OfficerAccountEvent

    colleague = factory.officer(role=Role.OFFICER)
    csrf = supervisor_client(client, factory, data_protection=False)
    given = client.post(f"/officer/accounts/{colleague.id}/data_protection",
                        data={"csrf_token": csrf, "data_protection": "on"}, follow_redirects=False)
    assert given.status_code == 303
    taken = client.post(f"/officer/accounts/{colleague.id}/data_protection", data={"csrf_token": csrf},
                        follow_redirects=False)
    assert taken.status_code == 303
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(Officer.data_protection).where(Officer.id == colleague.id)) is False
        actions = s.scalars(select(OfficerAccountEvent.action).where(OfficerAccountEvent.officer_id == colleague.id)
                            .order_by(OfficerAccountEvent.id)).all()
    assert actions == [AccountAction.DATA_PROTECTION_GRANTED, AccountAction.DATA_PROTECTION_REVOKED]
    assert "took the data protection permission from" in text_of(client.get("/officer/accounts").text)


def test_an_erasure_keeps_what_the_law_needs_anonymised_and_tells_the_resident(
    ctx: ServiceContext, client: TestClient, factory: Factory, tracker: TrackerStore
) -> None:
    resident = factory.resident(name="Ada Example")
    tickets = build_dataset(ctx, resident)
    personal_records(ctx, resident, tickets)
    say(tracker, resident.chat, NOW, ("user", WORDS))
    before = figures(ctx)
    csrf = supervisor_client(client, factory)

    refused = client.post(f"/officer/residents/{resident.id}/erase", data={"csrf_token": csrf, "confirm": "T-1"})
    assert refused.status_code == 422
    with transaction(ctx.sessions) as s:
        assert s.get(Resident, resident.id).full_name == "Ada Example"  # type: ignore[union-attr]

    done = client.post(f"/officer/residents/{resident.id}/erase",
                       data={"csrf_token": csrf, "confirm": resident.tenancy_reference.lower()},
                       follow_redirects=False)
    assert done.status_code == 303

    assert figures(ctx) == before
    with transaction(ctx.sessions) as s:
        person = s.get(Resident, resident.id)
        assert person is not None and person.erased_at is not None
        assert (person.full_name, person.email, person.phone, person.vulnerabilities) == ("Erased resident", None,
                                                                                           None, [])
        assert s.scalar(select(func.count()).select_from(ChannelIdentity)) == 0
        kept = s.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert len(kept) == 12 and all(t.resident_id is None and t.description != WORDS for t in kept)
        assert all(t.property_id is not None for t in kept)
        assert WORDS not in json.dumps(s.scalars(select(TicketEvent.data)).all())
        assert s.scalar(select(func.count()).select_from(Photo)) == 0
        assert {c.text for c in s.scalars(select(Complaint))} == {""}
        assert s.scalar(select(func.count()).select_from(Rating).where(Rating.comment.is_not(None))) == 0
        notices = s.scalars(select(Notification)).all()
        assert [(n.kind, n.channel, n.external_id, n.resident_id) for n in notices] == [
            (NOTICE_KIND, "telegram", resident.chat.split(":", 1)[1], None)]
        text = notices[0].payload["text"]
        assert "kept the record of 12 repairs" in text and "6 years" in text and "4 complaints" in text
        assert "Ada" not in text
        audit = s.scalar(select(DataProtectionEvent))
        assert audit is not None and audit.kind == "erasure" and audit.counts["repairs_anonymised"] == 12
    assert tracker.conversation([resident.chat]) == {}
    # The tenancy reference no longer links a chat to the erased resident.
    with pytest.raises(VerificationFailed), transaction(ctx.sessions) as s:
        verify_and_link(s, tenancy_reference=resident.tenancy_reference, postcode=resident.postcode,
                        channel="telegram", external_id="555", tz=ctx.policy.calendar.tz)
    # Telegram's delivery worker takes the notice for the chat.
    with transaction(ctx.sessions) as s:
        claimed = delivery.claim(s, channels=["telegram"], limit=10, lease=timedelta(minutes=1))
        assert [(c.channel, c.external_id) for c in claimed] == [("telegram", resident.chat.split(":", 1)[1])]
    page = client.get(f"/officer/residents/{resident.id}?done=erased")
    assert "Erased on" in page.text


def test_a_web_chat_collects_its_erasure_notice(ctx: ServiceContext, factory: Factory) -> None:
    resident = factory.resident(linked=False)
    with transaction(ctx.sessions) as s:
        s.add(ChannelIdentity(resident_id=resident.id, channel="web", external_id="browser-session-1"))
    with transaction(ctx.sessions) as s:
        erase_resident(s, ctx.photos, None, resident.id, schedule=ctx.retention, officer_id=None,
                       phone="020 7974 4444", now=datetime.now(UTC), listening_secret=None)
    with transaction(ctx.sessions) as s:
        assert delivery.claim(s, channels=["web"], limit=10, lease=timedelta(minutes=1),
                              external_id="another-browser") == []
        claimed = delivery.claim(s, channels=["web"], limit=10, lease=timedelta(minutes=1),
                                 external_id="browser-session-1")
        assert [c.note.kind for c in claimed] == [NOTICE_KIND]


# --- the command ------------------------------------------------------------------------------------------------

def test_the_command_runs_the_schedule_and_shows_the_runs(
    database_url: str, ctx: ServiceContext, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from repairs.cli import main

    monkeypatch.chdir(tmp_path)  # away from any .env file
    for name in ("REPAIRS_DATABASE_URL", "REPAIRS_DATA_DIR", "REPAIRS_TRACKER_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPAIRS_PHOTO_DIR", str(tmp_path / "photos"))
    monkeypatch.setenv("REPAIRS_DATA_DIR", str(ROOT / "data"))

    assert main(["--database-url", database_url, "retention", "run"]) == 0
    out = capsys.readouterr().out
    assert "Retention run #" in out and "ticket_details" in out and "REPAIRS_TRACKER_DATABASE_URL is not set" in out
    monkeypatch.setenv("REPAIRS_RETENTION_DAYS", '{"photos": 365}')
    assert main(["--database-url", database_url, "retention", "show"]) == 0
    out = capsys.readouterr().out
    assert "photos" in out and "365 days from closed" in out and "(command): finished" in out
    monkeypatch.setenv("REPAIRS_RETENTION_DAYS", '{"fotos": 365}')
    assert main(["--database-url", database_url, "retention", "run"]) == 1
    assert "unknown kinds: fotos" in capsys.readouterr().err
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(func.count()).select_from(RetentionRun)) == 1


def test_the_demo_supervisor_has_the_permission_even_in_an_older_demo_database(
    settings: Settings, scratch_database_url: str, tmp_path: Path
) -> None:
    from repairs.auth.models import Officer
    from repairs.database import make_engine
    from repairs.demo.run import DEMO_SUPERVISOR, prepare_database

    demo = settings.model_copy(update={"database_url": scratch_database_url})
    engine = make_engine(scratch_database_url)
    try:
        prepare_database(demo, tmp_path)
        with engine.begin() as conn:
            assert conn.execute(select(Officer.insight, Officer.data_protection)
                                .where(Officer.email == DEMO_SUPERVISOR)).one() == (True, True)
            # A demo database made before the permission existed: the migration gave it to no one.
            conn.execute(update(Officer).values(data_protection=False))
        prepare_database(demo, tmp_path)
        with engine.begin() as conn:
            assert conn.execute(select(Officer.data_protection).where(Officer.email == DEMO_SUPERVISOR)).one()[0]
    finally:
        engine.dispose()
