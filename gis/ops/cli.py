"""`citygrid backup` and `citygrid restore`: point-in-time (pgBackRest) without a FILE, pg_dump with one."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add `backup` and `restore` to the root command (called by gis.cli)."""
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)


def backup_cmd(
    file: Path | None = typer.Argument(None, help="write a pg_dump of the database to FILE instead"),
    kind: str = typer.Option("incr", "--type", help="full, diff or incr (the first backup is always full)"),
    verify: bool = typer.Option(False, "--verify", help="check every backup and archived WAL file, back up nothing"),
    info: bool = typer.Option(False, "--info", help="list the backups and the recoverable time range"),
) -> None:
    """Back up the local cluster with pgBackRest (WAL archiving on, retention applied), or with FILE
    a pg_dump of the configured database (custom format)."""
    if file is not None:
        from gis.ops.backup import backup

        typer.echo(f"backup written to {backup(file)}")
        return
    from gis.ops.pitr import local_pitr

    pitr = local_pitr()
    if verify:
        typer.echo(pitr.verify())
        return
    if info:
        typer.echo(describe(pitr.info()))
        return
    done = pitr.backup(kind)
    typer.echo(f"{done['type']} backup {done['label']}: {done['info']['size'] / 1e6:.1f} MB of data, "
               f"{done['info']['repository']['delta'] / 1e6:.1f} MB stored, "
               f"{done['timestamp']['stop'] - done['timestamp']['start']} s")
    typer.echo(describe(pitr.info()))


def describe(stanza: dict) -> str:
    """One line per backup and the time range a restore can reach."""
    from datetime import UTC, datetime

    def at(t: int) -> str:
        return datetime.fromtimestamp(t, UTC).astimezone().isoformat(timespec="seconds")

    lines = [f"{b['label']}  {b['type']:<4}  {at(b['timestamp']['stop'])}" for b in stanza.get("backup", [])]
    backups = stanza.get("backup", [])
    if backups:
        lines.append(f"recoverable from {at(backups[0]['timestamp']['stop'])} to the newest archived WAL")
    return "\n".join(lines) or "no backups yet"


def restore_cmd(
    file: Path | None = typer.Argument(None, help="restore this pg_dump file into the configured database"),
    to: str | None = typer.Option(None, "--to", help='a time with zone, e.g. "2026-12-01 10:15:00+08"; '
                                                     "default: the latest archived state"),
    yes: bool = typer.Option(False, "--yes", help="replace the current data"),
) -> None:
    """Restore the local cluster to a point in time (pgBackRest), or with FILE a pg_dump backup into the
    configured database (in one transaction). Both replace the current data."""
    if file is not None and to is not None:
        raise typer.BadParameter("give either a FILE (pg_dump) or --to (point in time), not both")
    if not yes:
        typer.confirm("This replaces the data in the configured database. Go on?", abort=True)
    if file is not None:
        from gis.ops.backup import restore

        restore(file)
        typer.echo(f"restored {file}")
        return
    from gis.ops.pitr import local_pitr

    seconds = local_pitr().restore(to)
    typer.echo(f"restored the cluster to {to or 'the latest archived state'} in {seconds:.1f} s")
