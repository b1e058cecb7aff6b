"""The async connection pool of the OGC hot paths.

One pool per app, opened by its lifespan on the app's event loop and held by api.ogc.state.OgcState
(which replaces it after the circuit breaker saw the database come back; every hand-out goes through
the breaker: refused at once while the database is unreachable, see gis/db/breaker.py).
Connections are autocommit, prepare repeated statements on the server
(psycopg prepares a query text after it has been run `prepare_threshold` times), and load `text` as
raw bytes: the GeoJSON and MVT built in the database go to the socket without a decode/encode trip.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gis.db.breaker import Breaker, get_breaker
from gis.db.engine import database_url
from gis.errors import DatabaseUnavailable, InvalidInput
from gis.settings import get_settings


class RawTextLoader(Loader):
    """`text` values as the bytes on the wire (UTF-8): spliced into answers as they are."""

    def load(self, data: bytes | bytearray | memoryview) -> bytes:
        return bytes(data)


async def _configure(conn: psycopg.AsyncConnection) -> None:
    for name in ("text", "varchar", "bpchar", "json"):
        conn.adapters.register_loader(name, RawTextLoader)


async def open_pool(url: str | None = None) -> AsyncConnectionPool:
    """An async pool for the app (opened by the lifespan, on the app's event loop, and again by
    api.ogc.state.OgcState after the breaker saw the database come back)."""
    settings = get_settings()
    pool = AsyncConnectionPool(
        url or database_url(), min_size=1, max_size=settings.ogc_pool_size, open=False,
        kwargs={"autocommit": True, "prepare_threshold": 1,
                "connect_timeout": max(2, settings.db_probe_timeout_s)},
        configure=_configure, timeout=settings.db_acquire_timeout_s,
    )
    await pool.open(wait=False)
    return pool


#: Longest single wait for a pooled connection before the breaker is looked at again.
SLICE_S = 0.2


async def _getconn(pool: AsyncConnectionPool, breaker: Breaker) -> psycopg.AsyncConnection:
    """A connection within the acquire timeout, given up at once when the breaker opens meanwhile."""
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
async def connection(pool: AsyncConnectionPool,
                     breaker: Breaker | None = None) -> AsyncIterator[psycopg.AsyncConnection]:
    """A connection of `pool` behind `breaker` (default: the configured database's)."""
    breaker = breaker or get_breaker()
    breaker.check()  # fails at once while the database is known to be unreachable
    conn = await _getconn(pool, breaker)
    try:
        yield conn
    except psycopg.errors.DataError as exc:
        # A value of the request that the database cannot read as the property's type (22xxx).
        raise InvalidInput(f"a value does not fit its property: {exc.diag.message_primary or exc}") from None
    except psycopg.OperationalError as exc:
        breaker.record_failure(exc)
        raise DatabaseUnavailable(f"database unreachable: {exc}") from exc
    finally:
        await pool.putconn(conn)


async def fetchone(pool: AsyncConnectionPool, query: str, params: tuple | list = (),
                   breaker: Breaker | None = None) -> tuple | None:
    async with connection(pool, breaker) as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchone()


async def fetchall(pool: AsyncConnectionPool, query: str, params: tuple | list = (),
                   breaker: Breaker | None = None) -> list[tuple]:
    async with connection(pool, breaker) as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()
