"""`portal` command line: database, demo data, policy checks, PDFs and benchmarks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from portal.backup_cli import register_backup_cli
from portal.sync.cli import sync_group
from portal.users_cli import users_group


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(measures_group)
    app.cli.add_command(seed_command)
    app.cli.add_command(pdf_command)
    app.cli.add_command(changes_group)
    app.cli.add_command(users_group)
    from portal.bench import bench_group

    app.cli.add_command(bench_group)
    app.cli.add_command(sync_group)
    register_backup_cli(app)  # backup, restore, pdf-cache


def main() -> None:
    from portal import create_app

    FlaskGroup(create_app=lambda: create_app(), add_default_commands=True, add_version_option=False)(
        prog_name="portal")


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
    from portal.policy.catalog import CatalogError, check_verbatim, load_catalog

    try:
        cat = load_catalog()
    except CatalogError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    problems = check_verbatim(cat)  # a missing source text is a problem too, never a skip
    for p in problems:
        click.echo(f"error: {p}", err=True)
    counts = ", ".join(f"{d}={len(cat.measures_of(d))}" for d in cat.documents)
    if problems:
        click.echo(f"{len(cat.measures)} measures, {len(problems)} problem(s): {counts}")
        sys.exit(1)
    click.echo(f"{len(cat.measures)} measures ok: {counts}")


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
    from portal.pdf.render import PdfError, render_application, render_report
    from portal.profile.validate import validate_profile
    from portal.templating import today

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
