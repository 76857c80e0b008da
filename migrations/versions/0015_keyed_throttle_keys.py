"""Throttle keys become keyed hashes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00

The throttles' rows (`verification_attempts`, `sign_in_failures`) were keyed by a plain SHA-256 of what
they count; from now on by an HMAC with REPAIRS_SECRET_KEY (repairs/auth/throttle_keys.py). The old rows
could never match a new key, and a plain hash of a client address or postcode can be reversed by hashing
them all, so they are deleted: every throttle starts from zero at this upgrade (at worst a day's count of
failures, which is all the tables keep). Nothing to put back on downgrade.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM verification_attempts")
    op.execute("DELETE FROM sign_in_failures")


def downgrade() -> None:
    pass
