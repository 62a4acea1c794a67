"""Backup and restore of one portal instance: the database, the uploads and the frozen application PDFs.

One archive (tar.gz, mode 0600, written under a temporary name and renamed when complete):

- `database/portal.sqlite3` (SQLite): a copy made with the online backup API. The copy is taken in one
  step inside one read transaction, so it is a consistent snapshot while autosaves go on (WAL: readers
  never block writers and writers never block this reader).
- `database/data.sql` (PostgreSQL): `pg_dump --data-only --schema=<current schema>` in plain SQL. The
  row counts and the alembic revision in the manifest are read in the same snapshot (`pg_dump
  --snapshot` with a snapshot exported by our REPEATABLE READ transaction), so they match the dump.
- `uploads/...`: every file of UPLOAD_DIR, including `applications/` (the frozen application PDFs). A
  frozen PDF missing there but still in the PDF cache is taken from the cache (checked by SHA-256).
- `manifest.json`: the SHA-256 of every other member, row counts per table, alembic revision, portal
  version, creation time.

Why the database comes first and the files after: an attachment's file is written before its row
commits and stored files are never rewritten (generated or content-addressed names), so every row in
the snapshot finds its file in the archive; files newer than the snapshot are harmless extras.

Why PostgreSQL is dumped as data only: the target (another server, or in tests another schema named by
`options=-csearch_path=...`) gets its tables from our own migrations, run to the backup's alembic
revision, and the data is then loaded into whatever schema the target URL uses. Renaming a schema in
a full SQL dump by text replacement could also change data; here only the `COPY` headers and
`setval()` lines, parsed strictly, are re-targeted, and every data line is passed through untouched.

Restore refuses unless the target database has no rows (alembic_version aside) and UPLOAD_DIR has no
files. It extracts into a staging folder beside UPLOAD_DIR and checks that the archive holds exactly the
manifest's files with their SHA-256 before it writes anything, then loads the database, moves the files
in and runs `check_instance`. The PDF cache is not backed up: it is re-rendered on demand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from portal.db import normalise_url

FORMAT = "portal-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/portal.sqlite3"
PG_MEMBER = "database/data.sql"
UPLOADS = "uploads"
FROZEN_SUBDIR = "applications"  # kept in step with portal.services.frozen_pdfs.FROZEN_SUBDIR
SKIP_TABLES = frozenset({"alembic_version"})


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what to do."""


# -- small helpers ---------------------------------------------------------------------------
def is_sqlite(database_url: str) -> bool:
    return normalise_url(database_url).startswith("sqlite")


def sqlite_path(database_url: str) -> Path:
    database = make_url(normalise_url(database_url)).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


@contextmanager
def _engine(database_url: str) -> Iterator[Engine]:
    # A plain engine (no WAL switch, no writers' lock): these are short maintenance connections.
    engine = create_engine(normalise_url(database_url), poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


def _frozen_documents(conn: Connection) -> list[tuple[str, str]]:
    """(sha256, path) of every IssuedDocument a submission froze."""
    rows = conn.execute(text("SELECT DISTINCT d.sha256, d.path FROM submission s "
                             "JOIN issueddocument d ON d.id = s.document_id"))
    return [(str(sha or ""), str(path or "")) for sha, path in rows]


def _portal_version() -> str:
    try:
        return metadata.version("portal")
    except metadata.PackageNotFoundError:
        return "unknown"


class _HashingReader(io.RawIOBase):
    """Hash exactly the bytes tarfile copies into the archive, so the manifest matches the archive."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.digest = fh, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        return data


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
    with _engine(database_url) as engine, engine.connect().execution_options(
            isolation_level="REPEATABLE READ") as conn:
        # The first statement fixes the snapshot; pg_dump reads exactly this snapshot, as do the counts below.
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        if not schema:
            raise BackupError("the database URL's search_path names no existing schema")
        server = str(conn.execute(text("SHOW server_version")).scalar_one())
        check_pg_dump_version(client_major, int(conn.execute(text("SHOW server_version_num")).scalar_one()), server)
        counts, revision, frozen = row_counts(conn), alembic_revision(conn), _frozen_documents(conn)
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
    with _engine(database_url) as engine:
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
    with _engine(f"sqlite:///{dest}") as engine, engine.connect() as conn:
        return {"engine": "sqlite", "member": SQLITE_MEMBER, "row_counts": row_counts(conn),
                "alembic_revision": alembic_revision(conn), "frozen": _frozen_documents(conn)}


def _restore_sqlite(copy: Path, database_url: str) -> None:
    target = sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(copy)) as src, closing(sqlite3.connect(target, timeout=30)) as dst:
        # A WAL database only accepts a backup of its own page size; DELETE mode accepts any. The app
        # switches back to WAL on its next connection.
        dst.execute("PRAGMA journal_mode=DELETE")
        src.backup(dst)


# -- backup ----------------------------------------------------------------------------------
def _upload_files(upload_dir: Path) -> list[Path]:
    """Every stored file; dot-files are temporary (`.name.part`) and symlinks are not ours."""
    if not upload_dir.is_dir():
        return []
    return sorted(p for p in upload_dir.rglob("*") if p.is_file() and not p.is_symlink()
                  and not any(part.startswith(".") for part in p.relative_to(upload_dir).parts))


def _frozen_fallbacks(frozen: list[tuple[str, str]], have: set[str], pdf_cache_dir: Path | None
                      ) -> tuple[dict[str, Path], list[str]]:
    """Frozen PDFs missing from uploads/applications, found in the PDF cache instead; and those found nowhere."""
    extra: dict[str, Path] = {}
    missing: list[str] = []
    for sha, path in frozen:
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            continue
        arcname = f"{UPLOADS}/{FROZEN_SUBDIR}/{sha}.pdf"
        if arcname in have or arcname in extra:
            continue
        candidates = [Path(path)] if path else []
        if path and pdf_cache_dir is not None:
            candidates.append(pdf_cache_dir / Path(path).name)
        found = next((c for c in candidates if c.is_file() and _sha256_file(c) == sha), None)
        if found is None:
            missing.append(f"frozen application PDF {sha} is neither in the uploads nor in the PDF cache")
        else:
            extra[arcname] = found
    return extra, missing


def _add_file(tar: tarfile.TarFile, arcname: str, path: Path) -> str:
    with path.open("rb") as fh:
        info = tar.gettarinfo(fileobj=fh, arcname=arcname)
        info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
        reader = _HashingReader(fh)
        tar.addfile(info, reader)  # type: ignore[arg-type]
        return reader.digest.hexdigest()


def create_backup(database_url: str, upload_dir: Path, out: Path, *, pdf_cache_dir: Path | None = None,
                  now: dt.datetime | None = None) -> tuple[Path, dict[str, Any]]:
    """Write the archive to `out` (a file name, or an existing folder to put a dated file in)."""
    upload_dir, out = Path(upload_dir), Path(out)
    created = now or dt.datetime.now(dt.UTC)
    if out.is_dir():
        out = out / f"portal-backup-{created:%Y%m%d-%H%M%S}.tar.gz"
    if out.exists():
        raise BackupError(f"{out} exists; choose a new name (a backup is never overwritten)")
    if upload_dir.resolve() in out.resolve().parents:
        raise BackupError(f"{out} is inside UPLOAD_DIR ({upload_dir}); write backups elsewhere")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".portal-backup-", dir=out.parent) as work:
        db_file = Path(work) / "database"
        database = _backup_sqlite(database_url, db_file) if is_sqlite(database_url) else \
            _backup_postgres(database_url, db_file)
        # Files after the database snapshot: see the module docstring.
        members = {f"{UPLOADS}/{p.relative_to(upload_dir).as_posix()}": p for p in _upload_files(upload_dir)}
        extra, warnings = _frozen_fallbacks(database.pop("frozen"), set(members), pdf_cache_dir)
        members.update(extra)
        manifest: dict[str, Any] = {
            "format": FORMAT, "created_at": created.isoformat(timespec="seconds"),
            "portal_version": _portal_version(), "alembic_revision": database.pop("alembic_revision"),
            "row_counts": database.pop("row_counts"), "database": database, "files": {}, "warnings": warnings,
        }
        tmp = out.with_name(f".{out.name}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # the archive holds everything: owner only
        try:
            with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
                manifest["files"][database["member"]] = _add_file(tar, database["member"], db_file)
                for arcname, path in sorted(members.items()):
                    manifest["files"][arcname] = _add_file(tar, arcname, path)
                data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(created.timestamp())
                tar.addfile(info, io.BytesIO(data))
            os.replace(tmp, out)  # a backup under its final name is always complete
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return out, manifest


# -- restore ---------------------------------------------------------------------------------
def _member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] not in ("database", UPLOADS):
        raise BackupError(f"the archive holds an unexpected member {name!r}")
    return path


def extract_verified(archive: Path, staging: Path) -> dict[str, Any]:
    """Unpack into `staging` and check every member against the manifest; returns the manifest."""
    manifest: dict[str, Any] | None = None
    seen: dict[str, str] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name == MANIFEST and member.isfile():
                    manifest = json.load(tar.extractfile(member))  # type: ignore[arg-type]
                    continue
                if member.isdir():
                    continue
                path = _member_path(member.name)
                if not member.isfile() or member.name in seen:
                    raise BackupError(f"the archive holds an unexpected member {member.name!r}")
                target = staging.joinpath(*path.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                digest = hashlib.sha256()
                with target.open("wb") as fh:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        fh.write(chunk)
                seen[member.name] = digest.hexdigest()
    except (tarfile.TarError, OSError, EOFError, json.JSONDecodeError) as exc:
        raise BackupError(f"{archive} is not a readable portal backup: {exc}") from exc
    if manifest is None or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} has no {FORMAT} manifest")
    expected: dict[str, str] = manifest["files"]
    problems = [f"missing from the archive: {n}" for n in sorted(set(expected) - set(seen))]
    problems += [f"not in the manifest: {n}" for n in sorted(set(seen) - set(expected))]
    problems += [f"SHA-256 differs from the manifest: {n}" for n in sorted(set(seen) & set(expected))
                 if seen[n] != expected[n]]
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise BackupError("the archive does not match its manifest, nothing was restored: "
                          + "; ".join(problems[:10]) + more)
    return manifest


def verify_archive(archive: Path) -> dict[str, Any]:
    """Check an archive's SHA-256s without restoring it; returns the manifest."""
    with tempfile.TemporaryDirectory(prefix=".portal-verify-") as staging:
        return extract_verified(Path(archive), Path(staging))


def database_rows(database_url: str) -> dict[str, int]:
    """Rows per table of the target; {} for a SQLite file that does not exist yet."""
    if is_sqlite(database_url) and not sqlite_path(database_url).exists():
        return {}
    with _engine(database_url) as engine, engine.connect() as conn:
        return row_counts(conn)


def ensure_empty(database_url: str, upload_dir: Path) -> None:
    """Refuse to restore over anything: a restore only ever goes into a new, empty instance."""
    filled = {t: n for t, n in database_rows(database_url).items() if n}
    if filled:
        listed = ", ".join(f"{t} ({n})" for t, n in sorted(filled.items())[:5])
        raise BackupError(f"the target database is not empty: {listed}; restore into a new database")
    upload_dir = Path(upload_dir)
    if upload_dir.is_dir() and any(p.is_file() for p in upload_dir.rglob("*")):
        raise BackupError(f"the upload folder {upload_dir} is not empty; restore into a new folder")


def restore_backup(archive: Path, database_url: str, upload_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """Restore into an empty instance; returns (manifest, problems found by check_instance)."""
    upload_dir = Path(upload_dir)
    ensure_empty(database_url, upload_dir)
    upload_dir.parent.mkdir(parents=True, exist_ok=True)
    # Staged beside UPLOAD_DIR so moving the files in is a rename on the same file system.
    with tempfile.TemporaryDirectory(prefix=".portal-restore-", dir=upload_dir.parent) as work:
        staging = Path(work)
        manifest = extract_verified(Path(archive), staging)
        ensure_empty(database_url, upload_dir)  # again: extracting a large archive takes a while
        database = manifest["database"]
        if database["engine"] == "sqlite" and is_sqlite(database_url):
            _restore_sqlite(staging / SQLITE_MEMBER, database_url)
        elif database["engine"] == "postgresql" and not is_sqlite(database_url):
            _restore_postgres(staging / PG_MEMBER, database_url, manifest)
        else:
            raise BackupError(f"the backup is of a {database['engine']} database; the target URL is not")
        uploads = staging / UPLOADS
        for name in sorted(n for n in manifest["files"] if n.startswith(f"{UPLOADS}/")):
            rel = PurePosixPath(name).relative_to(UPLOADS)
            target = upload_dir.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(uploads.joinpath(*rel.parts), target)
    return manifest, check_instance(database_url, upload_dir, manifest)


# -- integrity -------------------------------------------------------------------------------
def check_instance(database_url: str, upload_dir: Path, manifest: dict[str, Any] | None = None) -> list[str]:
    """Problems found (empty when sound): SQLite integrity, row counts and revision against the
    manifest, and every attachment and frozen application PDF present with its SHA-256."""
    upload_dir = Path(upload_dir)
    problems: list[str] = []
    with _engine(database_url) as engine, engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            result = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
            if result != ["ok"]:
                problems.append(f"PRAGMA integrity_check: {'; '.join(result[:5])}")
            if broken := conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
                problems.append(f"PRAGMA foreign_key_check: {len(broken)} rows point at missing rows")
        if manifest is not None:
            counts, expected = row_counts(conn), manifest["row_counts"]
            for table in sorted(set(counts) | set(expected)):
                if counts.get(table) != expected.get(table):
                    problems.append(f"table {table}: {counts.get(table)} rows, the backup had {expected.get(table)}")
            if (revision := alembic_revision(conn)) != manifest.get("alembic_revision"):
                problems.append(f"alembic revision {revision}, the backup had {manifest.get('alembic_revision')}")
        attached = conn.execute(text("SELECT id, stored_name, sha256 FROM attachment")).all()
        frozen = _frozen_documents(conn)
    for att_id, stored_name, sha in attached:
        path = upload_dir / stored_name
        if Path(stored_name).name != stored_name or not path.is_file():
            problems.append(f"attachment {att_id}: file {stored_name} is missing")
        elif _sha256_file(path) != sha:
            problems.append(f"attachment {att_id}: file {stored_name} does not match its SHA-256")
    for sha, _path in frozen:
        path = upload_dir / FROZEN_SUBDIR / f"{sha}.pdf"
        if not re.fullmatch(r"[0-9a-f]{64}", sha) or not path.is_file():
            problems.append(f"frozen application PDF {sha or '(no SHA-256)'} is missing")
        elif _sha256_file(path) != sha:
            problems.append(f"frozen application PDF {sha} does not match its SHA-256")
    return problems

