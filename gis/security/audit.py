"""The audit log: append-only (a trigger refuses UPDATE/DELETE/TRUNCATE) and hash-chained.

Each row's `hash` is an HMAC-SHA256, keyed by a secret kept outside the database, over the row's content
and the previous row's hash. `verify` recomputes the chain and names the first row that does not fit:
a changed row breaks its own hash, a deleted row breaks its successor's link, an inserted row cannot be
given a valid hash without the key. Appends are serialised with a transaction-scoped advisory lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg

from gis.settings import get_settings

GENESIS = "0" * 64
_LOCK = 0x41554449  # "AUDI"


@lru_cache
def _key() -> bytes:
    settings = get_settings()
    if settings.audit_key:
        return settings.audit_key.encode()
    path = Path(settings.var_dir) / "secrets" / "audit.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def cli_actor() -> str:
    """Who runs a command-line write: the OS user (there is no API key on the command line)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def _canonical(row: dict[str, Any]) -> bytes:
    body = {
        "id": row["id"],
        "at": row["at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": row["actor"],
        "action": row["action"],
        "target": row["target"],
        "ids": list(row["ids"]),
        "remote": row["remote"],
        "detail": row["detail"],
        "prev_hash": row["prev_hash"],
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _sign(row: dict[str, Any]) -> str:
    return hmac.new(_key(), _canonical(row), hashlib.sha256).hexdigest()


def record(
    conn: psycopg.Connection,
    actor: str,
    action: str,
    target: str,
    ids: list[str] | None = None,
    remote: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Appends one entry; runs in its own transaction block on `conn`."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        last = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        row = {
            "id": conn.execute("SELECT nextval('audit_log_id_seq')").fetchone()[0],
            "at": datetime.now(UTC),
            "actor": actor,
            "action": action,
            "target": target,
            "ids": [str(i) for i in (ids or [])],
            "remote": remote,
            "detail": json.loads(json.dumps(detail or {}, default=str)),
            "prev_hash": last[0] if last else GENESIS,
        }
        row["hash"] = _sign(row)
        conn.execute(
            "INSERT INTO audit_log (id, at, actor, action, target, ids, remote, detail, prev_hash, hash) "
            "VALUES (%(id)s, %(at)s, %(actor)s, %(action)s, %(target)s, %(ids)s, %(remote)s, %(detail)s, "
            "%(prev_hash)s, %(hash)s)",
            {**row, "detail": psycopg.types.json.Jsonb(row["detail"])},
        )
    return row["id"]


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]


def verify(conn: psycopg.Connection) -> VerifyResult:
    """Recomputes the chain; lists every row whose hash or link does not fit."""
    problems: list[str] = []
    prev = GENESIS
    checked = 0
    prev_id: int | None = None
    with conn.cursor(name="audit_verify") if not conn.autocommit else conn.cursor() as cur:
        cur.execute(
            "SELECT id, at, actor, action, target, ids, remote, detail, prev_hash, hash FROM audit_log ORDER BY id"
        )
        cols = [c.name for c in cur.description]
        for values in cur:
            row = dict(zip(cols, values, strict=True))
            checked += 1
            if row["prev_hash"] != prev:
                where = f"after row {prev_id}" if prev_id is not None else "at the start"
                problems.append(f"row {row['id']}: chain broken {where} (a row was deleted or inserted)")
            if not hmac.compare_digest(_sign(row), row["hash"]):
                problems.append(f"row {row['id']}: content does not match its hash (changed or forged)")
            prev, prev_id = row["hash"], row["id"]
    return VerifyResult(not problems, checked, problems)
