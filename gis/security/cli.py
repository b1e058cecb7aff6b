"""`citygrid keys …` and `citygrid audit …`."""

from __future__ import annotations

import typer

from gis.db.engine import connect

keys_app = typer.Typer(help="API keys with roles (viewer, inspector, planner, admin, device).",
                       no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `keys` and `audit` to the root command (called by gis.cli)."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")


@keys_app.command("create")
def keys_create(
    name: str,
    role: str = typer.Option(..., help="viewer, inspector, planner, admin or device"),
    vehicles: str = typer.Option("", help="device keys: comma-separated vehicle ids it may report for"),
    area: str | None = typer.Option(None, help="limit the key to an area: a 6/9/12-digit region code "
                                               "(district/street/community) or a work-grid code"),
) -> None:
    """Create a key; its secret is printed once and never stored."""
    from gis.security import audit, keys

    with connect(autocommit=True) as conn:  # an unknown area: InvalidInput, printed by gis.cli (exit 2)
        key_id, secret = keys.create_key(conn, name, role, [v for v in vehicles.split(",") if v] or None, area)
        audit.record(conn, audit.cli_actor(), "keys.create", "api_keys", [str(key_id)],
                     detail={"role": role, "name": name, **({"area": area} if area else {})})
    typer.echo(f"id {key_id} role {role}" + (f" area {area}" if area else "") + f"\n{secret}")


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from gis.security import keys

    with connect() as conn:
        for k in keys.list_keys(conn):
            state = f"revoked {k['revoked_at']:%Y-%m-%d %H:%M}" if k["revoked_at"] else "active"
            extra = f" vehicles={','.join(k['vehicles'])}" if k["vehicles"] else ""
            extra += f" area={k['area']}" if k["area"] else ""
            typer.echo(f"{k['id']:>4}  {k['prefix']}…  {k['role']:<9}  {state:<24} {k['name']}{extra}")


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key at once."""
    from gis.security import audit, keys

    with connect(autocommit=True) as conn:
        keys.revoke_key(conn, key_id)
        audit.record(conn, audit.cli_actor(), "keys.revoke", "api_keys", [str(key_id)])
    typer.echo(f"revoked {key_id}")


@keys_app.command("rotate")
def keys_rotate(key_id: int) -> None:
    """Revoke a key and issue a new one with the same name and role."""
    from gis.security import audit, keys

    with connect(autocommit=True) as conn:
        new_id, secret = keys.rotate_key(conn, key_id)
        audit.record(conn, audit.cli_actor(), "keys.rotate", "api_keys", [str(key_id), str(new_id)])
    typer.echo(f"id {new_id} replaces {key_id}\n{secret}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 1 and name the rows when it has been tampered with."""
    from gis.security import audit

    with connect() as conn:
        result = audit.verify(conn)
    for problem in result.problems:
        typer.echo(problem)
    typer.echo(f"{result.checked} entries checked: {'intact' if result.ok else 'TAMPERED'}")
    if not result.ok:
        raise typer.Exit(1)
