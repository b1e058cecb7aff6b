"""The async connection pool of the OGC hot paths.

One pool per event loop (uvicorn workers each run one loop; the test server runs its own), opened
lazily on the first request. Connections are autocommit, prepare repeated statements on the server
(psycopg prepares a query text after it has been run `prepare_threshold` times), and load `text` as
raw bytes: the GeoJSON and MVT built in the database go to the socket without a decode/encode trip.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gis.db.breaker import get_breaker
from gis.db.engine import database_url
from gis.errors import DatabaseUnavailable, InvalidInput
from gis.settings import get_settings

_pools: dict[int, AsyncConnectionPool] = {}
_generations: dict[int, int] = {}  # the breaker generation each loop's pool was built in
_locks: dict[int, asyncio.Lock] = {}


class RawTextLoader(Loader):
    """`text` values as the bytes on the wire (UTF-8): spliced into answers as they are."""

    def load(self, data: bytes | bytearray | memoryview) -> bytes:
        return bytes(data)


async def _configure(conn: psycopg.AsyncConnection) -> None:
    for name in ("text", "varchar", "bpchar", "json"):
        conn.adapters.register_loader(name, RawTextLoader)


async def get_pool() -> AsyncConnectionPool:
    """This loop's pool; replaced after the breaker saw the database come back (see gis/db/breaker.py)."""
    key = id(asyncio.get_running_loop())
    generation = get_breaker().generation
    pool = _pools.get(key)
    if pool is not None and _generations.get(key) == generation:
        return pool
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        pool = _pools.get(key)
        if pool is None or _generations.get(key) != generation:
            old = pool
            pool = AsyncConnectionPool(
                database_url(), min_size=1, max_size=get_settings().ogc_pool_size, open=False,
                kwargs={"autocommit": True, "prepare_threshold": 1,
                        "connect_timeout": max(2, get_settings().db_probe_timeout_s)},
                configure=_configure, timeout=get_settings().db_acquire_timeout_s,
            )
            await pool.open(wait=False)
            _pools[key], _generations[key] = pool, generation
            if old is not None:
                asyncio.get_running_loop().create_task(old.close(timeout=2.0))
    return pool


#: Longest single wait for a pooled connection before the breaker is looked at again.
SLICE_S = 0.2


async def _getconn(pool: AsyncConnectionPool) -> psycopg.AsyncConnection:
    """A connection within the acquire timeout, given up at once when the breaker opens meanwhile."""
    breaker = get_breaker()
    deadline = time.monotonic() + get_settings().db_acquire_timeout_s
    while True:
        try:
            return await pool.getconn(timeout=max(0.01, min(SLICE_S, deadline - time.monotonic())))
        except PoolTimeout:
            breaker.record_failure()
            breaker.check()
            if time.monotonic() >= deadline:
                raise DatabaseUnavailable("no database connection became free in time; retry shortly",
                                          extra={"retry_after": breaker.retry_after_s}) from None


@asynccontextmanager
async def connection() -> AsyncIterator[psycopg.AsyncConnection]:
    get_breaker().check()  # fails at once while the database is known to be unreachable
    pool = await get_pool()
    conn = await _getconn(pool)
    try:
        yield conn
    except psycopg.errors.DataError as exc:
        # A value of the request that the database cannot read as the property's type (22xxx).
        raise InvalidInput(f"a value does not fit its property: {exc.diag.message_primary or exc}") from None
    except psycopg.OperationalError as exc:
        get_breaker().record_failure(exc)
        raise DatabaseUnavailable(f"database unreachable: {exc}") from exc
    finally:
        await pool.putconn(conn)


async def fetchone(query: str, params: tuple | list = ()) -> tuple | None:
    async with connection() as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchone()


async def fetchall(query: str, params: tuple | list = ()) -> list[tuple]:
    async with connection() as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()


async def close_pools() -> None:
    key = id(asyncio.get_running_loop())
    pool = _pools.pop(key, None)
    _locks.pop(key, None)
    _generations.pop(key, None)
    if pool is not None:
        await pool.close()
