"""psycopg connection pools for request-sized work: `make_pool` for owners (the server's lifespan),
`get_pool`/`connection` as the default of code without an app.

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


def make_pool(url: str | None = None) -> ConnectionPool:
    """A new pool of autocommit connections with the configured size and timeouts (the server makes
    one in its lifespan and holds it on app.state; see api/services.py)."""
    settings = get_settings()
    kwargs = {
        "autocommit": True,
        "connect_timeout": 5,
        "options": f"-c statement_timeout={settings.statement_timeout_ms}",
    }
    return ConnectionPool(url or database_url(), min_size=1, max_size=settings.db_pool_size, open=True,
                          kwargs=kwargs, check=ConnectionPool.check_connection,
                          timeout=settings.db_acquire_timeout_s)


def get_pool() -> ConnectionPool:
    """The process default pool of code without an app (CLI, scripts), for the current DATABASE_URL
    (re-created when the URL changes, as in tests). The server does not use it."""
    global _pool, _pool_url
    url = database_url()
    if _pool is None or _pool_url != url:
        if _pool is not None:
            _pool.close()
        _pool = make_pool(url)
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
