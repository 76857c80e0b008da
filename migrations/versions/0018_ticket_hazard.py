"""Tickets record their HHSRS hazard and its group in Awaab's Law's phases

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 10:30:00

`tickets` gains `hazard` (one of the 29 HHSRS hazards, repairs.policy.vocabulary) and `hazard_group` (its
group in policy.yml's `awaab.hazard_groups`, kept on the row so the queue filters on it and a later change to
the groups does not rewrite history). Before the phases only damp and mould had hazard clocks: a ticket in
the damp and mould category, or one with Awaab clocks that is not an emergency (which only damp and mould
gave), is damp and mould. Other existing tickets are left null rather than guessed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hazard", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("hazard_group", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_tickets_hazard_group", ["hazard_group"])
    tickets = sa.table(
        "tickets",
        sa.column("category", sa.String),
        sa.column("emergency", sa.Boolean),
        sa.column("awaab_applies", sa.Boolean),
        sa.column("hazard", sa.String),
        sa.column("hazard_group", sa.String),
    )
    op.execute(
        tickets.update()
        .where(sa.or_(tickets.c.category == "damp_mould",
                      sa.and_(tickets.c.awaab_applies.is_(True), tickets.c.emergency.is_(False))))
        .values(hazard="damp_mould", hazard_group="damp_mould")
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_hazard_group")
        batch_op.drop_column("hazard_group")
        batch_op.drop_column("hazard")
