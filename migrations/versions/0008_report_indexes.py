"""Indexes for the supervisors' reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 14:00:00

The reports count the repairs reported, and the repairs completed, in a period. Without an index each
count read all of the tickets table; on PostgreSQL the two indexes carry the columns the counts use, so
they are index-only range scans.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_reported_at", "tickets", ["reported_at"], unique=False,
        postgresql_include=["category", "channel", "priority", "status", "cancelled_at", "completed_at",
                            "reopen_count"],
    )
    op.create_index(
        "ix_tickets_completed_at", "tickets", ["completed_at"], unique=False,
        postgresql_include=["priority", "due_at", "reported_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_completed_at", table_name="tickets")
    op.drop_index("ix_tickets_reported_at", table_name="tickets")
