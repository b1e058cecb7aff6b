"""The `citygrid` command line: builds the root command from command modules and runs it.

Every command module, in the core and in the higher layers alike, exposes `register(app)` and imports
nothing from here. The core ones are listed below; the higher layers (the server, the geocoder, the
layer reports) declare theirs in the `citygrid.cli` entry-point group (pyproject.toml), so this module
imports none of them. Both lists are loaded by the same function, in this order: core, then entry points.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

import psycopg
import sqlalchemy.exc
import typer

from gis.errors import CityGridError

GROUP = "citygrid.cli"

#: The core's command modules, written as entry points of GROUP so that they load like the plugins'.
CORE_COMMANDS: tuple[EntryPoint, ...] = tuple(
    EntryPoint(name=name, value=f"{module}:register", group=GROUP)
    for name, module in (
        ("db", "gis.db.cli"),
        ("io", "gis.io.cli"),
        ("demo", "gis.demo.cli"),
        ("grids", "gis.grids.cli"),
        ("security", "gis.security.cli"),
        ("ops", "gis.ops.cli"),
        ("stream", "gis.stream.cli"),
        ("batch", "gis.batch.cli"),
    )
)


def command_modules() -> list[EntryPoint]:
    """The core's command modules, then those the installed higher layers declare."""
    return [*CORE_COMMANDS, *entry_points(group=GROUP)]


def register_all(app: typer.Typer, modules: Iterable[EntryPoint]) -> None:
    """Call each module's `register(app)`.

    A module that cannot be imported is reported and skipped: a broken layer must not take the others
    (db, import, backup) down with it.
    """
    for ep in modules:
        try:
            register = ep.load()
        except ImportError as exc:
            typer.echo(f"warning: command group {ep.name!r} unavailable: {exc}", err=True)
            continue
        register(app)


def create_app() -> typer.Typer:
    """A fresh root command with every command registered (tests drive it with typer's CliRunner)."""
    app = typer.Typer(help="CityGrid: grids, geocoding, OGC API and fences for city operations.",
                      no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    register_all(app, command_modules())
    return app


def main() -> None:
    """The console script: exit 2 on a CityGrid error or an unreachable database, else click's code."""
    app = create_app()
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) comes back as a return value here
            sys.exit(code)
    except CityGridError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        sys.exit(2)
    except (psycopg.OperationalError, sqlalchemy.exc.OperationalError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        typer.echo(f"error: the database is not reachable ({reason}); is it running? try: citygrid db start",
                   err=True)
        sys.exit(2)
    except typer.Abort:
        sys.exit(1)
    except SystemExit:
        raise
    except Exception as exc:
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        raise
