"""A chat's shared edge state

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 13:00:00

`channel_state` holds the few values a channel edge needs for the next update in a chat (the message
whose buttons are open, a photo waiting for its repair, a long button payload), so the bot can run as
several replicas. Each row expires.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repairs.database

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_state")),
        sa.UniqueConstraint("channel", "chat", "name", name=op.f("uq_channel_state_channel_chat_name")),
    )
    op.create_index("ix_channel_state_expires_at", "channel_state", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_channel_state_expires_at", table_name="channel_state")
    op.drop_table("channel_state")
