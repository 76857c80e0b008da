"""Tickets record the facts and the rule that gave their priority

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 09:40:00

`tickets` gains `facts` (the facts the priority was decided from, in repairs_common.facts' wire form),
`priority_rule` (the rule's name) and `priority_path` (facts, phrases or detector). Tickets already here were
decided by the phrase rules before facts existed: their rule and path are left null rather than guessed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("priority_rule", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("priority_path", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("priority_path")
        batch_op.drop_column("priority_rule")
        batch_op.drop_column("facts")
