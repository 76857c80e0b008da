"""The assistant's daily usage counters

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 14:10:00

`assistant_usage` counts conversations, misunderstood messages and handoffs to a person per UK day and
channel, so reports can give the share handled without a person and the fallback rate. Counts only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assistant_usage",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "event", name=op.f("pk_assistant_usage")),
    )


def downgrade() -> None:
    op.drop_table("assistant_usage")
