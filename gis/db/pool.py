"""A process-wide psycopg connection pool for request-sized work (the HTTP server's engines).

Engines take a connection as an argument; only the caller decides where it comes from. Every hand-out
goes through the circuit breaker (gis/db/breaker.py): while the database is unreachable `acquire`
fails at once instead of after the acquire timeout, and waiting for a busy pool is done in short
slices so that a waiter notices an outage that began while it waited.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from gis.db.breaker import get_breaker
from gis.db.engine import database_url
from gis.errors import DatabaseUnavailable
from gis.settings import get_settings

# While the database is down, psycopg_pool logs every failed reconnect attempt of every pool (a
# screenful a second); the breaker logs the outage and the recovery once each, so keep only errors.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

#: Longest single wait for a pooled connection before the breaker is looked at again.
SLICE_S = 0.2

_pool: ConnectionPool | None = None
_pool_url: str | None = None
_pool_generation = 0
_lock = threading.Lock()


def _new_pool(url: str) -> ConnectionPool:
    settings = get_settings()
    kwargs = {
        "autocommit": True,
        "connect_timeout": max(2, settings.db_probe_timeout_s),
        "options": f"-c statement_timeout={settings.statement_timeout_ms}",
    }
    return ConnectionPool(url, min_size=1, max_size=settings.db_pool_size, open=True, kwargs=kwargs,
                          check=ConnectionPool.check_connection, timeout=settings.db_acquire_timeout_s)


def _retire(pool: ConnectionPool) -> None:
    # Closing waits for the pool's workers; connections still lent out are closed when returned.
    threading.Thread(target=lambda: pool.close(timeout=2.0), name="citygrid-pool-retire", daemon=True).start()


def get_pool() -> ConnectionPool:
    """The pool for the current DATABASE_URL: re-created when the URL changes (tests) and after the
    breaker saw the database come back (a fresh pool connects at once, to whichever host is primary)."""
    global _pool, _pool_url, _pool_generation
    url = database_url()
    generation = get_breaker(url).generation
    if _pool is None or _pool_url != url or _pool_generation != generation:
        with _lock:
            if _pool is None or _pool_url != url or _pool_generation != generation:
                if _pool is not None:
                    _retire(_pool)
                _pool, _pool_url, _pool_generation = _new_pool(url), url, generation
    return _pool


def acquire() -> tuple[ConnectionPool, psycopg.Connection]:
    """(pool, connection) — give both back to `release`. Raises DatabaseUnavailable fast when the
    breaker is open, or when no connection came within `db_acquire_timeout_s`."""
    breaker = get_breaker()
    breaker.check()
    pool = get_pool()
    deadline = time.monotonic() + get_settings().db_acquire_timeout_s
    while True:
        try:
            conn = pool.getconn(timeout=max(0.01, min(SLICE_S, deadline - time.monotonic())))
            return pool, conn
        except PoolTimeout:
            breaker.record_failure()  # maybe just busy; the prober decides
            breaker.check()
            if time.monotonic() >= deadline:
                raise DatabaseUnavailable("no database connection became free in time; retry shortly",
                                          extra={"retry_after": breaker.retry_after_s}) from None


def release(pool: ConnectionPool, conn: psycopg.Connection) -> None:
    try:
        pool.putconn(conn)
    except Exception:  # the pool was retired meanwhile
        with contextlib.suppress(Exception):
            conn.close()


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled autocommit connection; a database failure inside wakes the breaker's prober."""
    pool, conn = acquire()
    try:
        yield conn
    except psycopg.OperationalError:
        get_breaker().record_failure()
        raise
    finally:
        release(pool, conn)


@contextmanager
def connection_or_none() -> Iterator[psycopg.Connection | None]:
    """A connection, or None while the database is unreachable: for paths that can answer from memory."""
    try:
        pool, conn = acquire()
    except DatabaseUnavailable:
        yield None
        return
    try:
        yield conn
    except psycopg.OperationalError:
        get_breaker().record_failure()
        raise
    finally:
        release(pool, conn)


def close_pool() -> None:
    global _pool, _pool_url
    with _lock:
        if _pool is not None:
            _pool.close()
        _pool, _pool_url = None, None
