"""API keys: random secrets shown once, stored only as SHA-256 digests, each with one role.

Keys are 256-bit random tokens, so a plain SHA-256 digest is a sound verifier (no password stretching
needed: there is nothing to brute-force). Roles are ordered; `device` keys stand apart and may only
report positions for the vehicles they list.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

import psycopg

from gis.errors import InvalidInput, NotFound
from gis.security.scope import validate as validate_area

ROLES = ("viewer", "inspector", "planner", "admin")
ALL_ROLES = (*ROLES, "device")
KEY_PREFIX = "cg_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a key, a session, a bearer token (or anonymous for open reads).

    The shape shared by the identity and the area-scope work of issue 17: `area` limits what the caller
    sees and edits (a 6/9/12-digit region code or a work-grid code; None = everywhere); `user` names the
    person of a session or bearer token, `app` the application a key or a machine client belongs to
    (the key of the per-application call counts); `via` says how the caller proved who it is.
    """

    key_id: int | None
    name: str
    role: str
    vehicles: tuple[str, ...] = field(default=())
    area: str | None = None
    user: str | None = None
    app: str | None = None
    via: str = "key"            # "key", "session", "bearer" or "anonymous"
    user_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit log names the caller: `name#key_id` for keys (as before), `user:name` for people."""
        if self.via == "key":
            return f"{self.name}#{self.key_id}"
        if self.via == "bearer" and self.user is None:
            return f"app:{self.app}"
        return f"user:{self.user or self.name}"

    @property
    def bucket(self) -> str:
        """The token bucket the caller spends from: one per key, per user, or per bearer subject."""
        if self.key_id is not None:
            return str(self.key_id)
        return f"{self.via}:{self.user or self.app or self.name}"

    def has_role(self, needed: str) -> bool:
        if self.role == "device" or needed == "device":
            return self.role == needed
        return ROLES.index(self.role) >= ROLES.index(needed)


ANONYMOUS = Principal(None, "anonymous", "viewer", via="anonymous")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _check_role(role: str) -> None:
    if role not in ALL_ROLES:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ALL_ROLES)}")


def create_key(conn: psycopg.Connection, name: str, role: str, vehicles: list[str] | None = None,
               area: str | None = None, app: str | None = None) -> tuple[int, str]:
    """Creates a key and returns (id, secret). The secret is not stored and cannot be shown again.

    `area` limits the key to a region or work grid; an unknown area is refused (InvalidInput).
    `app` names the application using the key (its calls are counted under it); by default the key's name.
    """
    _check_role(role)
    if vehicles and role != "device":
        raise InvalidInput("only device keys are restricted to vehicles")
    if app is not None and not app.strip():
        raise InvalidInput("the application name of a key may not be empty")
    if area is not None:
        area = validate_area(conn, area)
    secret = _new_secret()
    row = conn.execute(
        "INSERT INTO api_keys (name, role, key_hash, prefix, vehicles, area, app) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "RETURNING id",
        (name, role, digest(secret), secret[:10], vehicles or [], area, app.strip() if app else None),
    ).fetchone()
    return row[0], secret


def list_keys(conn: psycopg.Connection) -> list[dict]:
    cur = conn.execute(
        "SELECT id, name, role, prefix, vehicles, area, coalesce(app, name) AS app, created_at, revoked_at "
        "FROM api_keys "
        "ORDER BY id"
    )
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def revoke_key(conn: psycopg.Connection, key_id: int) -> None:
    row = conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL RETURNING id", (key_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no active key with id {key_id}")


def rotate_key(conn: psycopg.Connection, key_id: int) -> tuple[int, str]:
    """Revokes a key and issues a new one with the same name, role, vehicles, area and application."""
    row = conn.execute(
        "SELECT name, role, vehicles, area, app FROM api_keys WHERE id = %s AND revoked_at IS NULL", (key_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no active key with id {key_id}")
    revoke_key(conn, key_id)
    return create_key(conn, row[0], row[1], list(row[2]) or None, row[3], row[4])


def authenticate(conn: psycopg.Connection, secret: str) -> Principal | None:
    """The principal of an active key, or None."""
    row = conn.execute(
        "SELECT id, name, role, vehicles, area, coalesce(app, name) FROM api_keys "
        "WHERE key_hash = %s AND revoked_at IS NULL",
        (digest(secret),),
    ).fetchone()
    if row is None:
        return None
    return Principal(row[0], row[1], row[2], tuple(row[3]), row[4], app=row[5])
