"""The `portal` console script (pyproject.toml): Flask's command line around create_app().

The app's own commands come with the app (portal/commands.py, registered by create_app). `portal bench`
is added here instead: it builds throwaway apps and databases of its own with create_app.
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from portal import create_app
from portal.bench import bench_group
from portal.bench_storm import bench_soak_command, bench_storm_command
from portal.i18n import i18n_group


def main() -> None:
    cli = FlaskGroup(create_app=create_app, add_default_commands=True, add_version_option=False)
    bench_group.add_command(bench_storm_command)
    bench_group.add_command(bench_soak_command)
    cli.add_command(bench_group)
    cli.add_command(i18n_group)
    cli(prog_name="portal")
