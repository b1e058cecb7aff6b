"""Connections: one place that knows where the database is.

Two kinds of access, both from here: a SQLAlchemy engine (models, migrations, set-based SQL) and a
psycopg connection pool for the hot read paths of the HTTP server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from gis.settings import get_settings


def database_url() -> str:
    """A libpq URL (`postgresql://…`): DATABASE_URL, else the project-local cluster (listed with its
    hot standby, when one was made, so that connections follow a promotion)."""
    settings = get_settings()
    if settings.database_url:
        url = make_url(settings.database_url)
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    from gis.db.cluster import local_cluster
    from gis.db.replication import local_failover_url

    return local_failover_url() or local_cluster(settings).url()


def read_url() -> str:
    """Where read-only bulk work connects (`citygrid export`, batch jobs): the hot standby when
    `reads_on_standby` is set and a standby is listed, else the same server as everything else."""
    url = database_url()
    if not get_settings().reads_on_standby:
        return url
    from gis.db.replication import prefer_standby

    return prefer_standby(url)


def sqlalchemy_url(url: str | None = None) -> str:
    return make_url(url or database_url()).set(drivername="postgresql+psycopg").render_as_string(
        hide_password=False
    )


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, pool_size=5, max_overflow=10)


@contextmanager
def connect(url: str | None = None, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A plain psycopg connection, for COPY and bulk work."""
    with psycopg.connect(url or database_url(), autocommit=autocommit) as conn:
        yield conn


def reset_caches() -> None:
    """Forget cached engines (tests switch databases)."""
    get_engine.cache_clear()
    get_settings.cache_clear()
