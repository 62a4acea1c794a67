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
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import text

from portal.services.backup_database import (
    BackupError,
    alembic_revision,
    dump_database,
    frozen_documents,
    is_sqlite,
    load_database,
    maintenance_engine,
    row_counts,
    sqlite_path,
)

FORMAT = "portal-backup/1"
MANIFEST = "manifest.json"
UPLOADS = "uploads"
FROZEN_SUBDIR = "applications"  # kept in step with portal.services.frozen_pdfs.FROZEN_SUBDIR


# -- small helpers ---------------------------------------------------------------------------
def _sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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
        database = dump_database(database_url, db_file)
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
    with maintenance_engine(database_url) as engine, engine.connect() as conn:
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
        load_database(staging, database_url, manifest)
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
    with maintenance_engine(database_url) as engine, engine.connect() as conn:
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
        frozen = frozen_documents(conn)
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

