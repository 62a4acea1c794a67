"""Database engine and per-request sessions.

SQLite (the embedded default) gets WAL, a busy timeout and foreign keys on every connection,
and every transaction starts with BEGIN IMMEDIATE so two gunicorn workers serialise their writes
instead of one silently overwriting what the other read. PostgreSQL is used when DATABASE_URL
is set.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine


def dialect_insert(session: Session) -> Callable[[Any], Any]:
    """The dialect's INSERT, which offers ON CONFLICT … DO UPDATE / DO NOTHING (PostgreSQL, SQLite 3.24+)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def normalise_url(url: str) -> str:
    # Heroku-style URLs and plain postgresql:// should use the psycopg 3 driver we ship.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    lock_path = _write_lock_path(engine)

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # Requests that may write take the write lock up front: a read-then-write transaction
        # can then never interleave with another writer and lose its update. Reads stay
        # concurrent (WAL).
        if _may_write():
            if lock_path is not None:
                # Queue writers (across gunicorn workers) on a blocking file lock first: SQLite's own
                # busy handler polls with sleeps of up to 100 ms, which made p95 write latency 40 ms+.
                fd = conn.info.get("write_lock_fd")
                if fd is None:
                    fd = conn.info["write_lock_fd"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                conn.info["write_lock_held"] = True
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    def _release(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.info.pop("write_lock_held", False):
            fcntl.flock(conn.info["write_lock_fd"], fcntl.LOCK_UN)

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)

    @event.listens_for(engine, "checkin")
    def _release_on_checkin(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        # Belt and braces: a connection never goes back to the pool holding the writers' lock.
        if record.info.pop("write_lock_held", False):
            fcntl.flock(record.info["write_lock_fd"], fcntl.LOCK_UN)


def _write_lock_path(engine: Engine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return f"{database}.writelock"


_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


def _may_write() -> bool:
    if _write_intent.get():
        return True
    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


class Database:
    """Flask extension holding the engine; sessions live for one request (in flask.g)."""

    def init_app(self, app: Flask) -> None:
        # The engine belongs to the app, so two apps (tests, tools) never share a database by accident.
        app.extensions["portal_db_engine"] = make_engine(app.config["DATABASE_URL"])
        app.teardown_appcontext(self._close_session)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["portal_db_engine"]

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = Session(self.engine, expire_on_commit=False)
        return g.db_session

    def _close_session(self, _exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    def write_now(self, session: Session, statement: Any) -> None:
        """Run one small write (an UPDATE) and commit it, from a request that may or may not write.

        A writing request already holds the writers' lock, so the statement runs and commits in its
        session (callers commit nothing else with it). A reading request (GET) holds a SQLite read
        snapshot, which cannot become a write once another writer has committed since it began
        ("database is locked", at once, whatever the busy timeout): there the statement runs in a
        short writing session of its own, beside the snapshot.
        """
        if _may_write():
            session.exec(statement)
            session.commit()
            return
        with self.standalone() as writer:
            writer.exec(statement)
            writer.commit()

    @contextmanager
    def standalone(self) -> Iterator[Session]:
        """A writing session outside a request (CLI, seeding, benchmarks)."""
        token = _write_intent.set(True)
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        finally:
            _write_intent.reset(token)


db = Database()
