"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import psycopg
from fastapi import Request

from gis.errors import DatabaseUnavailable


async def db(request: Request) -> AsyncIterator[psycopg.Connection]:
    """A pooled autocommit connection (from the app's pool, api/services.py) for one request.

    Why the two limits: a sync endpoint gets its connection here, before it waits for one of the
    `endpoint_threads` threads, while some code running *on* those threads takes connections itself
    (auth, ingest, audit). If both sides could exhaust the pool, each would wait for the other — a
    deadlock until the pool times out (seen under 50 clients). So the connections held here are capped
    at `db_pool_size - endpoint_threads`, which always leaves one for every thread, and waiting for a
    connection happens on threads of a limiter of its own, never on an endpoint thread.
    """
    svc = request.app.state.services
    async with svc.holding:
        pool, conn = await anyio.to_thread.run_sync(svc.pool.acquire, limiter=svc.acquiring)
        try:
            yield conn
        finally:
            await anyio.to_thread.run_sync(svc.pool.release, pool, conn, limiter=svc.acquiring)


async def db_or_memory(request: Request) -> AsyncIterator[psycopg.Connection | None]:
    """Like `db`, but None while the database is unreachable (circuit breaker open): for the paths
    that can answer from their in-memory index (locate, geocode, reverse), marked as maybe stale."""
    svc = request.app.state.services
    async with svc.holding:
        try:
            pool, conn = await anyio.to_thread.run_sync(svc.pool.acquire, limiter=svc.acquiring)
        except DatabaseUnavailable:
            yield None
            return
        try:
            yield conn
        finally:
            await anyio.to_thread.run_sync(svc.pool.release, pool, conn, limiter=svc.acquiring)
