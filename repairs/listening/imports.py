"""Officers bring in what residents said elsewhere: a pasted post or e-mail, or a CSV file of them.

CSV columns (a header row; only `text` is required): `text`, `source` (social, email or other; the form's
choice when missing), `date` (YYYY-MM-DD or an ISO date and time; the import's time when missing), `block`,
`estate`. A row that cannot be read is reported by its line number and nothing of the file is stored, so an
officer fixes the file and imports it again without duplicates (the same post is kept once anyway).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from repairs.listening.models import Source
from repairs.listening.store import Post

__all__ = ["ImportRefused", "Post", "from_csv", "pasted", "source_named"]

MAX_ROWS = 20_000
MAX_TEXT = 2000
IMPORTED_SOURCES = (Source.SOCIAL, Source.EMAIL, Source.OTHER)


class ImportRefused(ValueError):
    """What is wrong with the import, in words for the officer."""


@dataclass(frozen=True)
class Parsed:
    posts: list[Post]


def source_named(value: str | None, default: Source) -> Source:
    if not value or not value.strip():
        return default
    try:
        source = Source(value.strip().lower())
    except ValueError:
        raise ImportRefused(f"Unknown source {value.strip()[:20]!r}: use social, email or other.") from None
    if source not in IMPORTED_SOURCES:
        raise ImportRefused("Use social, email or other as the source.")
    return source


def _when(value: str | None, now: datetime) -> datetime:
    if not value or not value.strip():
        return now
    raw = value.strip()
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(12), tzinfo=UTC)
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ImportRefused(f"The date {raw[:30]!r} is not a date (use YYYY-MM-DD).") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _place(value: str | None) -> str | None:
    return value.strip()[:100] or None if value else None


def pasted(text: str, source: Source, now: datetime) -> list[Post]:
    """One post, or several separated by a blank line."""
    parts = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n")]
    posts = [Post(text=p[:MAX_TEXT], source=source, said_at=now) for p in parts if p]
    if not posts:
        raise ImportRefused("Paste the text of at least one post or e-mail.")
    if len(posts) > MAX_ROWS:
        raise ImportRefused(f"At most {MAX_ROWS:,} posts at once.")
    return posts


def from_csv(data: bytes, default_source: Source, now: datetime) -> list[Post]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused("The file is not UTF-8 text. Save it as CSV UTF-8 and try again.") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
    if "text" not in fields:
        raise ImportRefused("The file needs a header row with a 'text' column.")
    posts: list[Post] = []
    try:
        for row in reader:
            values = {(k or "").strip().lower(): (v if isinstance(v, str) else "") for k, v in row.items()}
            body = (values.get("text") or "").strip()
            if not body:
                continue
            try:
                posts.append(Post(text=body[:MAX_TEXT], source=source_named(values.get("source"), default_source),
                                  said_at=_when(values.get("date"), now), block=_place(values.get("block")),
                                  estate=_place(values.get("estate"))))
            except ImportRefused as exc:
                raise ImportRefused(f"Line {reader.line_num}: {exc}") from None
            if len(posts) > MAX_ROWS:
                raise ImportRefused(f"At most {MAX_ROWS:,} rows at once: split the file.")
    except csv.Error as exc:
        raise ImportRefused(f"Line {reader.line_num}: the file is not valid CSV ({exc}).") from None
    if not posts:
        raise ImportRefused("The file has no rows with text.")
    return posts
