"""Queue index predicate written as the query renders it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:30:00

Neither PostgreSQL nor SQLite proved that `is_open IS true` (what the queue query sends) implies
the bare `is_open` the partial index was declared with, so the queue scanned every ticket.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_tickets_open_due", table_name="tickets")
    op.create_index(
        "ix_tickets_open_due", "tickets", ["due_at", "id"], unique=False,
        postgresql_where=sa.text("is_open IS true"), sqlite_where=sa.text("is_open IS 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_open_due", table_name="tickets")
    op.create_index(
        "ix_tickets_open_due", "tickets", ["due_at", "id"], unique=False,
        postgresql_where=sa.text("is_open"), sqlite_where=sa.text("is_open"),
    )
