"""Databases of a test's own, on the server of the session's database: created empty, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gis.db import engine as db_engine
from gis.db import migrate
from gis.db.databases import create_database, drop_database
from gis.db.seed import seed_reference_data


@contextmanager
def own_database(server_url: str, prefix: str = "citygrid_own", revision: str | None = "head",
                 seeded: bool = False) -> Iterator[str]:
    """A database on the server of `server_url` for the caller alone, migrated to `revision` (None: left
    empty) and given the reference data if `seeded`; dropped, connections and all, afterwards."""
    admin, url = create_database(server_url, prefix=prefix)
    try:
        if revision is not None:
            migrate.upgrade(url, revision=revision)
        if seeded:
            seed_reference_data(url)
        yield url
    finally:
        db_engine.get_engine(url).dispose()
        drop_database(admin, url)
