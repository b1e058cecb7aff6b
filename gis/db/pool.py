"""psycopg connection pools for request-sized work: `make_pool` for owners (the server's lifespan),
`get_pool`/`connection` as the default of code without an app.

Engines take a connection as an argument; only the caller decides where it comes from. Every hand-out
goes through the circuit breaker (gis/db/breaker.py): while the database is unreachable `acquire`
fails at once instead of after the acquire timeout, and waiting for a busy pool is done in short
slices so that a waiter notices an outage that began while it waited. After each recovery the
breaker's generation moves and the pool replaces its psycopg pool (a fresh one connects at once, to
whichever host is primary, instead of waiting out psycopg_pool's reconnect back-off).
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

from gis.db.breaker import Breaker, get_breaker
from gis.db.engine import database_url
from gis.errors import DatabaseUnavailable
from gis.settings import get_settings

# While the database is down, psycopg_pool logs every failed reconnect attempt of every pool (a
# screenful a second); the breaker logs the outage and the recovery once each, so keep only errors.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

#: Longest single wait for a pooled connection before the breaker is looked at again.
SLICE_S = 0.2


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


class Pool:
    """A psycopg pool of autocommit connections for one URL, behind that URL's circuit breaker and
    renewed after each recovery. Hand-outs: `acquire`/`release`, `connection`, `connection_or_none`."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        self.breaker: Breaker = get_breaker(self.url)
        self._lock = threading.Lock()
        self._pool: ConnectionPool | None = None
        self._generation = -1

    def current(self) -> ConnectionPool:
        """The psycopg pool of the breaker's current generation (made on first use and after recoveries)."""
        generation = self.breaker.generation
        pool = self._pool
        if pool is None or self._generation != generation:
            with self._lock:
                if self._pool is None or self._generation != generation:
                    if self._pool is not None:
                        _retire(self._pool)
                    self._pool, self._generation = _new_pool(self.url), generation
                pool = self._pool
        return pool

    def acquire(self) -> tuple[ConnectionPool, psycopg.Connection]:
        """(pool, connection) — give both back to `release`. Raises DatabaseUnavailable fast when the
        breaker is open, or when no connection came within `db_acquire_timeout_s`."""
        breaker = self.breaker
        breaker.check()
        pool = self.current()
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

    @staticmethod
    def release(pool: ConnectionPool, conn: psycopg.Connection) -> None:
        try:
            pool.putconn(conn)
        except Exception:  # the pool was retired meanwhile
            with contextlib.suppress(Exception):
                conn.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled autocommit connection; a database failure inside wakes the breaker's prober."""
        pool, conn = self.acquire()
        try:
            yield conn
        except psycopg.OperationalError:
            self.breaker.record_failure()
            raise
        finally:
            self.release(pool, conn)

    @contextmanager
    def connection_or_none(self) -> Iterator[psycopg.Connection | None]:
        """A connection, or None while the database is unreachable: for paths that can answer from memory."""
        try:
            pool, conn = self.acquire()
        except DatabaseUnavailable:
            yield None
            return
        try:
            yield conn
        except psycopg.OperationalError:
            self.breaker.record_failure()
            raise
        finally:
            self.release(pool, conn)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
            self._pool, self._generation = None, -1


def make_pool(url: str | None = None) -> Pool:
    """A new pool with the configured size and timeouts, behind the breaker of its URL (the server
    makes one in its lifespan and holds it on app.state; see api/services.py)."""
    return Pool(url)


_pool: Pool | None = None
_pool_lock = threading.Lock()


def get_pool() -> Pool:
    """The process default pool of code without an app (CLI, scripts), for the current DATABASE_URL
    (re-created when the URL changes, as in tests). The server does not use it."""
    global _pool
    url = database_url()
    pool = _pool
    if pool is None or pool.url != url:
        with _pool_lock:
            if _pool is None or _pool.url != url:
                if _pool is not None:
                    _pool.close()
                _pool = make_pool(url)
            pool = _pool
    return pool


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    with get_pool().connection() as conn:
        yield conn


@contextmanager
def connection_or_none() -> Iterator[psycopg.Connection | None]:
    with get_pool().connection_or_none() as conn:
        yield conn


def close_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
        _pool = None
