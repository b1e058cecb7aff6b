"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import psycopg

from gis.db.pool import get_pool

_acquire: anyio.CapacityLimiter | None = None


def _limiter() -> anyio.CapacityLimiter:
    global _acquire
    if _acquire is None:
        _acquire = anyio.CapacityLimiter(512)
    return _acquire


async def db() -> AsyncIterator[psycopg.Connection]:
    """A pooled autocommit connection for the duration of one request.

    Waiting for a connection happens on threads of its own limiter, not on the threads that run sync
    endpoints: otherwise, under load, every endpoint thread can end up waiting for a connection while
    the requests that hold connections wait for a thread — a deadlock until the pool times out.
    """
    pool = get_pool()
    conn = await anyio.to_thread.run_sync(pool.getconn, limiter=_limiter())
    try:
        yield conn
    finally:
        await anyio.to_thread.run_sync(pool.putconn, conn, limiter=_limiter())
