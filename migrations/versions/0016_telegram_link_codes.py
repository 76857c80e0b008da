"""One-time codes that link an officer's Telegram account

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:30:00

An officer used to link their Telegram account by typing its user id, which proved nothing: anyone could
type anyone's. `telegram_link_codes` holds the codes the workspace shows (a keyed hash of each, never the
code), which the officer sends to the bot from that account; each works once, within ten minutes. The
links made the old way stay as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repairs.database

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", repairs.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name=op.f("fk_telegram_link_codes_officer_id_officers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_telegram_link_codes_code_hash")),
    )
    op.create_index(op.f("ix_telegram_link_codes_officer_id"), "telegram_link_codes", ["officer_id"], unique=False)
    op.create_index(op.f("ix_telegram_link_codes_expires_at"), "telegram_link_codes", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_telegram_link_codes_expires_at"), table_name="telegram_link_codes")
    op.drop_index(op.f("ix_telegram_link_codes_officer_id"), table_name="telegram_link_codes")
    op.drop_table("telegram_link_codes")
