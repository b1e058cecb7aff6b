"""The async connection pool of the OGC hot paths.

One pool per app, opened by its lifespan on the app's event loop and held by api.ogc.state.OgcState.
Connections are autocommit, prepare repeated statements on the server
(psycopg prepares a query text after it has been run `prepare_threshold` times), and load `text` as
raw bytes: the GeoJSON and MVT built in the database go to the socket without a decode/encode trip.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool

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


async def open_pool() -> AsyncConnectionPool:
    """The app's async pool (opened by the lifespan, on the app's event loop)."""
    pool = AsyncConnectionPool(
        database_url(), min_size=1, max_size=get_settings().ogc_pool_size, open=False,
        kwargs={"autocommit": True, "prepare_threshold": 1}, configure=_configure,
    )
    await pool.open()
    return pool


@asynccontextmanager
async def connection(pool: AsyncConnectionPool) -> AsyncIterator[psycopg.AsyncConnection]:
    try:
        async with pool.connection() as conn:
            yield conn
    except psycopg.errors.DataError as exc:
        # A value of the request that the database cannot read as the property's type (22xxx).
        raise InvalidInput(f"a value does not fit its property: {exc.diag.message_primary or exc}") from None
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"database unreachable: {exc}") from exc


async def fetchone(pool: AsyncConnectionPool, query: str, params: tuple | list = ()) -> tuple | None:
    async with connection(pool) as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchone()


async def fetchall(pool: AsyncConnectionPool, query: str, params: tuple | list = ()) -> list[tuple]:
    async with connection(pool) as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()
