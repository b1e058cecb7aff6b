"""Databases of a test's own, on the server of the session's database: created empty, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

from gis.db import engine as db_engine
from gis.db import migrate
from gis.db.seed import seed_reference_data


@contextmanager
def own_database(server_url: str, prefix: str = "citygrid_own", revision: str | None = "head",
                 seeded: bool = False) -> Iterator[str]:
    """A database on the server of `server_url` for the caller alone, migrated to `revision` (None: left
    empty) and given the reference data if `seeded`; dropped, connections and all, afterwards."""
    server = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        if revision is not None:
            migrate.upgrade(url, revision=revision)
        if seeded:
            seed_reference_data(url)
        yield url
    finally:
        db_engine.get_engine(url).dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
