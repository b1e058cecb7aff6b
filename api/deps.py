"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import psycopg

from gis.db.pool import get_pool
from gis.settings import get_settings

_acquiring: anyio.CapacityLimiter | None = None
_holding: anyio.Semaphore | None = None


def _limits() -> tuple[anyio.CapacityLimiter, anyio.Semaphore]:
    global _acquiring, _holding
    if _acquiring is None or _holding is None:
        settings = get_settings()
        _acquiring = anyio.CapacityLimiter(64)
        _holding = anyio.Semaphore(max(1, settings.db_pool_size - settings.endpoint_threads))
    return _acquiring, _holding


async def db() -> AsyncIterator[psycopg.Connection]:
    """A pooled autocommit connection for the duration of one request.

    Why the two limits: a sync endpoint gets its connection here, before it waits for one of the
    `endpoint_threads` threads, while some code running *on* those threads takes connections itself
    (auth, ingest, audit). If both sides could exhaust the pool, each would wait for the other — a
    deadlock until the pool times out (seen under 50 clients). So the connections held here are capped
    at `db_pool_size - endpoint_threads`, which always leaves one for every thread, and waiting for a
    connection happens on threads of a limiter of its own, never on an endpoint thread.
    """
    acquiring, holding = _limits()
    async with holding:
        pool = get_pool()
        conn = await anyio.to_thread.run_sync(pool.getconn, limiter=acquiring)
        try:
            yield conn
        finally:
            await anyio.to_thread.run_sync(pool.putconn, conn, limiter=acquiring)
