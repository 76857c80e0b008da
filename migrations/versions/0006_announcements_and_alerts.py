"""Announcements, emergency alerts, officers' Telegram ids, outbox rows for a fixed chat

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 13:10:00

`announcements` keeps each posted notice on record. `emergency_alerts` has one row per emergency
ticket until an officer acknowledges it (the workspace banner). Officers may link their Telegram user
id so their taps on an alert in the officers' group are theirs. An outbox row may be addressed to a
fixed chat (`external_id`, with `channel`) instead of a resident: the officers' group.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import repairs.database

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_officers_telegram_user_id"), ["telegram_user_id"])
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("planned_works", "outage", name="announcementkind", native_enum=False,
                                  length=20), nullable=False),
        sa.Column("area_kind", sa.Enum("block", "estate", name="areakind", native_enum=False, length=20),
                  nullable=False),
        sa.Column("area", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["officer_id"], ["officers.id"], name=op.f("fk_announcements_officer_id_officers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index(op.f("ix_announcements_officer_id"), "announcements", ["officer_id"], unique=False)
    op.create_index(op.f("ix_announcements_created_at"), "announcements", ["created_at"], unique=False)
    op.create_table(
        "emergency_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("raised_at", repairs.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", repairs.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["officers.id"],
                                name=op.f("fk_emergency_alerts_acknowledged_by_id_officers")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_emergency_alerts_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_alerts")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_emergency_alerts_ticket_id")),
    )
    op.create_index("ix_emergency_alerts_ack_raised", "emergency_alerts", ["acknowledged_at", "raised_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_emergency_alerts_ack_raised", table_name="emergency_alerts")
    op.drop_table("emergency_alerts")
    op.drop_index(op.f("ix_announcements_created_at"), table_name="announcements")
    op.drop_index(op.f("ix_announcements_officer_id"), table_name="announcements")
    op.drop_table("announcements")
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_column("external_id")
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_officers_telegram_user_id"), type_="unique")
        batch_op.drop_column("telegram_user_id")
