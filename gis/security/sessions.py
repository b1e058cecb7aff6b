"""Server-side sessions: a random cookie value whose SHA-256 digest keys a row of `sessions`.

The row holds the user, the CSRF token of the session (a synchronizer token: the page sends it back in
the `X-CSRF-Token` header of every write), and the times that end it: `session_idle_s` after the last
request, `session_absolute_s` after login. Both limits are checked in SQL against the current settings,
so that changing them takes effect on live sessions. `last_seen_at` is written at most once a minute
(or once per tenth of the idle limit, if that is shorter), not on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import psycopg

from gis.security.keys import Principal
from gis.settings import get_settings


@dataclass(frozen=True)
class Session:
    id: str             # the digest (row key)
    csrf: str
    principal: Principal


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(conn: psycopg.Connection, user_id: int, remote: str | None = None,
                   user_agent: str | None = None) -> tuple[str, str]:
    """Starts a session; returns (cookie value, CSRF token). The cookie value is not stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO sessions (id, user_id, csrf, remote, user_agent) VALUES (%s, %s, %s, %s, %s)",
        (_digest(token), user_id, csrf, remote, (user_agent or "")[:300] or None),
    )
    return token, csrf


def lookup(conn: psycopg.Connection, token: str) -> Session | None:
    """The live session of a cookie value (and its user's principal), or None when unknown, ended, idle
    too long, too old, or its user is disabled."""
    s = get_settings()
    touch = min(60.0, s.session_idle_s / 10)
    row = conn.execute(
        "SELECT s.id, s.csrf, u.id, u.name, u.role, u.area, s.last_seen_at < now() - make_interval(secs => %(touch)s) "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.id = %(id)s AND s.ended_at IS NULL AND u.disabled_at IS NULL "
        "  AND s.last_seen_at > now() - make_interval(secs => %(idle)s) "
        "  AND s.created_at > now() - make_interval(secs => %(absolute)s)",
        {"id": _digest(token), "touch": touch, "idle": s.session_idle_s, "absolute": s.session_absolute_s},
    ).fetchone()
    if row is not None and row[6]:
        conn.execute("UPDATE sessions SET last_seen_at = now() WHERE id = %s", (row[0],))
    if row is None:
        return None
    sid, csrf, user_id, name, role, area, _ = row
    return Session(sid, csrf, Principal(None, name, role, area=area, user=name, via="session", user_id=user_id))


def end(conn: psycopg.Connection, session_id: str) -> None:
    conn.execute("UPDATE sessions SET ended_at = now() WHERE id = %s AND ended_at IS NULL", (session_id,))


def end_token(conn: psycopg.Connection, token: str) -> None:
    """Ends the session of a cookie value (a new login in the same browser replaces it)."""
    end(conn, _digest(token))


def purge(conn: psycopg.Connection) -> int:
    """Deletes sessions ended, idle or expired more than a day ago (the audit log keeps the logins)."""
    s = get_settings()
    cur = conn.execute(
        "DELETE FROM sessions WHERE coalesce(ended_at, least(last_seen_at + make_interval(secs => %s), "
        "created_at + make_interval(secs => %s))) < now() - interval '1 day'",
        (s.session_idle_s, s.session_absolute_s),
    )
    return cur.rowcount
