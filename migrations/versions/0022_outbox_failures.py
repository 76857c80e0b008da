"""Outbox: count reported failures apart from claims

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 19:00:00

`attempts` counts claims (and is the token a worker's report must match). A claim whose lease runs out with
no report (a worker killed, the repairs service down past the lease, a send left for the next claim because
it could not finish inside the lease) is no failed send, so the retry budget now counts only the failures
workers report: `failures`. Existing rows start from their attempts so far, as the budget counted them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE notification_outbox SET failures = attempts WHERE status = 'pending' AND last_error IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_column("failures")
