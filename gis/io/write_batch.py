"""Concurrent single-feature creates of one layer written by one statement: group commit for Part 4 POSTs.

Why: a one-row INSERT INTO cases costs the database ~0.4 ms of CPU, most of it fixed per statement
(executor start-up, the statement triggers of the rollups and change counters, the commit and its WAL
flush), and the server a pool hand-out and a round trip. Four rows in one statement cost ~0.15 ms each.
So while one create of a layer is in flight, the creates that arrive meanwhile queue, and the next
statement writes all of them (create_batch_sql): N concurrent POSTs, one statement and one commit. A lone
POST goes out at once, alone, as before — nothing waits for company.

Per-request isolation: each feature is judged by its own checks on its own staged row, and only the
rows without reasons are inserted, so a refused feature gets its 400 and the others their 201. When the
statement itself fails (a constraint the checks did not foresee), nothing of it was written (one
autocommit statement) and each request of the batch writes its feature alone, meeting its own error, as
if there had been no batch. An error without an answer from the server (a broken connection) goes to
every request of the batch, as it would have gone to each alone: whether a commit happened is unknown,
and writing again could store a feature twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg

from gis.io import write

#: What `create` answers: (reasons, feature id, ETag) as the one-feature statement does, or ALONE.
Result = tuple[list | None, Any, Any] | None
#: The statement failed as a whole: the request writes its feature by the one-feature statement.
ALONE: Result = None


class CreateBatcher:
    """Queues creates by `write.batch_key` and writes each queue's features together, up to `in_flight`
    statements of a key at a time, on connections from `connect` (an async context manager factory)."""

    def __init__(self, connect: Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection]],
                 max_batch: int = 64, in_flight: int = 1) -> None:
        self._connect = connect
        self._max_batch = max_batch
        self._in_flight = in_flight
        self._pending: dict[tuple, list[tuple[write.Prepared, asyncio.Future[Result]]]] = {}
        self._running: dict[tuple, set[asyncio.Task[None]]] = {}
        #: statements run and features written by them (for tests and benchmarks)
        self.statements = 0
        self.features = 0

    async def create(self, p: write.Prepared, key: tuple) -> Result:
        """Writes `p` (whose `write.batch_key` is `key`) with whatever else of its key is queued:
        (reasons, id, ETag), or ALONE when the batch's statement failed (nothing of it was written)."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append((p, done))
        running = self._running.setdefault(key, set())
        if len(running) < self._in_flight:
            running.add(asyncio.create_task(self._drain(key, running), name="create-batch"))
        return await done

    async def _drain(self, key: tuple, running: set[asyncio.Task[None]]) -> None:
        """Writes the key's queue, a batch at a time, until it is empty (`in_flight` of these per key).
        It leaves `running` in the same step as it finds the queue empty (no await between), so a create
        queued after that starts a new one."""
        try:
            while True:
                queue = self._pending.get(key)
                if not queue:
                    return
                batch = [(p, done) for p, done in queue[:self._max_batch] if not done.done()]  # not cancelled
                del queue[:self._max_batch]
                if batch:
                    await self._write(batch)
        finally:
            running.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _write(self, batch: list[tuple[write.Prepared, asyncio.Future[Result]]]) -> None:
        single = len(batch) == 1
        sql, params = write.create_sql(batch[0][0]) if single else write.create_batch_sql([p for p, _ in batch])
        try:
            async with self._connect() as conn:
                cur = conn.cursor() if single else psycopg.AsyncRawCursor(conn)  # a batch has $n placeholders
                rows = await (await cur.execute(sql, params)).fetchall()
        except psycopg.Error as exc:
            # A refusal by the server (sqlstate set) rolled the whole statement back: each request of a
            # batch writes alone and meets its own error; anything else reaches every request as is.
            alone = not single and exc.sqlstate is not None
            for _, done in batch:
                if not done.done():
                    done.set_result(ALONE) if alone else done.set_exception(exc)
            return
        except Exception as exc:  # no connection (the breaker open, the pool exhausted …): to each request
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        except asyncio.CancelledError:  # the app is closing: the queued requests are told so
            for _, done in batch + [item for queue in self._pending.values() for item in queue]:
                if not done.done():
                    done.set_exception(RuntimeError("the server is shutting down; the feature was not "
                                                    "written or its outcome is unknown"))
            raise
        self.statements += 1
        self.features += len(batch)
        for (_, done), row in zip(batch, rows, strict=True):
            if not done.done():
                done.set_result((row[0], row[1], row[2]))
