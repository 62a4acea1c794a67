"""Migrations go base -> head -> base -> head on the configured database (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import inspect, text

from portal import migrate
from portal.db import make_engine


def _fresh_url(tmp_path) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        return f"sqlite:///{tmp_path / 'mig.db'}", None
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{pg}?options=-csearch_path%3D{schema}", (admin, schema)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_base_head_base_head(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, cleanup = _fresh_url(tmp_path)
    try:
        migrate.upgrade(url, "head")
        created = _tables(url)
        assert {"enterprise", "user", "answer", "submission", "auditlog", "issueddocument"} <= created
        migrate.downgrade(url, "base")
        assert _tables(url) == set()
        migrate.upgrade(url, "head")
        assert _tables(url) == created
    finally:
        if cleanup:
            admin, schema = cleanup
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def test_models_and_migrations_agree(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Autogenerate finds nothing to add: the migration files describe the models exactly."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import portal.models  # noqa: F401

    url, cleanup = _fresh_url(tmp_path)
    try:
        migrate.upgrade(url, "head")
        engine = make_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        engine.dispose()
        assert diff == []
    finally:
        if cleanup:
            admin, schema = cleanup
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
