"""Personal data: retention runs and their lease, the export and erasure audit, and removal markers

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:00:00

`retention_runs` records each run of the retention schedule (counts only); `job_leases` holds the lease that
keeps a run to one replica (its `retention` row is made here, so taking it is a single conditional update);
`data_protection_events` audits subject access exports and erasures. Tickets and complaints gain the times
their personal data was removed, so each removal is done once; residents gain `erased_at`. The outbox gains a
partial index on `external_id`, so a web chat finds an erasure notice addressed to it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    op.create_index(op.f("ix_retention_runs_started_at"), "retention_runs", ["started_at"])
    leases = op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )
    op.bulk_insert(leases, [{"name": "retention", "holder": None, "expires_at": None}])
    op.create_table(
        "data_protection_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["officer_id"], ["officers.id"],
                                name=op.f("fk_data_protection_events_officer_id_officers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_protection_events")),
    )
    op.create_index(op.f("ix_data_protection_events_at"), "data_protection_events", ["at"])
    op.create_index(op.f("ix_data_protection_events_resident_id"), "data_protection_events", ["resident_id"])
    # Web chat looks up rows addressed to its chat (an erasure's notice) by the chat id.
    op.create_index("ix_outbox_external_id", "notification_outbox", ["external_id"],
                    postgresql_where=sa.text("external_id IS NOT NULL"), sqlite_where=sa.text("external_id IS NOT NULL"))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details_removed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("audit_text_removed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details_removed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("details_removed_at")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("audit_text_removed_at")
        batch_op.drop_column("details_removed_at")
    op.drop_index("ix_outbox_external_id", table_name="notification_outbox")
    op.drop_index(op.f("ix_data_protection_events_resident_id"), table_name="data_protection_events")
    op.drop_index(op.f("ix_data_protection_events_at"), table_name="data_protection_events")
    op.drop_table("data_protection_events")
    op.drop_table("job_leases")
    op.drop_index(op.f("ix_retention_runs_started_at"), table_name="retention_runs")
    op.drop_table("retention_runs")
