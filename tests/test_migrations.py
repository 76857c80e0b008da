"""Alembic owns the schema: migrations build exactly what the models describe, and unwind cleanly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from repairs.migrate import downgrade, upgrade
from repairs.tables import metadata


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_downgrade_unwinds(scratch_database_url):
    url = scratch_database_url
    upgrade(url)
    upgrade(url)  # a second run is a no-op
    engine = sa.create_engine(url)
    assert "tickets" in sa.inspect(engine).get_table_names()
    engine.dispose()
    downgrade(url, "base")
    engine = sa.create_engine(url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
