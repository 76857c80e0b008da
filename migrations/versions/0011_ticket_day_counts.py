"""The reports' day counts of reported repairs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 16:50:00

`ticket_day_counts` keeps, per UK day of report and (category, channel, priority), the counts the
reports' volume figures need, updated with every ticket write (repairs/reports/day_counts.py), so a
report reads a few hundred rows instead of every ticket in its period. Filled here from the tickets
already stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_day_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("reported", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "category", "channel", "priority", name=op.f("pk_ticket_day_counts")),
    )
    # The counts of the tickets already here, worked out by the same code that keeps them afterwards.
    from repairs.reports.day_counts import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("ticket_day_counts")
