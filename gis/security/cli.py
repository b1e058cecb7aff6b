"""`citygrid keys …` and `citygrid audit …`."""

from __future__ import annotations

import typer

from gis.db.engine import connect

keys_app = typer.Typer(help="API keys with roles (viewer, inspector, planner, admin, device).",
                       no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
users_app = typer.Typer(help="Local accounts of people (log in on the web map; passwords hashed with argon2id).",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `keys`, `users` and `audit` to the root command (called by gis.cli)."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")


def _read_password() -> str:
    """The password from standard input: one line when piped (`echo … | citygrid users create`), asked
    twice without echo on a terminal."""
    import getpass
    import sys

    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise typer.BadParameter("the two passwords differ")
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


@keys_app.command("create")
def keys_create(
    name: str,
    role: str = typer.Option(..., help="viewer, inspector, planner, admin or device"),
    vehicles: str = typer.Option("", help="device keys: comma-separated vehicle ids it may report for"),
    area: str | None = typer.Option(None, help="limit the key to an area: a 6/9/12-digit region code "
                                               "(district/street/community) or a work-grid code"),
    app: str | None = typer.Option(None, "--app", help="the application using the key (its calls are counted "
                                   "under this name; default: the key's name)"),
) -> None:
    """Create a key; its secret is printed once and never stored."""
    from gis.security import audit, keys

    with connect(autocommit=True) as conn:  # an unknown area: InvalidInput, printed by gis.cli (exit 2)
        key_id, secret = keys.create_key(conn, name, role, [v for v in vehicles.split(",") if v] or None, area,
                                         app)
        audit.record(conn, audit.cli_actor(), "keys.create", "api_keys", [str(key_id)],
                     detail={"role": role, "name": name, "app": app or name, **({"area": area} if area else {})})
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
            extra += f" app={k['app']}" if k["app"] != k["name"] else ""
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


@keys_app.command("usage")
def keys_usage(days: int = typer.Option(7, help="the last N days (today included)")) -> None:
    """Calls per application, route and day (数据交换 监控), from the daily table."""
    from datetime import date, timedelta

    from gis.security import usage

    with connect() as conn:
        rows = usage.daily(conn, date.today() - timedelta(days=days - 1))
    for r in rows:
        typer.echo(f"{r['day']}  {r['count']:>9}  {r['app']:<24} {r['route']}")
    if not rows:
        typer.echo("no calls of applications recorded")


@users_app.command("create")
def users_create(
    name: str,
    role: str = typer.Option(..., help="viewer, inspector, planner or admin"),
    area: str | None = typer.Option(None, help="limit the user to an area: a 6/9/12-digit region code or a "
                                    "work-grid code"),
) -> None:
    """Create a local account; the password is read from standard input (see the password rules in README)."""
    from gis.security import audit, users

    password = _read_password()
    with connect(autocommit=True) as conn:
        user_id = users.create_user(conn, name, role, password, area)
        audit.record(conn, audit.cli_actor(), "users.create", "users", [name],
                     detail={"role": role, "area": area, "id": user_id})
    typer.echo(f"user {name} (id {user_id}) role {role}" + (f" area {area}" if area else ""))


@users_app.command("list")
def users_list() -> None:
    """List accounts with their role, area and state (never their password hashes)."""
    from datetime import UTC, datetime

    from gis.security import users

    with connect() as conn:
        rows = users.list_users(conn)
    now = datetime.now(UTC)
    for u in rows:
        if u["disabled_at"]:
            state = f"disabled {u['disabled_at']:%Y-%m-%d %H:%M}"
        elif u["locked_until"] and u["locked_until"] > now:
            state = f"locked until {u['locked_until']:%H:%M:%S}"
        else:
            state = "active"
        last = f"{u['last_login_at']:%Y-%m-%d %H:%M}" if u["last_login_at"] else "never"
        typer.echo(f"{u['id']:>4}  {u['name']:<20} {u['role']:<9} {u['area'] or '-':<12} {u['source']:<5} "
                   f"{state:<26} last login {last}")


@users_app.command("disable")
def users_disable(name: str) -> None:
    """Disable an account at once: it can no longer log in and its sessions end."""
    from gis.security import audit, users

    with connect(autocommit=True) as conn:
        users.disable_user(conn, name)
        audit.record(conn, audit.cli_actor(), "users.disable", "users", [name])
    typer.echo(f"disabled {name}")


@users_app.command("reset-password")
def users_reset_password(name: str) -> None:
    """Set a new password (read from standard input); lifts a lock-out and ends the account's sessions."""
    from gis.security import audit, users

    password = _read_password()
    with connect(autocommit=True) as conn:
        users.reset_password(conn, name, password)
        audit.record(conn, audit.cli_actor(), "users.reset-password", "users", [name])
    typer.echo(f"password of {name} reset")


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
