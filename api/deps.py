"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import psycopg

from gis.db.pool import acquire, release
from gis.errors import DatabaseUnavailable
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
        pool, conn = await anyio.to_thread.run_sync(acquire, limiter=acquiring)
        try:
            yield conn
        finally:
            await anyio.to_thread.run_sync(release, pool, conn, limiter=acquiring)


async def db_or_memory() -> AsyncIterator[psycopg.Connection | None]:
    """Like `db`, but None while the database is unreachable (circuit breaker open): for the paths
    that can answer from their in-memory index (locate, geocode, reverse), marked as maybe stale."""
    acquiring, holding = _limits()
    async with holding:
        try:
            pool, conn = await anyio.to_thread.run_sync(acquire, limiter=acquiring)
        except DatabaseUnavailable:
            yield None
            return
        try:
            yield conn
        finally:
            await anyio.to_thread.run_sync(release, pool, conn, limiter=acquiring)
