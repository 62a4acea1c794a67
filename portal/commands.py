"""The app's commands (create_app registers them): database, demo data, policy checks, PDFs, daily jobs,
accounts, backups and the desktop sync client. The `portal` console script is portal/cli.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal.backup_cli import backup_command, pdf_cache_group, restore_command
from portal.sync.cli import sync_group
from portal.users_cli import users_group


def register_commands(app: Flask) -> None:
    for command in (db_group, measures_group, seed_command, pdf_command, changes_group, rematch_command,
                    reminders_group, users_group, sync_group, backup_command, restore_command, pdf_cache_group,
                    worker_command):
        app.cli.add_command(command)


@click.group("db")
def db_group() -> None:
    """Database migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default head)."""
    from portal import migrate

    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision", default="base")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default base)."""
    from portal import migrate

    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@click.group("measures")
def measures_group() -> None:
    """The policy knowledge base."""


@measures_group.command("check")
def measures_check() -> None:
    """Validate every data file against the schema and the source texts bundled in portal/policy/sources."""
    from portal.policy.catalog import load_catalog, missing_translations
    from portal.policy.records import CatalogError
    from portal.policy.sources import check_verbatim

    try:
        cat = load_catalog()
    except CatalogError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    problems = check_verbatim(cat)  # a missing source text is a problem too, never a skip
    problems += missing_translations(cat)  # unofficial ko/en wording beside the Chinese
    for p in problems:
        click.echo(f"error: {p}", err=True)
    counts = ", ".join(f"{d}={len(cat.measures_of(d))}" for d in cat.documents)
    if problems:
        click.echo(f"{len(cat.measures)} measures, {len(problems)} problem(s): {counts}")
        sys.exit(1)
    click.echo(f"{len(cat.measures)} measures ok: {counts}")


@click.command("worker")
@click.option("--renderers", type=click.IntRange(1, 64), default=None,
              help="PDF renderer processes on this host [default: half the cores, at least 1].")
@with_appcontext
def worker_command(renderers: int | None) -> None:
    """Run the task queue's worker: PDF renders and e-mail (Ctrl-C stops it after the jobs in hand)."""
    from portal import tasks
    from portal.services import notifications, pdf_jobs  # noqa: F401 - the consumer must know their tasks

    try:
        tasks.run_worker(current_app._get_current_object(), renderers or tasks.default_renderers())  # type: ignore[attr-defined]
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("seed")
@click.option("--demo/--no-demo", default=True, help="Also create demo accounts and a demo enterprise.")
@with_appcontext
def seed_command(demo: bool) -> None:
    """Load demo accounts (idempotent)."""
    from portal.demo import seed_demo

    if demo:
        for line in seed_demo():
            click.echo(line)


@click.command("pdf")
@click.option("--profile", "profile_path", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--measure", "measure_id", default=None, help="Measure id for an application form.")
@click.option("--report", is_flag=True, help="Render the match report instead.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def pdf_command(profile_path: str, measure_id: str | None, report: bool, output: str) -> None:
    """Render an application form or match report from a profile JSON file."""
    from portal.clock import today
    from portal.pdf import PdfError, render_application, render_report
    from portal.profile.validate import validate_profile

    profile, problems = validate_profile(json.loads(Path(profile_path).read_text(encoding="utf-8")), today())
    if problems:
        for p in problems:
            click.echo(f"error: {p['field']}: {p['message']}", err=True)
        sys.exit(2)
    if bool(measure_id) == report:
        click.echo("error: give exactly one of --measure ID or --report", err=True)
        sys.exit(2)
    try:
        pdf = render_report(profile, today()) if report else render_application(profile, measure_id, today())
    except (PdfError, KeyError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    Path(output).write_bytes(pdf.data)
    click.echo(f"{output}: {len(pdf.data)} bytes, sha256 {pdf.sha256}, code {pdf.short_code}")


@click.group("changes")
def changes_group() -> None:
    """The change feed that devices and `portal sync` read."""


@changes_group.command("prune")
@click.option("--days", default=90, show_default=True, type=click.IntRange(min=90),
              help="Keep superseded rows and tombstones this long (at least 90 days).")
@with_appcontext
def changes_prune(days: int) -> None:
    """Compact the feed and drop old tombstones and idempotency records (run daily, e.g. from cron)."""
    from portal.extensions import db
    from portal.services import changes, idempotency

    with db.standalone() as session:
        dropped = changes.prune(session, days=days)
        replays = idempotency.prune(session)
        click.echo(f"feed: {dropped} rows dropped, cursors below {changes.pruned_through(session)} must resync; "
                   f"idempotency records dropped: {replays}")


@click.command("rematch")
@click.option("--dry-run", is_flag=True, help="Report what would change; record and notify nothing.")
@click.option("--batch", default=2000, show_default=True, type=click.IntRange(min=1), help="Profiles per commit.")
@with_appcontext
def rematch_command(dry_run: bool, batch: int) -> None:
    """Record measure versions, re-match every stored profile and notify those whose results changed (daily)."""
    from sqlmodel import Session

    from portal.clock import today
    from portal.extensions import db
    from portal.services.rematch import AlreadyRunning, run_rematch, single_run

    if dry_run:
        # Reads only: a plain session does not take SQLite's write lock for the whole run.
        with Session(db.engine, expire_on_commit=False) as session:
            report = run_rematch(session, today(), batch=batch, dry_run=True)
    else:
        with db.standalone() as session:
            try:
                with single_run(session, Path(current_app.instance_path)):
                    report = run_rematch(session, today(), batch=batch)
            except AlreadyRunning as exc:
                raise click.ClickException(str(exc)) from exc
    run = report.run
    verb = "would be" if dry_run else "were"
    changed = run.measures_changed.replace(",", ", ") or "none"
    click.echo(f"{'dry run: ' if dry_run else ''}{len(report.versions)} measure version(s) {verb} recorded; "
               f"measures changed: {changed}")
    click.echo(f"{run.profiles} profiles re-matched in {report.seconds:.1f} s ({report.per_second:,.0f} profiles/s); "
               f"{report.baselines} new baseline(s), {report.enterprises_changed} enterprise(s) with "
               f"{run.changes} change(s); {report.notified_users} user(s) notified")


@click.group("reminders")
def reminders_group() -> None:
    """Validity reminders (30 and 7 days before a measure ends)."""


@reminders_group.command("send")
@with_appcontext
def reminders_send() -> None:
    """Send the validity reminders due today, each once (daily, from cron; PORTAL_TODAY fixes the date)."""
    from portal.clock import today
    from portal.extensions import db
    from portal.services.calendar import send_validity_reminders

    with db.standalone() as session:
        summary = send_validity_reminders(session, today())
    if not summary.measures:
        click.echo(f"{summary.today}: no measure ends within 30 days; nothing to send")
        return
    click.echo(f"{summary.today}: {len(summary.measures)} measure(s) ending soon, {summary.enterprises} "
               f"enterprise(s) checked; sent {summary.sent[30]} 30-day and {summary.sent[7]} 7-day reminder(s) "
               f"to {summary.notified_users} user(s); {summary.already_sent} already sent earlier")
