"""Failed officer sign-ins per client address

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 11:00:00

`sign_in_failures`: one row per sign-in attempt that has not succeeded, keyed by a hash of the client's
address (never the address), so the workspace and the API can slow down one address trying many accounts
(password spraying) on every replica. Rows older than a day are deleted as new attempts arrive.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repairs.database

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index("ix_sign_in_failures_key_at", "sign_in_failures", ["key_hash", "attempted_at"], unique=False)
    op.create_index(op.f("ix_sign_in_failures_attempted_at"), "sign_in_failures", ["attempted_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_failures_attempted_at"), table_name="sign_in_failures")
    op.drop_index("ix_sign_in_failures_key_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
