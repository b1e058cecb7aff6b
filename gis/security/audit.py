"""The audit log: append-only (a trigger refuses UPDATE/DELETE/TRUNCATE) and hash-chained.

Each row's `hash` is an HMAC-SHA256, keyed by a secret kept outside the database, over the row's content
and the previous row's hash. `verify` recomputes the chain and names the first row that does not fit:
a changed row breaks its own hash, a deleted row breaks its successor's link, an inserted row cannot be
given a valid hash without the key. An append takes the ids right after the chain's head and `id` is the
primary key, so two appends on one head cannot both be stored (see `append`); the server batches its
entries through one `Writer` (group commit, one round trip per batch).
"""

from __future__ import annotations

import contextlib
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
        # Made whole under a private name, then linked into place: the first writers of a fresh install
        # may race here, and none may read a half-written key or sign with a key that lost the race.
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".audit.key.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)   # atomic; the first one wins
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip().encode()


def cli_actor() -> str:
    """Who runs a command-line write: the OS user (there is no API key on the command line)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def _canonical_text(row: dict[str, Any]) -> str:
    """The signed text of a row: its fields as compact JSON with sorted keys."""
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
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _canonical(row: dict[str, Any]) -> bytes:
    return _canonical_text(row).encode()


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


#: The chain's head: the row of the highest id (appends take ids head+1, head+2, … in chain order).
_HEAD = "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1"

#: A batch in one statement: the rows arrive as one JSON array (the canonical texts plus their hashes,
#: so nothing is serialised twice); the serial's sequence is moved past them, so an INSERT relying on
#: the column's DEFAULT (none does in the code; hand-made rows do) cannot take an id inside the chain.
_APPEND = ("WITH ins AS (INSERT INTO audit_log (id, at, actor, action, target, ids, remote, detail, prev_hash, hash) "
           "SELECT id, at, actor, action, target, ids, remote, detail, prev_hash, hash "
           "FROM jsonb_populate_recordset(NULL::audit_log, %s::jsonb) RETURNING id) "
           "SELECT setval('audit_log_id_seq', GREATEST(max(ins.id), (SELECT last_value FROM audit_log_id_seq))) "
           "FROM ins")

#: Appends built on a head that another writer moved in the meantime are re-signed and re-sent at most
#: this many times (each retry means someone else's batch went in: the chain as a whole moves on).
_RETRIES = 50


class ChainBusy(RuntimeError):
    """Other writers moved the chain's head before every one of `_RETRIES` attempts of a batch."""


Head = tuple[int, str]  # (id, hash) of the chain's last row


def head(conn: psycopg.Connection) -> Head:
    """The chain's last row (id 0 and the genesis hash for an empty log)."""
    row = conn.execute(_HEAD).fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def _batch(entries: Sequence[Entry], after: Head) -> tuple[str, list[int], Head]:
    """The JSON array of `entries` chained after `after`: ids after.id + 1, …, each row's prev_hash the
    hash before it. Returns it, the ids and the new head."""
    key = _key()
    last_id, prev = after
    parts: list[str] = []
    ids: list[int] = []
    for e in entries:
        last_id += 1
        row = {
            "id": last_id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
            "ids": [str(i) for i in e.ids], "remote": e.remote,
            "detail": json.loads(json.dumps(e.detail, default=str)), "prev_hash": prev,
        }
        text = _canonical_text(row)
        prev = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        parts.append(f'{text[:-1]},"hash":"{prev}"}}')  # the canonical object plus its hash
        ids.append(last_id)
    return "[" + ",".join(parts) + "]", ids, (last_id, prev)


def _execute(conn: psycopg.Connection, payload: str) -> None:
    """Stores one batch on the writer's autocommit connection: one statement, atomic by itself.
    UniqueViolation when another append took the batch's first id first."""
    conn.execute(_APPEND, (payload,), prepare=True)


def append(conn: psycopg.Connection, entries: Sequence[Entry]) -> list[int]:
    """Appends `entries` in order, chained, with one INSERT on `conn` (a batch costs about what one
    entry does); inside the caller's transaction if one is open. Returns their ids.

    Why no lock: each append takes the ids right after the head it read, and `id` is the primary key,
    so two appends built on the same head collide on their first id; the one that loses re-reads the
    head and signs its rows again. Every row's predecessor is thus the row before it by id: the chain
    cannot fork. (Reading the head after an advisory lock cost a round trip of its own: the lock has to
    be taken in an earlier statement than the read, or the read's snapshot misses the last append.)"""
    if not entries:
        return []
    for attempt in range(_RETRIES):
        try:
            # Its own transaction, committed here, on an idle connection; a savepoint in the caller's.
            with conn.transaction():
                if attempt:
                    _hold_chain(conn)
                payload, ids, _ = _batch(entries, head(conn))
                conn.execute(_APPEND, (payload,), prepare=True)
            return ids
        except psycopg.errors.UniqueViolation:
            continue
    raise ChainBusy(f"the audit chain moved under each of {_RETRIES} attempts to append")


def _hold_chain(conn: psycopg.Connection) -> None:
    """After a lost race: no other append can land until this transaction ends, so the head read next is
    the one the INSERT follows. Why: a busy server's writer keeps the head in memory and appends in one
    round trip, so an appender that must read the head first (two round trips) can lose every race while
    the server is busy (seen in CI: 50 losses in a row). SHARE ROW EXCLUSIVE excludes every INSERT (ROW
    EXCLUSIVE) and other holders, not readers; the fast path takes no lock, so a lone writer pays nothing."""
    conn.execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")


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
    its future: a background thread appends everything that queued meanwhile in one statement, so
    the entry is stored before the client hears of success, while N concurrent writes cost one
    round trip and one commit instead of N (the chain forbids parallel appends).

    Per batch the thread pays one round trip: it keeps one connection from `connect` open (a hand-out
    per batch cost a check of the connection, a round trip of its own) and the chain's head in memory
    (the head it wrote last). When another writer (another server process, the CLI) moved the head,
    the INSERT collides on its first id; the head is read again and the batch re-signed."""

    def __init__(self, connect: Callable[[], AbstractContextManager[psycopg.Connection]],
                 max_batch: int = 1000) -> None:
        self._connect = connect
        self._max_batch = max_batch
        self._held: AbstractContextManager[psycopg.Connection] | None = None
        self._conn: psycopg.Connection | None = None
        self._head: Head | None = None
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
                stored = self._store([entry for entry, _ in batch])
            except Exception as exc:  # each waiting request learns its entry was not stored
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for (_, done), entry_id in zip(batch, stored, strict=True):
                    done.set_result(entry_id)
        self._release(None)

    def _connection(self) -> psycopg.Connection:
        if self._conn is None:
            held = self._connect()
            self._conn = held.__enter__()
            self._held = held
            if not self._conn.autocommit:  # each batch must commit by itself (see _execute)
                self._conn.autocommit = True
        return self._conn

    def _release(self, exc: BaseException | None) -> None:
        """Gives the held connection back (to the pool, which drops a broken one); forgets the head."""
        held, self._held, self._conn, self._head = self._held, None, None, None
        if held is not None:
            with contextlib.suppress(Exception):  # gone either way; the batch's error is what callers hear
                held.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

    def _store(self, entries: list[Entry]) -> list[int]:
        # (ids, head after them) of an attempt whose outcome a broken connection left unknown
        unknown: tuple[list[int], Head] | None = None
        reconnected = contended = False
        for _ in range(_RETRIES):
            try:
                conn = self._connection()
                # After a lost race the batch goes in under the chain's lock (see _hold_chain), so a writer
                # cannot lose every race to a busier one.
                with conn.transaction() if contended else contextlib.nullcontext():
                    if contended:
                        _hold_chain(conn)
                        self._head = None
                    if self._head is None:
                        self._head = head(conn)
                        if unknown is not None and self._head == unknown[1]:
                            return unknown[0]  # it had been committed: the head is its last row exactly
                    payload, ids, after = _batch(entries, self._head)
                    # Kept until success: a broken connection may have lost the reply of a commit that was
                    # made (the head then ends in this batch's last hash, which nothing else can have).
                    unknown = (ids, after)
                    _execute(conn, payload)
                self._head = after
                return ids
            except psycopg.errors.UniqueViolation:
                self._head = None  # another writer moved the chain: read its head, sign again
                contended = True
            except psycopg.OperationalError as exc:
                # A connection kept for minutes may have been closed by the server (a restart, an idle
                # timeout): one more try on a fresh connection, then the error goes to the callers.
                self._release(exc)
                if reconnected:
                    raise
                reconnected = True
            except Exception as exc:
                self._release(exc)
                raise
        raise ChainBusy(f"the audit chain moved under each of {_RETRIES} attempts to append")


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
