"""`citygrid db start|stop|status|migrate|standby|promote|maintain`: the project-local cluster, its hot standby,
the migrations and time-partition maintenance."""

from __future__ import annotations

import typer

db_app = typer.Typer(help="The database: local cluster, hot standby and migrations.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `db` to the root command (called by gis.cli, like every command module)."""
    app.add_typer(db_app, name="db")


@db_app.command("start")
def db_start() -> None:
    """Start the project-local PostgreSQL cluster (creating it on first use)."""
    from gis.db.cluster import local_cluster
    from gis.settings import get_settings

    if get_settings().database_url:
        typer.echo("DATABASE_URL is set: nothing to start.")
        return
    cluster = local_cluster()
    cluster.start()
    typer.echo(cluster.status())


@db_app.command("stop")
def db_stop() -> None:
    """Stop the project-local cluster."""
    from gis.db.cluster import local_cluster

    local_cluster().stop()
    typer.echo("stopped")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database is up and its migrations current."""
    from gis.db import migrate
    from gis.db.cluster import local_cluster
    from gis.settings import get_settings

    if not get_settings().database_url:
        typer.echo(local_cluster().status())
    try:
        rev = migrate.current_revision()
    except Exception as exc:
        typer.echo(f"database unreachable: {exc}")
        raise typer.Exit(1) from None
    head = migrate.head_revision()
    typer.echo(f"migration {rev or 'none'} (head {head}){'' if rev == head else ' — run citygrid db migrate'}")


@db_app.command("standby")
def db_standby(
    drop: bool = typer.Option(False, "--drop", help="stop and remove the standby; the primary stops waiting for it"),
    asynchronous: bool = typer.Option(False, "--async", help="do not make commits wait for the standby"),
) -> None:
    """Create and start a hot standby of the local cluster (streaming replication; another port and folder)."""
    from gis.db.cluster import local_cluster
    from gis.db.replication import create_standby, drop_standby, local_failover_url, standby_cluster
    from gis.settings import get_settings

    primary, standby = local_cluster(), standby_cluster()
    if drop:
        drop_standby(primary, standby)
        typer.echo(f"standby removed from {standby.link}")
        return
    create_standby(primary, standby, sync=get_settings().pg_standby_sync and not asynchronous)
    typer.echo(standby.status())
    typer.echo(f"the application now connects with: {local_failover_url()}")


@db_app.command("promote")
def db_promote() -> None:
    """Promote the local standby to primary (fail over); the old primary is stopped and fenced."""
    from gis.db.cluster import local_cluster
    from gis.db.replication import promote, standby_cluster

    standby = standby_cluster()
    promote(standby, local_cluster())
    typer.echo(f"promoted: {standby.status()} is the primary now")


@db_app.command("migrate")
def db_migrate(revision: str = typer.Argument("head")) -> None:
    """Bring the schema up to date (and load the category table)."""
    from gis.db import migrate
    from gis.db.seed import seed_reference_data

    migrate.upgrade(revision=revision)
    seed_reference_data()
    typer.echo(f"migrated to {migrate.current_revision()}")


@db_app.command("maintain")
def db_maintain() -> None:
    """Time partitions: move rows waiting in default partitions into their months, premake future
    months, drop months older than CITYGRID_RETENTION_*_MONTHS (audited). Run it daily (cron/timer)."""
    from gis.db.engine import connect
    from gis.db.partitions import maintain
    from gis.security.audit import cli_actor
    from gis.settings import get_settings

    with connect(autocommit=True) as conn:
        reports = maintain(conn, get_settings(), cli_actor())
    for r in reports:
        keep = f"keep {r.retention_months} months" if r.retention_months else "keep all"
        typer.echo(f"{r.table}: {keep}; moved {r.moved} rows out of the default partition; "
                   f"created {', '.join(r.created) or 'none'}; dropped {', '.join(r.dropped) or 'none'}")
