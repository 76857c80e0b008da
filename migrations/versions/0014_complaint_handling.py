"""Complaints are worked: acknowledged, answered, escalated, each step on record

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 10:00:00

`complaints` gains when the stage being worked was acknowledged and answered, the answer sent, and when
it was escalated to stage 2. `complaint_events` is the complaint's append-only history: who did what and
when, and the deadline each acknowledgement or answer was held to. Each complaint already here gets its
"received" event, so every history starts the same way.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repairs.database

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", repairs.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("responded_at", repairs.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("response", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", repairs.database.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("due_at", repairs.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], ondelete="CASCADE",
                                name=op.f("fk_complaint_events_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    op.create_index(op.f("ix_complaint_events_complaint_id"), "complaint_events", ["complaint_id"], unique=False)
    # Complaints are made by residents (POST /api/v1/complaints), so each one already here was received
    # from its resident, at stage 1, when it was made.
    op.execute(
        "INSERT INTO complaint_events (complaint_id, at, actor_type, actor_id, kind, stage, due_at, data) "
        "SELECT id, created_at, 'resident', CAST(resident_id AS VARCHAR(64)), 'received', 1, NULL, '{}' "
        "FROM complaints ORDER BY id"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_complaint_events_complaint_id"), table_name="complaint_events")
    op.drop_table("complaint_events")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("response")
        batch_op.drop_column("responded_at")
        batch_op.drop_column("acknowledged_at")
