"""When each officer session was last used (the workspace's idle timeout)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 10:00:00

`officer_sessions.last_seen_at`: when the session last served a page, kept to within a minute (it is
written at most once a minute per session, not on every request). A workspace session unused for
REPAIRS_WORKSPACE_IDLE_MINUTES ends. Null for sessions issued before this column: their `created_at`
stands in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repairs.database

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("officer_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", repairs.database.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("officer_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
