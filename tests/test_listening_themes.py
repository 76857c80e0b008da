"""Themes and hotspots: a planted theme (40 people about one block's lift this week, among 2,000 ordinary
messages over five weeks) is found as a theme, first, and as a hotspot; damp and mould suggests an inspection.
Uses the real sentence encoder and scikit-learn's HDBSCAN."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from repairs_encoder.encoder import SentenceEncoder

from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.listening import themes
from repairs.listening.events import event_key
from repairs.listening.hotspots import find_hotspots
from repairs.listening.models import Source, Theme, ThemeKind, Utterance
from tests.factories import Factory
from tests.workspace_client import sign_in, text_of

BLOCKS = ["Alder House", "Birch Court", "Cedar House", "Damson Court", "Elm House", "Fir Court", "Bramley House"]
ORDINARY = {
    "heating": ["my radiators are cold in the {room}", "no heating since {when}", "the boiler keeps turning off",
                "heating not working in the {room}", "the radiator in the {room} is only warm at the bottom"],
    "plumbing": ["the tap in the {room} is dripping", "leak under the sink in the {room}", "toilet won't flush",
                 "water coming through the ceiling of the {room}", "the shower drain is blocked"],
    "electrical": ["the socket in the {room} sparks", "lights in the {room} keep flickering",
                   "the fuse keeps tripping since {when}", "extractor fan in the {room} stopped working"],
    "doors_windows": ["the {room} window won't close", "front door lock is stiff", "draught from the {room} window",
                      "the window handle in the {room} came off"],
    "pests": ["mice in the {room}", "cockroaches in the {room} again", "I think there are rats under the floor"],
    "damp_mould": ["black mould on the {room} wall", "damp patch in the {room} since {when}",
                   "condensation and mould around the {room} window"],
    "lifts": ["the lift smells bad", "lift button not lighting up"],
}
ROOMS = ["kitchen", "bathroom", "bedroom", "living room", "hallway"]
WHENS = ["monday", "last week", "the weekend", "two days", "yesterday"]
PLANTED = ["the lift at Bramley House is broken again", "lift out of order at Bramley House",
           "Bramley House lift stuck on the {floor} floor", "no lift again, I can't get my pram up",
           "the lift has been broken for {days} days", "lift not working, elderly neighbour stuck upstairs",
           "is anyone fixing the lift? it stopped {when}", "lift doors won't open on the {floor} floor"]
FLOORS = ["second", "third", "fourth", "fifth", "sixth"]


def _plant(ctx: ServiceContext, *, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = utcnow()
    rows = []
    for i in range(2000):
        category = rng.choice(list(ORDINARY))
        text = rng.choice(ORDINARY[category]).format(room=rng.choice(ROOMS), when=rng.choice(WHENS))
        said = now - timedelta(days=rng.uniform(0, 35))
        rows.append((f"ordinary-{i}", text, category, rng.choice(BLOCKS[:-1]), said))
    for i in range(40):
        text = rng.choice(PLANTED).format(floor=rng.choice(FLOORS), days=rng.randint(2, 9), when=rng.choice(WHENS))
        rows.append((f"planted-{i}", text, "lifts", "Bramley House", now - timedelta(days=rng.uniform(0, 6))))
    with transaction(ctx.sessions) as session:
        session.add_all([Utterance(event_key=event_key(key), source=Source.ASSISTANT, channel="web",
                                   sender_hash=event_key("sender", key), text=text, intent="report_repair",
                                   category=category, confidence=0.9, fell_back=False, block=block,
                                   estate="Castlehaven Estate", said_at=said, stored_at=now)
                         for key, text, category, block, said in rows])


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def test_a_planted_theme_is_found_first_and_as_a_hotspot(ctx: ServiceContext, factory: Factory,
                                                         encoder: SentenceEncoder, client: TestClient) -> None:
    for block in BLOCKS:  # a few homes in each block, so each block has a size
        for _ in range(3):
            factory.resident(block=block, linked=False)
    _plant(ctx)
    assert themes.recompute(ctx.sessions, encoder) > 1
    with transaction(ctx.sessions) as session:
        found = list(session.query(Theme).filter(Theme.kind == ThemeKind.THEME).order_by(Theme.id))
        lift = [t for t in found if t.blocks and t.blocks[0][0] == "Bramley House"]
        assert lift, [(t.label, t.blocks) for t in found]
        theme = lift[0]
        assert "lift" in theme.label
        assert theme.this_week >= 30 and theme.blocks[0][1] >= 30
        # New or fast-growing first: nothing ordinary grows like it.
        assert found[0].id == theme.id, [(t.label, t.this_week, t.weekly_before) for t in found[:3]]
        hotspots = find_hotspots(session, now=utcnow())
    assert [(h.block, h.category) for h in hotspots][:1] == [("Bramley House", "lifts")]
    assert all(h.block == "Bramley House" for h in hotspots)

    officer = factory.officer(insight=True)
    sign_in(client, officer.email, officer.password, next_path="/officer/listening")
    page = text_of(client.get("/officer/listening").text)
    assert "Bramley House" in page and "lift" in page and "No block stands out" not in page


def test_damp_and_mould_in_one_block_suggests_a_proactive_inspection(ctx: ServiceContext,
                                                                     factory: Factory) -> None:
    for block in ("Alder House", "Birch Court"):
        for _ in range(4):
            factory.resident(block=block, linked=False)
    now = utcnow()
    with transaction(ctx.sessions) as session:
        for i in range(5):
            session.add(Utterance(event_key=event_key("damp", str(i)), source=Source.ASSISTANT, channel="web",
                                  sender_hash=event_key("damp-sender", str(i)), text="black mould in the bedroom",
                                  category="damp_mould", fell_back=False, block="Alder House",
                                  said_at=now - timedelta(days=1), stored_at=now))
        # One person repeating themselves is one person: no hotspot from Birch Court.
        for i in range(6):
            session.add(Utterance(event_key=event_key("repeat", str(i)), source=Source.ASSISTANT, channel="web",
                                  sender_hash="same-person", text="mould again", category="damp_mould",
                                  fell_back=False, block="Birch Court", said_at=now - timedelta(days=1),
                                  stored_at=now))
    with transaction(ctx.sessions) as session:
        [hotspot] = find_hotspots(session, now=now)
    assert (hotspot.block, hotspot.category, hotspot.this_week) == ("Alder House", "damp_mould", 5)
    assert hotspot.suggestion and "inspection" in hotspot.suggestion


def test_themes_are_not_recomputed_before_they_are_due(ctx: ServiceContext, encoder: SentenceEncoder) -> None:
    now = utcnow()
    with transaction(ctx.sessions) as session:
        assert not themes.due(session, every=timedelta(minutes=1), now=now)  # nothing said yet
        session.add(Utterance(event_key="k", source=Source.SOCIAL, channel="social", text="lift broken",
                              fell_back=False, said_at=now, stored_at=now))
    with transaction(ctx.sessions) as session:
        assert themes.due(session, every=timedelta(minutes=1), now=now)
    themes.recompute(ctx.sessions, encoder, now=now)
    with transaction(ctx.sessions) as session:
        # Encoded once, and scored by the dissatisfaction classifier on the same vectors.
        [(vector, score)] = session.execute(sa.select(Utterance.embedding, Utterance.dissatisfaction)).all()
        assert vector is not None and score is not None and 0.0 <= score <= 1.0
        # Too few messages for a theme, so no run is recorded: due again, but only once a minute has passed.
        assert themes.due(session, every=timedelta(minutes=1), now=now + timedelta(minutes=2))
