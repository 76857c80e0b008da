"""Officers' data protection permission: subject access exports and erasures

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 19:00:00

`officers.data_protection` lets an officer export everything held about a resident and erase them. It was the
supervisor role's until now; a council gives it to whoever handles its data protection requests. No existing
officer has it until a supervisor gives it (the accounts page, or `create-officer --data-protection`): who may
hand over a person's data is the council's decision, not the upgrade's. The demo gives it to its supervisor.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_protection", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.drop_column("data_protection")
