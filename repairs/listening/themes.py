"""Themes: what residents talk about, found by meaning, named by their distinctive words.

Each utterance gets the assistant's sentence encoder vector once (stored with it). A run takes the last
`WEEKS` weeks, reduces the vectors (PCA) and clusters them with scikit-learn's HDBSCAN, which finds groups of
any number and leaves outliers alone; a group is named by the words most particular to it (class-based
TF-IDF), and compared this week against the weekly average of the weeks before. Messages the assistant fell
back on or called out of scope are grouped the same way, apart: the candidates for new training data.

Runs in the background (repairs/listening/worker.py) and writes its result to the database, so every
replica's page shows the same themes and none keeps them in memory. Answered themes are kept as they were.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
from repairs_dissatisfaction.scoring import score_embedded
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from repairs.database import transaction, utcnow
from repairs.listening import hotspots
from repairs.listening.models import Theme, ThemeKind, ThemeMember, Utterance

WEEKS = 5
CONTENT_FREE = ("greet", "goodbye", "thank")
EMBED_BATCH = 256
THEMES_LOCK = 0x4C495354  # the advisory lock key for saving themes ("LIST")
EXAMPLES = 3
_WORD = re.compile(r"[a-z][a-z']+")
_STOP = frozenset((
    "the", "a", "an", "and", "or", "but", "is", "are", "was", "were", "be", "been", "it", "its", "it's", "this",
    "that", "to", "of", "in", "on", "at", "for", "with", "my", "me", "i", "i'm", "im", "we", "our", "you", "your",
    "have", "has", "had", "not", "no", "can", "could", "would", "will", "just", "there", "from", "please", "again",
    "still", "since", "about", "been", "get", "got", "all", "any", "some", "when", "what", "who", "how", "do",
    "does", "did", "don't", "so", "very", "now", "up", "out", "they", "them", "their", "he", "she", "his", "her",
    "hi", "hello", "thanks", "thank", "name", "phone", "email", "ref", "postcode", "address", "our", "us", "if",
    "one", "also", "than", "then", "into", "by", "as", "be", "is", "am", "dm", "council",
))


class Encoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int = ...) -> np.ndarray: ...


def embed_missing(factory: sessionmaker[Session], encoder: Encoder, *, limit: int | None = None) -> int:
    """Give utterances without a vector one; returns how many were encoded."""
    done = 0
    while limit is None or done < limit:
        with transaction(factory) as session:
            rows = session.execute(select(Utterance.id, Utterance.text).where(Utterance.embedding.is_(None))
                                   .order_by(Utterance.id).limit(EMBED_BATCH)).all()
        if not rows:
            break
        texts = [r.text for r in rows]
        full = encoder.encode(texts)
        # The dissatisfaction classifier reads the same vectors (and the words, and the sentences of long ones, by
        # the rule the assistant uses): scored once, here.
        scores = score_embedded(full, texts, encoder=encoder)
        vectors = full.astype(np.float16)
        with transaction(factory) as session:
            session.execute(update(Utterance), [
                {"id": r.id, "embedding": v.tobytes(), "dissatisfaction": float(p) if r.text.strip() else 0.0}
                for r, v, p in zip(rows, vectors, scores, strict=True)])
        done += len(rows)
    return done


@dataclass(frozen=True)
class Found:
    kind: ThemeKind
    label: str
    members: list[int]
    this_week: int
    weekly_before: float
    is_new: bool
    blocks: list[list[object]]
    examples: list[str]


MAX_CLUSTERED = 15_000  # more than this: cluster a sample, then give the rest to the nearest group


def cluster(vectors: np.ndarray, *, min_cluster_size: int) -> np.ndarray:
    """HDBSCAN labels (-1: belongs to no group) of unit vectors, reduced first so density means something.

    HDBSCAN's cost grows faster than the number of points (measured here: 20,000 in about 13 s, 100,000 in
    over ten minutes on a loaded machine), so past MAX_CLUSTERED a random sample is clustered and every other
    message joins the group whose centre is nearest, if it is as close as that group's own members mostly
    are (its 90th percentile distance); otherwise it stays outside any group."""
    from sklearn.cluster import HDBSCAN
    from sklearn.decomposition import PCA

    n = len(vectors)
    if n < max(min_cluster_size * 2, 10):
        return np.full(n, -1)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, MAX_CLUSTERED, replace=False)) if n > MAX_CLUSTERED else np.arange(n)
    scale = len(sample) / n  # a sample's groups are proportionally smaller
    size = max(5, round(min_cluster_size * scale))
    pca = PCA(n_components=min(24, len(sample) - 1, vectors.shape[1]), random_state=0).fit(vectors[sample])
    reduced = pca.transform(vectors)
    model = HDBSCAN(min_cluster_size=size, min_samples=max(3, size // 2), cluster_selection_method="eom", copy=True)
    sample_labels = np.asarray(model.fit_predict(reduced[sample]))
    if len(sample) == n:
        return sample_labels
    labels = np.full(n, -1)
    labels[sample] = sample_labels
    groups = sorted(set(sample_labels.tolist()) - {-1})
    if not groups:
        return labels
    centres = np.stack([reduced[sample][sample_labels == g].mean(axis=0) for g in groups])
    reach = np.array([np.percentile(np.linalg.norm(reduced[sample][sample_labels == g] - centres[i], axis=1), 90)
                      for i, g in enumerate(groups)])
    rest = np.setdiff1d(np.arange(n), sample)
    for start in range(0, len(rest), 10_000):
        chunk = rest[start:start + 10_000]
        distances = np.linalg.norm(reduced[chunk][:, None, :] - centres[None, :, :], axis=2)
        nearest = distances.argmin(axis=1)
        close = distances[np.arange(len(chunk)), nearest] <= reach[nearest]
        labels[chunk] = np.where(close, np.asarray(groups)[nearest], -1)
    return labels


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]


def distinctive_words(groups: dict[int, list[str]], *, top: int = 3) -> dict[int, str]:
    """Each group's most particular words: frequent in it, rare in the others (class-based TF-IDF)."""
    counts = {g: Counter(w for t in texts for w in set(_words(t))) for g, texts in groups.items()}
    spread = Counter(w for c in counts.values() for w in c)
    names = {}
    for g, c in counts.items():
        size = max(len(groups[g]), 1)
        scored = sorted(c, key=lambda w: (-(c[w] / size) * np.log(1 + len(groups) / spread[w]), w))
        names[g] = ", ".join(scored[:top]) or "(no words)"
    return names


@dataclass(frozen=True)
class _Row:
    id: int
    text: str
    block: str | None
    said_at: datetime
    vector: np.ndarray


def _group(rows: list[_Row], kind: ThemeKind, now: datetime, min_cluster_size: int) -> list[Found]:
    if not rows:
        return []
    labels = cluster(np.stack([r.vector for r in rows]).astype(np.float32), min_cluster_size=min_cluster_size)
    groups: dict[int, list[_Row]] = {}
    for row, label in zip(rows, labels, strict=True):
        if label >= 0:
            groups.setdefault(int(label), []).append(row)
    names = distinctive_words({g: [r.text for r in members] for g, members in groups.items()})
    week_start = now - timedelta(days=7)
    found = []
    for g, members in groups.items():
        this_week = sum(1 for r in members if r.said_at >= week_start)
        before = len(members) - this_week
        blocks = Counter(r.block for r in members if r.block).most_common(5)
        latest = sorted(members, key=lambda r: r.said_at, reverse=True)
        examples = list(dict.fromkeys(r.text for r in latest))[:EXAMPLES]
        found.append(Found(kind, names[g], [r.id for r in members], this_week, before / (WEEKS - 1),
                           is_new=before == 0, blocks=[[b, n] for b, n in blocks], examples=examples))
    return found


def order_key(f: Found) -> tuple[int, float, int]:
    """New themes first, then the fastest growing, then the biggest."""
    growth = f.this_week / max(f.weekly_before, 0.5)
    return (0 if f.is_new and f.this_week else 1, -growth, -len(f.members))


def group_size(n: int) -> int:
    """The smallest group worth calling a theme among `n` messages: small groups of a few messages split one
    subject into its phrasings (measured: at 2,000 messages a minimum of 8 split a planted theme of 40 in
    two, 15 kept it whole); capped so a big store still shows themes of a hundred people."""
    return int(min(max(10, n // 130), 100))


def find_themes(session: Session, *, now: datetime, min_cluster_size: int | None = None) -> list[Found]:
    since = now - timedelta(weeks=WEEKS)
    rows = session.execute(
        select(Utterance.id, Utterance.text, Utterance.block, Utterance.said_at, Utterance.embedding,
               Utterance.fell_back, Utterance.intent)
        .where(Utterance.said_at >= since, Utterance.embedding.is_not(None))
    ).all()
    themes: list[_Row] = []
    not_understood: list[_Row] = []
    for r in rows:
        item = _Row(r.id, r.text, r.block, r.said_at, np.frombuffer(r.embedding, dtype=np.float16))
        if r.fell_back or r.intent == "out_of_scope":
            not_understood.append(item)
        elif r.intent not in CONTENT_FREE:
            themes.append(item)
    found = _group(themes, ThemeKind.THEME, now, min_cluster_size or group_size(len(themes)))
    found += _group(not_understood, ThemeKind.NOT_UNDERSTOOD, now,
                    min_cluster_size or max(3, group_size(len(not_understood)) // 2))
    return sorted(found, key=order_key)


def save_themes(session: Session, found: list[Found], *, now: datetime) -> None:
    """Replace the unanswered themes with `found`; answered ones stay as they were."""
    if session.get_bind().dialect.name == "postgresql":
        # Two replicas saving at once would each delete only what their statement saw and both insert:
        # one at a time, the second replaces the first's. (SQLite serialises writers anyway.)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": THEMES_LOCK})
    session.execute(delete(Theme).where(Theme.answered_at.is_(None)))
    for f in found:
        theme = Theme(kind=f.kind, label=f.label[:200], size=len(f.members), this_week=f.this_week,
                      weekly_before=f.weekly_before, is_new=f.is_new, blocks=f.blocks, examples=f.examples,
                      computed_at=now)
        session.add(theme)
        session.flush()
        session.execute(insert(ThemeMember), [{"theme_id": theme.id, "utterance_id": i} for i in f.members])


def recompute(factory: sessionmaker[Session], encoder: Encoder, *, now: datetime | None = None,
              min_cluster_size: int | None = None) -> int:
    """Encode what is new, find the themes, save them; returns how many themes were found."""
    now = now or utcnow()
    embed_missing(factory, encoder)
    with transaction(factory) as session:
        found = find_themes(session, now=now, min_cluster_size=min_cluster_size)
    with transaction(factory) as session:
        save_themes(session, found, now=now)
        hotspots.refresh(session, now=now)
    return len(found)


def due(session: Session, *, every: timedelta, now: datetime) -> bool:
    """Whether a run is worth it: none in the last `every` (by any replica) and something new since."""
    from sqlalchemy import func

    last = session.scalar(select(func.max(Theme.computed_at)).where(Theme.answered_at.is_(None)))
    if last is not None and now - last < every:
        return False
    newest = session.scalar(select(func.max(Utterance.stored_at)))
    return newest is not None and (last is None or newest > last or now - last > timedelta(hours=6))


EncoderFactory = Callable[[], Encoder]
