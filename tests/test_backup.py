"""`portal backup` / `portal restore`: a round trip while autosaves are written, refusals, tampering."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect, text

from portal.extensions import db
from portal.services import answers as answer_service
from portal.services import backup, backup_database
from tests.factories import JPEG, PDF, PNG, empty_database, enterprise, submission_id, submit

pytestmark = pytest.mark.usefixtures("fake_pdf")  # WeasyPrint is not under test here

AUTOSAVED = "annual_revenue_wan"


def _snapshot_keys(database_url: str) -> dict[str, set[tuple[Any, ...]]]:
    """Primary keys of every row, per table."""
    with backup_database.maintenance_engine(database_url) as engine, engine.connect() as conn:
        found = {}
        insp = inspect(conn)
        for table in insp.get_table_names():
            pk = insp.get_pk_constraint(table)["constrained_columns"]
            cols = ", ".join(f'"{c}"' for c in pk)
            found[table] = {tuple(r) for r in conn.execute(text(f'SELECT {cols} FROM "{table}"'))}  # noqa: S608
        return found


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def _instance_with_data(app: Flask) -> dict[str, Any]:
    """An enterprise with answers, two applications (frozen PDFs) and attachments."""
    user, browser = enterprise(app)
    sid = submission_id(submit(browser, files=[("营业执照.pdf", PDF + b"licence"), ("照片.png", PNG)]))
    resp = browser.post(f"/app/submissions/{sid}/attachments", {"files": [(io.BytesIO(JPEG + b"more"), "补充.jpg")]})
    assert resp.status_code == 303
    other, other_browser = enterprise(app, name="另一企业")
    submission_id(submit(other_browser, files=[("a.pdf", PDF + b"other")]))
    return user


def test_round_trip_while_autosaves_are_written(app: Flask, tmp_path: Path) -> None:
    user = _instance_with_data(app)
    upload_dir = Path(app.config["UPLOAD_DIR"])
    committed: list[int] = []  # versions of AUTOSAVED, appended only after save_answer committed
    stop = threading.Event()
    errors: list[BaseException] = []

    def autosave() -> None:
        try:
            with app.app_context():
                value = 1000
                while not stop.is_set():
                    value += 1
                    with db.standalone() as session:
                        result = answer_service.save_answer(session, user["enterprise_id"], user["id"], AUTOSAVED,
                                                            value, None)
                    committed.append(result.version)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread below
            errors.append(exc)

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    writer = threading.Thread(target=autosave)
    writer.start()
    try:
        while len(committed) < 20 and writer.is_alive():
            threading.Event().wait(0.01)
        before_versions = list(committed)
        before_rows = _snapshot_keys(app.config["DATABASE_URL"])
        before_files = _files(upload_dir)
        archive, manifest = backup.create_backup(app.config["DATABASE_URL"], upload_dir, out_dir,
                                                 pdf_cache_dir=Path(app.config["PDF_CACHE_DIR"]))
        target = len(committed) + 10
        while len(committed) < target and writer.is_alive():  # writes went on during and after the backup
            threading.Event().wait(0.01)
    finally:
        stop.set()
        writer.join(30)
    assert not errors, errors
    assert archive.parent == out_dir and archive.name.endswith(".tar.gz")
    assert archive.stat().st_mode & 0o777 == 0o600
    assert manifest["warnings"] == [] and manifest["alembic_revision"]
    assert manifest["row_counts"]["attachment"] == 4 and manifest["row_counts"]["submission"] == 2
    assert sum(1 for n in manifest["files"] if n.startswith("uploads/applications/")) == 2

    with empty_database(tmp_path / "restored-db", prefix="restore") as url:
        restored_uploads = tmp_path / "restored" / "uploads"
        restored_manifest, problems = backup.restore_backup(archive, url, restored_uploads)
        assert problems == [] and restored_manifest == manifest
        assert backup.check_instance(url, restored_uploads, manifest) == []
        after_rows = _snapshot_keys(url)
        # Every row committed before the backup began is there (rows committed later may be too).
        for table, keys in before_rows.items():
            if table != "alembic_version":
                assert keys <= after_rows[table], (table, keys - after_rows[table])
        with backup_database.maintenance_engine(url) as engine, engine.connect() as conn:
            versions = {v for (v,) in conn.execute(text(
                "SELECT version FROM answerhistory WHERE enterprise_id = :e AND field = :f"),
                {"e": user["enterprise_id"], "f": AUTOSAVED})}
            final = conn.execute(text("SELECT version, value_json FROM answer WHERE enterprise_id = :e AND field = :f"),
                                 {"e": user["enterprise_id"], "f": AUTOSAVED}).one()
            # Sequences follow the data: the next insert does not collide with a restored id.
            if conn.dialect.name == "postgresql":
                conn.execute(text("INSERT INTO enterprise (name, answers_revision, profile_json, created_at) "
                                  "VALUES ('new', 0, '{}', now())"))
                conn.rollback()
        assert set(before_versions) <= versions
        assert final.version >= before_versions[-1] and final.version == max(versions)
        assert json.loads(final.value_json) == 1000 + final.version
        # Every file (attachments and frozen PDFs) is there, byte for byte.
        after_files = _files(restored_uploads)
        assert before_files.items() <= after_files.items()
        assert not list((tmp_path / "restored").glob(".portal-restore-*"))  # staging removed

        # A second restore into the now filled instance is refused.
        with pytest.raises(backup.BackupError, match="not empty"):
            backup.restore_backup(archive, url, tmp_path / "elsewhere")


def test_restore_refuses_a_database_with_rows_and_an_upload_folder_with_files(app: Flask, tmp_path: Path) -> None:
    _instance_with_data(app)
    archive, _ = backup.create_backup(app.config["DATABASE_URL"], Path(app.config["UPLOAD_DIR"]),
                                      tmp_path / "b.tar.gz")
    with pytest.raises(backup.BackupError, match="target database is not empty"):
        backup.restore_backup(archive, app.config["DATABASE_URL"], tmp_path / "fresh")
    with empty_database(tmp_path / "db2", prefix="restore") as url:
        busy = tmp_path / "busy"
        busy.mkdir()
        (busy / "left-over.pdf").write_bytes(PDF)
        with pytest.raises(backup.BackupError, match="upload folder .* is not empty"):
            backup.restore_backup(archive, url, busy)
        assert backup.database_rows(url) in ({}, {t: 0 for t in backup.database_rows(url)})
    with pytest.raises(backup.BackupError, match="never overwritten"):
        backup.create_backup(app.config["DATABASE_URL"], Path(app.config["UPLOAD_DIR"]), archive)


def _rewrite(archive: Path, out: Path, change: dict[str, bytes | None]) -> None:
    """Copy an archive, replacing (bytes) or dropping (None) some members."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(out, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name in change:
                if change[member.name] is None:
                    continue
                data = change[member.name]  # type: ignore[assignment]
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def test_a_damaged_archive_is_refused_before_anything_is_written(app: Flask, tmp_path: Path) -> None:
    _instance_with_data(app)
    archive, manifest = backup.create_backup(app.config["DATABASE_URL"], Path(app.config["UPLOAD_DIR"]),
                                             tmp_path / "b.tar.gz")
    attachment = next(n for n in manifest["files"] if n.startswith("uploads/") and "/applications/" not in n)
    cases = {
        "SHA-256 differs from the manifest": {attachment: b"%PDF- tampered"},
        "missing from the archive": {attachment: None},
    }
    for message, change in cases.items():
        bad = tmp_path / f"bad-{len(message)}.tar.gz"
        _rewrite(archive, bad, change)
        with empty_database(tmp_path / f"db-{len(message)}", prefix="restore") as url:
            uploads = tmp_path / f"up-{len(message)}"
            with pytest.raises(backup.BackupError, match=message):
                backup.restore_backup(bad, url, uploads)
            assert not uploads.exists() or not any(uploads.iterdir())
            assert not any(backup.database_rows(url).values())
        with pytest.raises(backup.BackupError, match=message):
            backup.verify_archive(bad)
    assert backup.verify_archive(archive) == manifest


def test_integrity_check_finds_a_missing_or_changed_file(app: Flask, tmp_path: Path) -> None:
    _instance_with_data(app)
    upload_dir = Path(app.config["UPLOAD_DIR"])
    assert backup.check_instance(app.config["DATABASE_URL"], upload_dir) == []
    files = sorted(p for p in upload_dir.glob("*.*") if p.is_file())
    files[0].unlink()
    files[1].write_bytes(b"changed")
    frozen = next((upload_dir / "applications").glob("*.pdf"))
    frozen.unlink()
    problems = backup.check_instance(app.config["DATABASE_URL"], upload_dir)
    assert sum("is missing" in p for p in problems) == 2 and sum("does not match" in p for p in problems) == 1


def test_a_frozen_pdf_missing_from_the_uploads_is_taken_from_the_pdf_cache(app: Flask, tmp_path: Path) -> None:
    _instance_with_data(app)
    upload_dir = Path(app.config["UPLOAD_DIR"])
    for path in (upload_dir / "applications").glob("*.pdf"):
        path.unlink()  # e.g. submissions made before frozen copies were kept
    archive, manifest = backup.create_backup(app.config["DATABASE_URL"], upload_dir, tmp_path / "b.tar.gz",
                                             pdf_cache_dir=Path(app.config["PDF_CACHE_DIR"]))
    assert manifest["warnings"] == []
    assert sum(1 for n in manifest["files"] if n.startswith("uploads/applications/")) == 2
    with empty_database(tmp_path / "db2", prefix="restore") as url:
        _, problems = backup.restore_backup(archive, url, tmp_path / "up")
        assert problems == []


def test_pg_dump_older_than_the_server_is_a_clear_error() -> None:
    with pytest.raises(backup.BackupError, match=r"pg_dump 15 cannot dump PostgreSQL server 17\.2.*"
                                                 r"postgresql-client-17"):
        backup_database.check_pg_dump_version(15, 170002, "17.2")
    backup_database.check_pg_dump_version(17, 150020, "15.20")  # a newer client dumps older servers


def test_cli_backup_and_verify(app: Flask, tmp_path: Path) -> None:
    _instance_with_data(app)
    runner = app.test_cli_runner()
    out = tmp_path / "cli.tar.gz"
    result = runner.invoke(args=["backup", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and ("sqlite" in result.output or "postgresql" in result.output)
    verified = runner.invoke(args=["restore", "--verify-only", str(out)])
    assert verified.exit_code == 0 and "match the manifest" in verified.output
    refused = runner.invoke(args=["restore", str(out)])  # into this (filled) instance
    assert refused.exit_code == 1 and "not empty" in refused.output
