"""Databases made and dropped beside the main one, on the same server: the test suite's, the benchmarks'
throwaway copies, a restore target. The main database itself is the cluster's (gis/db/cluster.py)."""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy.engine import make_url


def create_database(server_url: str, template: str | None = None, prefix: str = "citygrid_tmp") -> tuple[str, str]:
    """A new database named `prefix`_<random> on the server of `server_url` (a copy of `template` if given):
    (the server's admin URL, the new database's URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_url(server_url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    return admin, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin: str, url: str) -> None:
    """Drops the database of `url`, its open connections too."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
