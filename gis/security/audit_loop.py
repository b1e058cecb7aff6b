"""The server's audit group commit on its event loop (the thread `audit.Writer`'s batches without the thread).

Why: every audited write handed its entry to the writer thread and waited on a concurrent Future
wrapped for asyncio: a queue put that wakes the thread, a GIL hand-over each way, the Future's lock and
a wake-up of the event loop through its self-pipe per entry. On the loop, an entry is a list append and
an asyncio future; one task stores whatever queued while the previous batch was in flight (the same
group commit: N concurrent writes, one statement and one commit), on its own async connection.
The chain rules are those of `audit.Writer` (see there): the head kept in memory, a collision on the
first id means another writer moved it (read again, re-sign; after a lost race the batch goes in under
the chain's lock), a broken connection is replaced once, and a batch whose reply was lost is found
committed by its last hash at the head.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import psycopg

from gis.security.audit import _APPEND, _HEAD, _RETRIES, GENESIS, ChainBusy, Entry, Head, _batch

LOCK_CHAIN = "LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"  # as audit._hold_chain


async def _execute(conn: psycopg.AsyncConnection, payload: str) -> None:
    """Stores one batch (one autocommit statement); UniqueViolation when another append took its first id."""
    await conn.execute(_APPEND, (payload,), prepare=True)


class LoopWriter:
    """Group commit of audit entries on the running event loop: `await append(entry)` returns the
    entry's id once it is stored (or raises the batch's error)."""

    def __init__(self, connect: Callable[[], Awaitable[psycopg.AsyncConnection]], max_batch: int = 1000) -> None:
        self._connect = connect
        self._max_batch = max_batch
        self._conn: psycopg.AsyncConnection | None = None
        self._head: Head | None = None
        self._pending: list[tuple[Entry, asyncio.Future[int]]] = []
        self._task: asyncio.Task[None] | None = None

    async def append(self, entry: Entry) -> int:
        """Queues `entry` for the next batch and waits until it is stored. A caller that is cancelled
        meanwhile does not withdraw it (the write it audits has happened)."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, done))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="audit-writer")
        return await done

    async def aclose(self) -> None:
        """Stores what is queued, then closes the connection."""
        if self._task is not None:
            await asyncio.wait([self._task], timeout=30)
        await self._release()

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:self._max_batch]
                del self._pending[:self._max_batch]
                try:
                    stored = await self._store([entry for entry, _ in batch])
                except Exception as exc:  # each waiting request learns its entry was not stored
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for (_, done), entry_id in zip(batch, stored, strict=True):
                        if not done.done():
                            done.set_result(entry_id)
        finally:
            self._task = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None:
            self._conn = await self._connect()
            if not self._conn.autocommit:  # each batch must commit by itself
                await self._conn.set_autocommit(True)
        return self._conn

    async def _release(self) -> None:
        """Closes the held connection (broken or not); forgets the head."""
        conn, self._conn, self._head = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _read_head(self, conn: psycopg.AsyncConnection) -> Head:
        row = await (await conn.execute(_HEAD)).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    async def _store(self, entries: list[Entry]) -> list[int]:
        # (ids, head after them) of an attempt whose outcome a broken connection left unknown
        unknown: tuple[list[int], Head] | None = None
        reconnected = contended = False
        for _ in range(_RETRIES):
            try:
                conn = await self._connection()
                async with conn.transaction() if contended else contextlib.nullcontext():
                    if contended:  # after a lost race: under the chain's lock (see audit._hold_chain)
                        await conn.execute(LOCK_CHAIN)
                        self._head = None
                    if self._head is None:
                        self._head = await self._read_head(conn)
                        if unknown is not None and self._head == unknown[1]:
                            return unknown[0]  # it had been committed: the head is its last row exactly
                    payload, ids, after = _batch(entries, self._head)
                    unknown = (ids, after)
                    await _execute(conn, payload)
                self._head = after
                return ids
            except psycopg.errors.UniqueViolation:
                self._head = None  # another writer moved the chain: read its head, sign again
                contended = True
            except psycopg.OperationalError:
                # A connection kept for minutes may have been closed by the server (a restart, an idle
                # timeout): one more try on a fresh connection, then the error goes to the callers.
                await self._release()
                if reconnected:
                    raise
                reconnected = True
            except Exception:
                await self._release()
                raise
        raise ChainBusy(f"the audit chain moved under each of {_RETRIES} attempts to append")
