"""Listening's store: residents' words kept redacted, once per message, for the retention only, forgotten on
request; the listening page and its export only for officers with the insight permission, every look audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.listening.consumers import NamesCache, store_batch
from repairs.listening.events import read_event
from repairs.listening.models import ListeningView, Source, Utterance, ViewAction
from repairs.listening.redaction import KnownNames, redact
from repairs.listening.store import chat_hash_key
from repairs.personal_data.retention_run import run_retention
from repairs.residents.models import Resident
from tests.factories import Factory
from tests.workspace_client import csrf_of, sign_in, text_of

PLANTED = ("My name is Bernadette Okonkwo, call me on 07700 900123 or bernie.ok@example.com, my tenancy is "
           "T-123456 and the ticket HR-7K3Q9M, I live at 14 Mandela Street NW1 0DU and the lift is broken")
SECRETS = ("Bernadette", "Okonkwo", "07700", "900123", "bernie", "example.com", "123456", "7K3Q9M", "Mandela",
           "NW1 0DU", "0DU")


def user_event(sender: str, text: str, *, message_id: str = "m1", intent: str = "repair_lifts",
               confidence: float = 0.93, timestamp: float | None = None) -> str:
    return json.dumps({
        "event": "user", "sender_id": sender, "text": text, "message_id": message_id,
        "timestamp": timestamp if timestamp is not None else utcnow().timestamp(), "input_channel": "signed",
        "parse_data": {"intent": {"name": intent, "confidence": confidence},
                       "intent_ranking": [{"name": intent, "confidence": confidence},
                                          {"name": "repair_heating", "confidence": 0.05}]},
    })


def stored(ctx: ServiceContext) -> list[Utterance]:
    with transaction(ctx.sessions) as session:
        return list(session.scalars(sa.select(Utterance).order_by(Utterance.id)))


def test_redaction_removes_every_kind_of_personal_detail() -> None:
    out = redact(PLANTED)
    for secret in SECRETS:
        assert secret not in out
    assert "[NAME]" in out and "[PHONE]" in out and "[EMAIL]" in out and "[REF]" in out
    assert "[POSTCODE]" in out and "[ADDRESS]" in out and "lift is broken" in out


def test_names_the_service_knows_go_but_block_names_and_everyday_words_stay() -> None:
    known = KnownNames.from_full_names(["Olu Bramley", "Ann Bath"], places=["Bramley House"])
    out = redact("Ann said the bath at Bramley House leaks. Olu agrees", known)
    assert out == "[NAME] said the bath at Bramley House leaks. [NAME] agrees"
    assert redact("i'm fed up, this is urgent") == "i'm fed up, this is urgent"
    assert redact("the lift at Bramley House") == "the lift at Bramley House"


def test_a_residents_own_name_goes_whatever_its_case() -> None:
    assert redact("olu okafor here, heating off", own_names=["Olu Okafor"]) == "[NAME] here, heating off"


def test_only_typed_user_messages_are_read() -> None:
    assert read_event(json.dumps({"event": "bot", "text": "Hello", "sender_id": "web:a"})) is None
    assert read_event(user_event("web:a", "/affirm")) is None
    assert read_event(b"not json") is None
    heard = read_event(user_event("telegram:42", "the lift is broken"))
    assert heard is not None and heard.channel == "telegram" and heard.intent == "report_repair"
    assert heard.category == "lifts" and not heard.fell_back


def test_a_fallback_keeps_its_best_guess_and_says_it_fell_back() -> None:
    raw = json.loads(user_event("web:a", "blah", intent="nlu_fallback", confidence=0.2))
    raw["parse_data"]["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.2},
                                           {"name": "greet", "confidence": 0.15}]
    heard = read_event(json.dumps(raw))
    assert heard is not None and heard.fell_back and heard.intent == "greet"


def test_a_verified_residents_message_is_stored_redacted_with_their_block(ctx: ServiceContext,
                                                                        factory: Factory) -> None:
    resident = factory.resident(name="Bernadette Okonkwo", block="Bramley House", estate="Castlehaven Estate")
    added = store_batch(ctx, [user_event(resident.chat, PLANTED)], NamesCache())
    assert added == 1
    [row] = stored(ctx)
    for secret in SECRETS:
        assert secret not in row.text
    assert row.block == "Bramley House" and row.estate == "Castlehaven Estate" and row.resident_id == resident.id
    assert row.channel == "telegram" and row.category == "lifts" and row.source is Source.ASSISTANT
    assert row.sender_hash and resident.chat.split(":")[1] not in row.sender_hash
    assert row.dissatisfaction is None


def test_names_of_other_residents_on_record_are_redacted(ctx: ServiceContext, factory: Factory) -> None:
    factory.resident(name="Wilhelmina Achterberg", linked=False)
    store_batch(ctx, [user_event("web:visitor-1", "Wilhelmina Achterberg upstairs has a leak")], NamesCache())
    [row] = stored(ctx)
    assert "Wilhelmina" not in row.text and "Achterberg" not in row.text and row.resident_id is None


def test_redelivery_is_stored_once(ctx: ServiceContext) -> None:
    event = user_event("web:abc", "the lift is broken again", message_id="same-id")
    assert store_batch(ctx, [event, event], NamesCache()) == 1
    assert store_batch(ctx, [event], NamesCache()) == 0
    assert len(stored(ctx)) == 1


def test_retention_deletes_what_is_older(ctx: ServiceContext) -> None:
    old = (utcnow() - timedelta(days=91)).timestamp()
    recent = (utcnow() - timedelta(days=89)).timestamp()
    store_batch(ctx, [user_event("web:a", "old message", message_id="old", timestamp=old),
                      user_event("web:a", "recent message", message_id="recent", timestamp=recent)], NamesCache())
    outcome = run_retention(ctx, trigger="command")
    assert outcome.counts["listening_utterances"] == 1
    assert [u.text for u in stored(ctx)] == ["recent message"]


def test_forget_me_removes_what_the_chat_said(client: TestClient, ctx: ServiceContext, factory: Factory) -> None:
    resident = factory.resident()
    store_batch(ctx, [user_event(resident.chat, "my heating is off", message_id="a"),
                      user_event("web:someone-else", "my heating is off", message_id="b")], NamesCache())
    assert client.delete("/api/v1/residents/me/identity", headers=resident.headers).status_code == 204
    assert [u.channel for u in stored(ctx)] == ["web"]


def test_a_residents_erasure_takes_their_words(ctx: ServiceContext, factory: Factory) -> None:
    from repairs.personal_data.erasure import erase_resident

    resident, other = factory.resident(), factory.resident()
    store_batch(ctx, [user_event(resident.chat, "my heating is off", message_id="a"),
                      user_event(other.chat, "my heating is off too", message_id="b")], NamesCache())
    with transaction(ctx.sessions) as session:
        done = erase_resident(session, ctx.photos, None, resident.id, officer_id=None,
                              schedule=ctx.retention, phone="020 7974 4444", now=utcnow(),
                              listening_secret=chat_hash_key(ctx.settings))
    assert done.counts["listening_deleted"] == 1
    assert [u.resident_id for u in stored(ctx)] == [other.id]
    # A resident's record deleted outright takes them too (the foreign key).
    with transaction(ctx.sessions) as session:
        session.execute(sa.delete(Resident).where(Resident.id == other.id))
    assert stored(ctx) == []


def test_officers_without_insight_are_refused(client: TestClient, factory: Factory) -> None:
    from repairs.auth.models import Role

    plain = factory.officer(role=Role.SUPERVISOR)
    assert sign_in(client, plain.email, plain.password).status_code == 303
    for path in ("/officer/listening", "/officer/listening.csv"):
        assert client.get(path).status_code == 403
    page = client.get("/officer/queue").text
    assert "/officer/listening" not in page
    csrf = csrf_of(page)
    refused = client.post("/officer/listening/import", data={"csrf_token": csrf, "text": "the lift"})
    assert refused.status_code == 403


def test_insight_officers_see_and_export_and_every_look_is_audited(client: TestClient, ctx: ServiceContext,
                                                                  factory: Factory) -> None:
    store_batch(ctx, [user_event("web:a", "the lift at Bramley House is broken, call 07700 900123")], NamesCache())
    officer = factory.officer(insight=True)
    assert sign_in(client, officer.email, officer.password, next_path="/officer/listening").status_code == 303
    page = client.get("/officer/listening")
    assert page.status_code == 200
    assert "the lift at Bramley House is broken, call [PHONE]" in text_of(page.text)
    exported = client.get("/officer/listening.csv?days=30")
    assert exported.status_code == 200 and "call [PHONE]" in exported.text and "07700" not in exported.text
    with transaction(ctx.sessions) as session:
        views = session.execute(sa.select(ListeningView.officer_id, ListeningView.action)
                                .order_by(ListeningView.id)).all()
    assert views == [(officer.id, ViewAction.PAGE), (officer.id, ViewAction.CSV)]


def test_pasted_and_imported_posts_join_redacted_and_marked(client: TestClient, ctx: ServiceContext,
                                                             factory: Factory) -> None:
    officer = factory.officer(insight=True)
    sign_in(client, officer.email, officer.password, next_path="/officer/listening")
    csrf = csrf_of(client.get("/officer/listening").text)
    pasted = client.post("/officer/listening/import", data={
        "csrf_token": csrf, "source": "social",
        "text": "@council lift at Bramley House broken again, DM me 07700 900456\n\nSecond post: no hot water"},
        follow_redirects=False)
    assert pasted.status_code == 303
    csv_file = ("text,source,date,block\n"
                "\"Dear council, my name is Priya Raman, damp in the bedroom\",email,2026-12-01,Alder House\n")
    imported = client.post("/officer/listening/import", data={"csrf_token": csrf, "source": "social"},
                           files={"file": ("posts.csv", csv_file.encode(), "text/csv")}, follow_redirects=False)
    assert imported.status_code == 303 and imported.headers["location"].endswith("imported=1")
    again = client.post("/officer/listening/import", data={"csrf_token": csrf, "source": "social"},
                        files={"file": ("posts.csv", csv_file.encode(), "text/csv")}, follow_redirects=False)
    assert again.headers["location"].endswith("imported=0")
    rows = {u.text: u for u in stored(ctx)}
    assert "@council lift at Bramley House broken again, DM me [PHONE]" in rows
    email = rows["Dear council, my name is [NAME], damp in the bedroom"]
    assert email.source is Source.EMAIL and email.block == "Alder House"
    assert email.said_at == datetime(2026, 12, 1, 12, tzinfo=UTC)
    bad = client.post("/officer/listening/import", data={"csrf_token": csrf, "source": "social"},
                      files={"file": ("posts.csv", b"words\nhello\n", "text/csv")})
    assert bad.status_code == 422 and "text" in text_of(bad.text)
    with transaction(ctx.sessions) as session:
        imports = session.scalars(sa.select(ListeningView.action).where(ListeningView.action == ViewAction.IMPORT))
        assert len(list(imports)) == 3


def test_the_dissatisfaction_slot_counts_what_the_classifier_scored(client: TestClient, ctx: ServiceContext,
                                                                    factory: Factory) -> None:
    store_batch(ctx, [
        user_event("web:a", "still no heating, this is a disgrace", message_id="x", intent="repair_heating"),
        user_event("web:b", "heating off", message_id="y", intent="repair_heating")], NamesCache())
    officer = factory.officer(insight=True)
    sign_in(client, officer.email, officer.password, next_path="/officer/listening")
    assert "once the classifier scores them" in text_of(client.get("/officer/listening").text)
    with transaction(ctx.sessions) as session:  # as the other helper's classifier will
        session.execute(sa.update(Utterance).where(Utterance.text.like("%disgrace%")).values(dissatisfaction=0.93))
        session.execute(sa.update(Utterance).where(Utterance.text == "heating off").values(dissatisfaction=0.1))
    page = text_of(client.get("/officer/listening").text)
    assert "1 of 2 messages scored in this period expressed dissatisfaction: Heating and hot water 1." in page
