"""Officer account changes on record

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 13:20:00

`officer_account_events`: each change a supervisor makes to an officer's account in the workspace
(created, deactivated, reactivated, password reset, unlocked, role changed), who made it and when.
No passwords or e-mail addresses are kept here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repairs.database

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "officer_account_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum("created", "deactivated", "reactivated", "password_reset", "unlocked", "role_changed",
                    name="accountaction", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("detail", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["officers.id"], name=op.f("fk_officer_account_events_actor_id_officers")),
        sa.ForeignKeyConstraint(["officer_id"], ["officers.id"],
                                name=op.f("fk_officer_account_events_officer_id_officers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officer_account_events")),
    )
    op.create_index(op.f("ix_officer_account_events_at"), "officer_account_events", ["at"], unique=False)
    op.create_index(op.f("ix_officer_account_events_officer_id"), "officer_account_events", ["officer_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_officer_account_events_officer_id"), table_name="officer_account_events")
    op.drop_index(op.f("ix_officer_account_events_at"), table_name="officer_account_events")
    op.drop_table("officer_account_events")
