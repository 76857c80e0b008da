"""Merged duplicates and the households linked to a ticket

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 13:30:00

`ticket_merges` points a duplicate report (status `merged`) at the ticket for the same job;
`ticket_linked_residents` lists the other households who hear that ticket's news (the residents of
duplicates merged into it). New tables only: the tickets table, with its partial indexes, is untouched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repairs.database

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duplicate_id", sa.Integer(), nullable=False),
        sa.Column("main_id", sa.Integer(), nullable=False),
        sa.Column("created_at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["duplicate_id"], ["tickets.id"], name=op.f("fk_ticket_merges_duplicate_id_tickets")),
        sa.ForeignKeyConstraint(["main_id"], ["tickets.id"], name=op.f("fk_ticket_merges_main_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_merges")),
        sa.UniqueConstraint("duplicate_id", name=op.f("uq_ticket_merges_duplicate_id")),
    )
    op.create_index("ix_ticket_merges_main_id", "ticket_merges", ["main_id"], unique=False)
    op.create_table(
        "ticket_linked_residents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("via_ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_ticket_linked_residents_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_linked_residents_ticket_id_tickets")),
        sa.ForeignKeyConstraint(
            ["via_ticket_id"], ["tickets.id"], name=op.f("fk_ticket_linked_residents_via_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_linked_residents")),
        sa.UniqueConstraint(
            "ticket_id", "resident_id", name=op.f("uq_ticket_linked_residents_ticket_id_resident_id")
        ),
    )
    op.create_index("ix_ticket_linked_residents_ticket_id", "ticket_linked_residents", ["ticket_id"], unique=False)
    op.create_index(
        "ix_ticket_linked_residents_resident_id", "ticket_linked_residents", ["resident_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_linked_residents_resident_id", table_name="ticket_linked_residents")
    op.drop_index("ix_ticket_linked_residents_ticket_id", table_name="ticket_linked_residents")
    op.drop_table("ticket_linked_residents")
    op.drop_index("ix_ticket_merges_main_id", table_name="ticket_merges")
    op.drop_table("ticket_merges")
