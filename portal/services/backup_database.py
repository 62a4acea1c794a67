"""The database part of a backup: a consistent copy of SQLite or PostgreSQL, and loading it back.

Why PostgreSQL is dumped as data only: the target (another server, or in tests another schema named by
`options=-csearch_path=...`) gets its tables from our own migrations, run to the backup's alembic
revision, and the data is then loaded into whatever schema the target URL uses. Renaming a schema in
a full SQL dump by text replacement could also change data; here only the `COPY` headers and
`setval()` lines, parsed strictly, are re-targeted, and every data line is passed through untouched.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from portal.db import normalise_url

SQLITE_MEMBER = "database/portal.sqlite3"
PG_MEMBER = "database/data.sql"
SKIP_TABLES = frozenset({"alembic_version"})


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what to do."""


# -- connections -----------------------------------------------------------------------------
def is_sqlite(database_url: str) -> bool:
    return normalise_url(database_url).startswith("sqlite")


def sqlite_path(database_url: str) -> Path:
    database = make_url(normalise_url(database_url)).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


@contextmanager
def maintenance_engine(database_url: str) -> Iterator[Engine]:
    # A plain engine (no WAL switch, no writers' lock): these are short maintenance connections.
    engine = create_engine(normalise_url(database_url), poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def row_counts(conn: Connection) -> dict[str, int]:
    """Rows per table of the connection's (default) schema, alembic_version aside."""
    quote = conn.dialect.identifier_preparer.quote
    names = sorted(n for n in inspect(conn).get_table_names() if n not in SKIP_TABLES)
    # Table names come from the database catalogue and are quoted: no user input reaches this SQL.
    return {n: int(conn.execute(text(f"SELECT count(*) FROM {quote(n)}")).scalar_one()) for n in names}  # noqa: S608


def alembic_revision(conn: Connection) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def frozen_documents(conn: Connection) -> list[tuple[str, str]]:
    """(sha256, path) of every IssuedDocument a submission froze."""
    rows = conn.execute(text("SELECT DISTINCT d.sha256, d.path FROM submission s "
                             "JOIN issueddocument d ON d.id = s.document_id"))
    return [(str(sha or ""), str(path or "")) for sha, path in rows]


# -- PostgreSQL ------------------------------------------------------------------------------
def _libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """A URL for pg_dump without the password (that goes in PGPASSWORD, not on a command line)."""
    url = make_url(normalise_url(database_url))
    env = {"PGPASSWORD": url.password} if url.password else {}
    # `options` (search_path) is dropped: pg_dump sets its own search_path and is told the schema.
    query = {k: v for k, v in url.query.items() if k != "options"}
    plain = url.set(drivername="postgresql", password=None, query=query)
    return plain.render_as_string(hide_password=False), env


def pg_dump_major() -> int:
    try:
        out = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True, check=True).stdout
    except FileNotFoundError as exc:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)") from exc
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if match is None:
        raise BackupError(f"cannot read the pg_dump version from {out.strip()!r}")
    return int(match.group(1))


def check_pg_dump_version(client_major: int, server_version_num: int, server_version: str) -> None:
    """pg_dump refuses servers newer than itself: say so with the fix, before starting."""
    server_major = server_version_num // 10000
    if client_major < server_major:
        raise BackupError(f"pg_dump {client_major} cannot dump PostgreSQL server {server_version}: install the "
                          f"client of the server's major version (Debian: postgresql-client-{server_major}) "
                          "and put its pg_dump first on PATH")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _backup_postgres(database_url: str, dest: Path) -> dict[str, Any]:
    client_major = pg_dump_major()
    with maintenance_engine(database_url) as engine, engine.connect().execution_options(
            isolation_level="REPEATABLE READ") as conn:
        # The first statement fixes the snapshot; pg_dump reads exactly this snapshot, as do the counts below.
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        if not schema:
            raise BackupError("the database URL's search_path names no existing schema")
        server = str(conn.execute(text("SHOW server_version")).scalar_one())
        check_pg_dump_version(client_major, int(conn.execute(text("SHOW server_version_num")).scalar_one()), server)
        counts, revision, frozen = row_counts(conn), alembic_revision(conn), frozen_documents(conn)
        target, env = _libpq_target(database_url)
        quoted = _quote_ident(schema)
        cmd = ["pg_dump", "--dbname", target, "--data-only", "--format=plain", "--no-owner", "--no-privileges",
               f"--schema={quoted}", f"--exclude-table={quoted}.{_quote_ident('alembic_version')}",
               f"--snapshot={snapshot}", f"--file={dest}"]
        result = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True)
        conn.rollback()
    if result.returncode != 0:
        message = result.stderr.strip()
        if "version mismatch" in message:
            raise BackupError(f"pg_dump {client_major} does not match server {server}: {message}")
        raise BackupError(f"pg_dump failed: {message}")
    return {"engine": "postgresql", "schema": schema, "server_version": server, "member": PG_MEMBER,
            "row_counts": counts, "alembic_revision": revision, "frozen": frozen}


_COPY = re.compile(r"^COPY (?P<table>\S+) \((?P<cols>[^()]*)\) FROM stdin;$")
_SETVAL = re.compile(r"^SELECT pg_catalog\.setval\('(?P<seq>(?:[^']|'')+)', (?P<value>\d+), (?P<called>true|false)\);$")
_IDENT = re.compile(r'^(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)$')
_SKIPPED = ("--", "SET ", "SELECT pg_catalog.set_config(", "\\restrict ", "\\unrestrict ")


def _unqualified(name: str, schema: str) -> str:
    for prefix in (f"{_quote_ident(schema)}.", f"{schema}."):
        if name.startswith(prefix) and _IDENT.match(name[len(prefix):]):
            return name[len(prefix):]
    raise BackupError(f"the dump names {name!r}, outside the backed-up schema {schema!r}")


def _load_dump(cursor: Any, dump: Path, schema: str) -> None:
    """Replay a data-only plain dump into the cursor's search_path schema (see the module docstring)."""
    with dump.open("rb") as fh:
        for raw in fh:
            line = raw.decode("utf-8").rstrip("\n")
            if not line.strip() or line.startswith(_SKIPPED):
                continue
            if copy := _COPY.match(line):
                table = _unqualified(copy["table"], schema)
                columns = [c.strip() for c in copy["cols"].split(",")]
                if not all(_IDENT.match(c) for c in columns):
                    raise BackupError(f"unexpected column list in the dump: {line[:120]}")
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as sink:
                    for data in fh:
                        if data == b"\\.\n":
                            break
                        sink.write(data)
                    else:
                        raise BackupError(f"the dump ends inside the data of {table}")
            elif setval := _SETVAL.match(line):
                sequence = _unqualified(setval["seq"].replace("''", "'"), schema)
                cursor.execute("SELECT pg_catalog.setval(%s, %s, %s)",
                               (sequence, int(setval["value"]), setval["called"] == "true"))
            else:
                raise BackupError(f"unexpected statement in the dump (not a data-only pg_dump?): {line[:120]}")


def _restore_postgres(dump: Path, database_url: str, manifest: dict[str, Any]) -> None:
    from alembic.util import CommandError

    from portal import migrate

    revision = manifest.get("alembic_revision")
    with maintenance_engine(database_url) as engine:
        with engine.connect() as conn:
            current = alembic_revision(conn)
        if current is None and revision:
            try:
                migrate.upgrade(database_url, revision)  # tables of the backed-up schema version, still empty
            except CommandError as exc:
                raise BackupError(f"this portal version cannot create the backup's schema (revision {revision}): "
                                  f"{exc}; restore with the portal version that made the backup") from exc
        elif current != revision:
            raise BackupError(f"the target database is at revision {current}, the backup at {revision}: restore "
                              "into a database without tables (the restore runs the migrations itself)")
        # One transaction: all the data or none.
        with engine.begin() as conn, conn.connection.driver_connection.cursor() as cursor:
            _load_dump(cursor, dump, manifest["database"]["schema"])


# -- SQLite ----------------------------------------------------------------------------------
def _backup_sqlite(database_url: str, dest: Path) -> dict[str, Any]:
    source = sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(dest)) as dst:
        # pages=-1: everything in one step, inside one read transaction: a consistent snapshot.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        problems = [r[0] for r in dst.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"the source database fails PRAGMA integrity_check: {'; '.join(problems[:5])}")
    with maintenance_engine(f"sqlite:///{dest}") as engine, engine.connect() as conn:
        return {"engine": "sqlite", "member": SQLITE_MEMBER, "row_counts": row_counts(conn),
                "alembic_revision": alembic_revision(conn), "frozen": frozen_documents(conn)}


def _restore_sqlite(copy: Path, database_url: str) -> None:
    target = sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(copy)) as src, closing(sqlite3.connect(target, timeout=30)) as dst:
        # A WAL database only accepts a backup of its own page size; DELETE mode accepts any. The app
        # switches back to WAL on its next connection.
        dst.execute("PRAGMA journal_mode=DELETE")
        src.backup(dst)


# -- either ----------------------------------------------------------------------------------
def dump_database(database_url: str, dest: Path) -> dict[str, Any]:
    """Copy the database to the file `dest`; returns the manifest's "database" entry with the snapshot's
    "row_counts", "alembic_revision" and "frozen" documents."""
    return _backup_sqlite(database_url, dest) if is_sqlite(database_url) else _backup_postgres(database_url, dest)


def load_database(staging: Path, database_url: str, manifest: dict[str, Any]) -> None:
    """Load the verified copy extracted under `staging` into the (empty) target database."""
    database = manifest["database"]
    if database["engine"] == "sqlite" and is_sqlite(database_url):
        _restore_sqlite(staging / SQLITE_MEMBER, database_url)
    elif database["engine"] == "postgresql" and not is_sqlite(database_url):
        _restore_postgres(staging / PG_MEMBER, database_url, manifest)
    else:
        raise BackupError(f"the backup is of a {database['engine']} database; the target URL is not")
