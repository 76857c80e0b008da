"""Listening: redacted utterances, their audit trail, and the officers' insight permission

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 15:50:00

`listening_utterances` keeps what residents said, redacted (repairs/listening/), never the raw text;
`listening_views` records every officer's look at it. `officers.insight` is the permission to look; no
existing officer has it until given (the demo gives it to its supervisor).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from repairs.database import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("insight", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "listening_utterances",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_key", sa.String(length=64), nullable=False, unique=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sender_hash", sa.String(length=64), nullable=True),
        sa.Column("resident_id", sa.Integer(), sa.ForeignKey("residents.id", ondelete="CASCADE"), nullable=True),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("intent", sa.String(length=60), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("fell_back", sa.Boolean(), nullable=False),
        sa.Column("block", sa.String(length=100), nullable=True),
        sa.Column("estate", sa.String(length=100), nullable=True),
        sa.Column("said_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("dissatisfaction", sa.Float(), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_listening_utterances_sender_hash", "listening_utterances", ["sender_hash"])
    op.create_index("ix_listening_utterances_resident_id", "listening_utterances", ["resident_id"])
    op.create_index("ix_listening_utterances_estate", "listening_utterances", ["estate"])
    op.create_index("ix_listening_utterances_said_at", "listening_utterances", ["said_at"])
    op.create_index("ix_listening_utterances_block_said", "listening_utterances", ["block", "said_at"])
    op.create_index("ix_listening_utterances_scored_said", "listening_utterances", ["said_at"],
                    postgresql_where=sa.text("dissatisfaction IS NOT NULL"),
                    sqlite_where=sa.text("dissatisfaction IS NOT NULL"))
    op.create_table(
        "listening_views",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officers.id"), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_listening_views_at", "listening_views", ["at"])
    op.create_index("ix_listening_views_officer_id", "listening_views", ["officer_id"])
    op.create_table(
        "listening_themes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("this_week", sa.Integer(), nullable=False),
        sa.Column("weekly_before", sa.Float(), nullable=False),
        sa.Column("is_new", sa.Boolean(), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Integer(), sa.ForeignKey("officers.id"), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
    )
    op.create_index("ix_listening_themes_computed_at", "listening_themes", ["computed_at"])
    op.create_table(
        "listening_theme_members",
        sa.Column("theme_id", sa.Integer(), sa.ForeignKey("listening_themes.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("utterance_id", sa.Integer(), sa.ForeignKey("listening_utterances.id", ondelete="CASCADE"),
                  primary_key=True),
    )
    op.create_index("ix_listening_theme_members_utterance_id", "listening_theme_members", ["utterance_id"])
    op.create_table(
        "listening_hotspots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("block", sa.String(length=100), nullable=False),
        sa.Column("estate", sa.String(length=100), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("this_week", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("homes", sa.Integer(), nullable=False),
        sa.Column("suggestion", sa.String(length=200), nullable=True),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("listening_hotspots")
    op.drop_table("listening_theme_members")
    op.drop_table("listening_themes")
    op.drop_table("listening_views")
    op.drop_table("listening_utterances")
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.drop_column("insight")
