"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg

from gis.db.pool import connection


def db() -> Iterator[psycopg.Connection]:
    """A pooled autocommit connection for the duration of one request."""
    with connection() as conn:
        yield conn
