"""Migrations go base -> head -> base -> head on the configured database (SQLite or PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import inspect

from portal import migrate
from portal.db import make_engine
from tests.conftest import empty_database


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_base_head_base_head(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with empty_database(tmp_path, "m") as url:
        migrate.upgrade(url, "head")
        created = _tables(url)
        assert {"enterprise", "user", "answer", "submission", "auditlog", "issueddocument"} <= created
        migrate.downgrade(url, "base")
        assert _tables(url) == set()
        migrate.upgrade(url, "head")
        assert _tables(url) == created


def test_models_and_migrations_agree(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Autogenerate finds nothing to add: the migration files describe the models exactly."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import portal.models  # noqa: F401

    with empty_database(tmp_path, "m") as url:
        migrate.upgrade(url, "head")
        engine = make_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        engine.dispose()
        assert diff == []
