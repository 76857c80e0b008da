"""Channel updates taken once, and outbox delivery leases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:00:00

`channel_updates` lets the bot process each Telegram update once, across restarts and replicas.
The outbox gains the channel its last claim chose (for the officers' failed-delivery list) and when
it was claimed; the lease itself is `next_attempt_at`, pushed forward by each claim.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repairs.database

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("update_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_updates")),
        sa.UniqueConstraint("channel", "update_id", name=op.f("uq_channel_updates_channel_update_id")),
    )
    op.create_index("ix_channel_updates_received_at", "channel_updates", ["received_at"], unique=False)
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", repairs.database.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("channel")
    op.drop_index("ix_channel_updates_received_at", table_name="channel_updates")
    op.drop_table("channel_updates")
