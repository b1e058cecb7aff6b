"""People: local accounts with argon2id password hashes, password rules, and lock-out after failures.

Passwords, unlike API keys, are chosen by people and can be guessed, so they are stretched with argon2id
(argon2-cffi; cost in settings). A login that fails `login_max_failures` times in a row locks the account
for `login_lockout_s`; the lock is kept in the database so that every worker process sees it. Accounts
made by single sign-on (`source = 'oidc'`) have no password and cannot log in locally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.security.keys import ROLES
from gis.security.scope import validate as validate_area
from gis.settings import get_settings

#: A user name: letters (any script), digits and . _ - @, 2–64 characters.
NAME = re.compile(r"^[\w.@-]{2,64}$")
#: A work-grid code ("310113003001G1", "R001"): letters, digits, _ and -, optionally after its kind
#: ("responsibility:R001", as `keys create --area` accepts); all-digit codes are region codes.
WORK_GRID = re.compile(r"^([a-z_]{1,40}:)?[0-9A-Za-z_-]{1,32}$")


def check_area_code(area: str) -> None:
    """Format only (whether the area exists is the area scope's business): a region code of 6 (district),
    9 (street) or 12 (community) digits, or a work-grid code with at least one letter."""
    if area.isdigit():
        if len(area) not in (6, 9, 12):
            raise InvalidInput(f"invalid area {area!r}: a region code has 6, 9 or 12 digits")
    elif not WORK_GRID.match(area):
        raise InvalidInput(f"invalid area {area!r}: a region code (6, 9 or 12 digits) or a work-grid code")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    area: str | None
    source: str


@lru_cache
def hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib,
                          parallelism=s.argon2_parallelism)


#: A hash to verify against when the user does not exist, so that a login for an unknown name costs the
#: same time as one for a known name (no user enumeration by timing).
@lru_cache
def _dummy_hash() -> str:
    return hasher().hash("citygrid-no-such-user")


def check_password_rules(name: str, password: str) -> None:
    """Refuses a weak password with a sentence naming the rule it breaks (rules in docs/decisions.md)."""
    s = get_settings()
    if len(password) < s.password_min_length:
        raise InvalidInput(f"the password must have at least {s.password_min_length} characters")
    if len(password) > 256:
        raise InvalidInput("the password may have at most 256 characters")
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if classes < s.password_min_classes:
        raise InvalidInput(f"the password must mix at least {s.password_min_classes} of: lower case, upper case, "
                           "digits, other characters")
    if name.lower() in password.lower():
        raise InvalidInput("the password may not contain the user name")


def _check(name: str, role: str, area: str | None) -> None:
    if not NAME.match(name):
        raise InvalidInput(f"invalid user name {name!r}: 2–64 letters, digits or . _ - @")
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r} for a user: use one of {', '.join(ROLES)}")
    if area is not None:
        check_area_code(area)


def create_user(conn: psycopg.Connection, name: str, role: str, password: str, area: str | None = None) -> int:
    """Creates a local account; the password must pass the rules, and an area must exist (checked by
    the same function as `keys create --area`: an unknown region code or grid stores nothing)."""
    _check(name, role, area)
    check_password_rules(name, password)
    if area is not None:
        area = validate_area(conn, area)
    row = conn.execute(
        "INSERT INTO users (name, role, area, source, password_hash, password_changed_at) "
        "VALUES (%s, %s, %s, 'local', %s, now()) ON CONFLICT (name) DO NOTHING RETURNING id",
        (name, role, area, hasher().hash(password)),
    ).fetchone()
    if row is None:
        raise Conflict(f"a user named {name!r} already exists")
    return row[0]


def list_users(conn: psycopg.Connection) -> list[dict]:
    cur = conn.execute(
        "SELECT id, name, role, area, source, created_at, last_login_at, disabled_at, locked_until, failed_count "
        "FROM users ORDER BY id"
    )
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _user_id(conn: psycopg.Connection, name: str) -> int:
    row = conn.execute("SELECT id FROM users WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise NotFound(f"no user named {name!r}")
    return row[0]


def disable_user(conn: psycopg.Connection, name: str) -> int:
    """Disables the account and ends its sessions at once."""
    user_id = _user_id(conn, name)
    with conn.transaction():
        conn.execute("UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = %s", (user_id,))
        conn.execute("UPDATE sessions SET ended_at = now() WHERE user_id = %s AND ended_at IS NULL", (user_id,))
    return user_id


def reset_password(conn: psycopg.Connection, name: str, password: str) -> int:
    """Sets a new password, lifts a lock-out, and ends the account's sessions (they used the old one)."""
    user_id = _user_id(conn, name)
    check_password_rules(name, password)
    with conn.transaction():
        row = conn.execute(
            "UPDATE users SET password_hash = %s, password_changed_at = now(), failed_count = 0, locked_until = NULL "
            "WHERE id = %s AND source = 'local' RETURNING id", (hasher().hash(password), user_id),
        ).fetchone()
        if row is None:
            raise InvalidInput(f"user {name!r} signs in through single sign-on and has no local password")
        conn.execute("UPDATE sessions SET ended_at = now() WHERE user_id = %s AND ended_at IS NULL", (user_id,))
    return user_id


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a password check: `user` on success; otherwise `reason` ("unknown", "password",
    "locked", "disabled") and `locked_now` when this failure locked the account."""

    user: User | None
    reason: str | None = None
    locked_now: bool = False
    locked_until: datetime | None = None


def verify_login(conn: psycopg.Connection, name: str, password: str) -> LoginResult:
    """Checks a password and keeps the per-account failure count (in one transaction, row locked)."""
    s = get_settings()
    with conn.transaction():
        row = conn.execute(
            "SELECT id, name, role, area, source, password_hash, disabled_at, locked_until > now(), locked_until "
            "FROM users WHERE name = %s FOR UPDATE", (name,),
        ).fetchone()
        if row is None or row[5] is None:
            _verify(_dummy_hash(), password)
            return LoginResult(None, "unknown")
        user_id, _, role, area, source, stored, disabled, locked, until = row
        if disabled is not None:
            return LoginResult(None, "disabled")
        if locked:
            return LoginResult(None, "locked", locked_until=until)
        if _verify(stored, password):
            if hasher().check_needs_rehash(stored):
                conn.execute("UPDATE users SET password_hash = %s WHERE id = %s", (hasher().hash(password), user_id))
            conn.execute("UPDATE users SET failed_count = 0, locked_until = NULL, last_login_at = now() "
                         "WHERE id = %s", (user_id,))
            return LoginResult(User(user_id, row[1], role, area, source))
        failed = conn.execute(
            "UPDATE users SET failed_count = failed_count + 1 WHERE id = %s RETURNING failed_count", (user_id,)
        ).fetchone()[0]
        if failed >= s.login_max_failures:
            until = conn.execute(
                "UPDATE users SET locked_until = now() + make_interval(secs => %s), failed_count = 0 WHERE id = %s "
                "RETURNING locked_until", (s.login_lockout_s, user_id),
            ).fetchone()[0]
            return LoginResult(None, "password", locked_now=True, locked_until=until)
        return LoginResult(None, "password")


def _verify(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def upsert_sso_user(conn: psycopg.Connection, name: str, role: str, area: str | None) -> User:
    """The account of a person signed in through single sign-on: created on first login, role and area
    refreshed from the claims on every login. A local account of the same name is not taken over."""
    _check(name, role, area)
    row = conn.execute(
        "INSERT INTO users (name, role, area, source, last_login_at) VALUES (%s, %s, %s, 'oidc', now()) "
        "ON CONFLICT (name) DO UPDATE SET role = excluded.role, area = excluded.area, last_login_at = now() "
        "WHERE users.source = 'oidc' RETURNING id, disabled_at",
        (name, role, area),
    ).fetchone()
    if row is None:
        raise Conflict(f"a local account named {name!r} exists; single sign-on cannot use it")
    if row[1] is not None:
        raise Forbidden(f"the account {name!r} is disabled")
    return User(row[0], name, role, area, "oidc")
