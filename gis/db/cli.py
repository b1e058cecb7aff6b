"""`citygrid db start|stop|status|migrate`: the project-local cluster and the migrations."""

from __future__ import annotations

import typer

db_app = typer.Typer(help="The database: local cluster and migrations.", no_args_is_help=True)


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


@db_app.command("migrate")
def db_migrate(revision: str = typer.Argument("head")) -> None:
    """Bring the schema up to date (and load the category table)."""
    from gis.db import migrate
    from gis.db.seed import seed_reference_data

    migrate.upgrade(revision=revision)
    seed_reference_data()
    typer.echo(f"migrated to {migrate.current_revision()}")
