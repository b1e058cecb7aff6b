"""A process-wide psycopg connection pool for request-sized work (the HTTP server's engines).

Engines take a connection as an argument; only the caller decides where it comes from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from gis.db.engine import database_url
from gis.settings import get_settings

_pool: ConnectionPool | None = None
_pool_url: str | None = None


def get_pool() -> ConnectionPool:
    """The pool for the current DATABASE_URL (re-created when the URL changes, as in tests)."""
    global _pool, _pool_url
    url = database_url()
    if _pool is None or _pool_url != url:
        if _pool is not None:
            _pool.close()
        size = get_settings().db_pool_size
        settings = get_settings()
        kwargs = {
            "autocommit": True,
            "connect_timeout": 5,
            "options": f"-c statement_timeout={settings.statement_timeout_ms}",
        }
        _pool = ConnectionPool(url, min_size=1, max_size=size, open=True, kwargs=kwargs,
                               check=ConnectionPool.check_connection,
                               timeout=settings.db_acquire_timeout_s)
        _pool_url = url
    return _pool


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    with get_pool().connection() as conn:
        yield conn


def close_pool() -> None:
    global _pool, _pool_url
    if _pool is not None:
        _pool.close()
    _pool, _pool_url = None, None
