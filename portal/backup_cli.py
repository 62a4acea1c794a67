"""`portal backup`, `portal restore` and `portal pdf-cache clean` (see services/backup.py and services/pdfs.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("backup")
@click.argument("out", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(out: Path) -> None:
    """Write the database, uploads and frozen application PDFs to one archive OUT (a file or a folder)."""
    from portal.services import backup

    config = current_app.config
    try:
        path, manifest = backup.create_backup(config["DATABASE_URL"], Path(config["UPLOAD_DIR"]), out,
                                              pdf_cache_dir=Path(config["PDF_CACHE_DIR"]))
    except backup.BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    rows = sum(manifest["row_counts"].values())
    click.echo(f"{path}: {manifest['database']['engine']} database ({rows} rows, revision "
               f"{manifest['alembic_revision']}), {len(manifest['files']) - 1} files, {path.stat().st_size} bytes")
    for warning in manifest["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    if manifest["warnings"]:
        sys.exit(2)  # written, but a cron job should notice that something was missing


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--verify-only", is_flag=True, help="Only check the archive against its manifest; restore nothing.")
@with_appcontext
def restore_command(archive: Path, verify_only: bool) -> None:
    """Restore ARCHIVE into this instance's database and UPLOAD_DIR, which must both be empty."""
    from portal.services import backup

    config = current_app.config
    try:
        if verify_only:
            manifest = backup.verify_archive(archive)
            click.echo(f"{archive}: {len(manifest['files'])} files match the manifest "
                       f"(created {manifest['created_at']}, revision {manifest['alembic_revision']})")
            return
        manifest, problems = backup.restore_backup(archive, config["DATABASE_URL"], Path(config["UPLOAD_DIR"]))
    except backup.BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for problem in problems:
        click.echo(f"integrity: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"restored {archive} (created {manifest['created_at']}, revision {manifest['alembic_revision']}): "
               f"{sum(manifest['row_counts'].values())} rows, {len(manifest['files']) - 1} files; integrity checks "
               "passed. Run `portal db upgrade` if this portal version is newer.")


@click.group("pdf-cache")
def pdf_cache_group() -> None:
    """The cache of generated PDFs (re-rendered on demand)."""


@pdf_cache_group.command("clean")
@click.option("--max-mb", type=click.IntRange(min=0), default=None, help="Cache size cap [PDF_CACHE_MAX_MB].")
@click.option("--max-days", type=click.IntRange(min=0), default=None, help="Age cap [PDF_CACHE_MAX_DAYS].")
@click.option("--dry-run", is_flag=True, help="Report what would be deleted.")
@with_appcontext
def pdf_cache_clean(max_mb: int | None, max_days: int | None, dry_run: bool) -> None:
    """Delete cached PDFs oldest first beyond the size or age cap; never a PDF a submission froze."""
    from portal.extensions import db
    from portal.services import pdf_jobs, pdfs

    config = current_app.config
    max_mb = int(config["PDF_CACHE_MAX_MB"]) if max_mb is None else max_mb
    max_days = int(config["PDF_CACHE_MAX_DAYS"]) if max_days is None else max_days
    with db.standalone() as session:
        result = pdfs.clean_cache(session, Path(config["PDF_CACHE_DIR"]), Path(config["UPLOAD_DIR"]) / "applications",
                                  max_bytes=max_mb * 1024 * 1024, max_age_days=max_days, dry_run=dry_run)
        jobs = 0 if dry_run else pdf_jobs.forget_finished(session)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {result.deleted} files ({result.freed_bytes / 1048576:.1f} MB); kept {result.kept} "
               f"({result.kept_bytes / 1048576:.1f} MB, {result.protected} frozen by submissions); "
               f"forgot {jobs} finished PDF jobs")
