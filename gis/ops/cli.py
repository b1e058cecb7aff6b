"""`citygrid backup FILE` and `citygrid restore FILE`."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add `backup` and `restore` to the root command (called by gis.cli)."""
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)


def backup_cmd(file: Path) -> None:
    """Write a backup (pg_dump custom format) of the whole database."""
    from gis.ops.backup import backup

    typer.echo(f"backup written to {backup(file)}")


def restore_cmd(file: Path, yes: bool = typer.Option(False, "--yes", help="replace the current data")) -> None:
    """Restore a backup into the configured database, replacing what is there (in one transaction)."""
    from gis.ops.backup import restore

    if not yes:
        typer.confirm("This replaces the data in the configured database. Go on?", abort=True)
    restore(file)
    typer.echo(f"restored {file}")
