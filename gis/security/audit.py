"""The audit log: append-only (a trigger refuses UPDATE/DELETE/TRUNCATE) and hash-chained.

Each row's `hash` is an HMAC-SHA256, keyed by a secret kept outside the database, over the row's content
and the previous row's hash. `verify` recomputes the chain and names the first row that does not fit:
a changed row breaks its own hash, a deleted row breaks its successor's link, an inserted row cannot be
given a valid hash without the key. Appends are serialised with a transaction-scoped advisory lock; the
server batches its entries through one `Writer` (group commit).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import secrets
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Entry:
    """One audit entry before it is chained; `at` is when the audited thing happened."""

    actor: str
    action: str
    target: str
    ids: tuple[str, ...] = ()
    remote: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


_INSERT = ("INSERT INTO audit_log (id, at, actor, action, target, ids, remote, detail, prev_hash, hash) "
           "VALUES (%(id)s, %(at)s, %(actor)s, %(action)s, %(target)s, %(ids)s, %(remote)s, %(detail)s, "
           "%(prev_hash)s, %(hash)s)")


def append(conn: psycopg.Connection, entries: Sequence[Entry]) -> list[int]:
    """Appends `entries` in order, chained, in one transaction block on `conn` (one lock, one commit:
    a batch costs about what one entry does). Returns their ids."""
    if not entries:
        return []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        last = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        ids = sorted(r[0] for r in conn.execute(
            "SELECT nextval('audit_log_id_seq') FROM generate_series(1, %s)", (len(entries),)))
        prev = last[0] if last else GENESIS
        rows = []
        for entry_id, e in zip(ids, entries, strict=True):
            row = {
                "id": entry_id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
                "ids": [str(i) for i in e.ids], "remote": e.remote,
                "detail": json.loads(json.dumps(e.detail, default=str)), "prev_hash": prev,
            }
            row["hash"] = prev = _sign(row)
            rows.append({**row, "detail": psycopg.types.json.Jsonb(row["detail"])})
        with conn.cursor() as cur:
            cur.executemany(_INSERT, rows)
    return ids


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
    return append(conn, [Entry(actor, action, target, tuple(str(i) for i in ids or ()), remote, detail or {})])[0]


class Writer:
    """Group commit for a server's audit entries. Requests hand their entry to `submit` and wait for
    its future: a background thread appends everything that queued meanwhile in one transaction, so
    the entry is stored before the client hears of success, while N concurrent writes cost one
    advisory lock and one commit instead of N serialised ones (the chain forbids parallel appends)."""

    def __init__(self, connect: Callable[[], AbstractContextManager[psycopg.Connection]],
                 max_batch: int = 1000) -> None:
        self._connect = connect
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Entry, Future[int]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="audit-writer", daemon=True)
        self._thread.start()

    def submit(self, entry: Entry) -> Future[int]:
        """The entry's id once stored; the future holds the error when the batch failed."""
        done: Future[int] = Future()
        self._queue.put((entry, done))
        return done

    def close(self) -> None:
        """Stores what is queued, then stops the thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            batch: list[tuple[Entry, Future[int]]] = []
            while item is not None:
                batch.append(item)
                if len(batch) >= self._max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            else:
                stopping = True
            if not batch:
                continue
            try:
                with self._connect() as conn:
                    stored = append(conn, [entry for entry, _ in batch])
            except Exception as exc:  # each waiting request learns its entry was not stored
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for (_, done), entry_id in zip(batch, stored, strict=True):
                    done.set_result(entry_id)


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
