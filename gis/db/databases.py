"""Databases made and dropped beside the main one, on the same server: the test suite's, the benchmarks'
throwaway copies, a restore target. The main database itself is the cluster's (gis/db/cluster.py)."""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy.engine import make_url


def urls(server_url: str, name: str) -> tuple[str, str]:
    """(the admin URL of the server of `server_url`, the URL of its database `name`)."""
    url = make_url(server_url)
    return (url.set(database="postgres").render_as_string(hide_password=False),
            url.set(database=name).render_as_string(hide_password=False))


def create_database(server_url: str, template: str | None = None, prefix: str = "citygrid_tmp") -> tuple[str, str]:
    """A new database named `prefix`_<random> on the server of `server_url` (a copy of `template` if given):
    (the server's admin URL, the new database's URL)."""
    admin, url = urls(server_url, f"{prefix}_{uuid.uuid4().hex[:10]}")
    with psycopg.connect(admin, autocommit=True) as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{make_url(url).database}"{clause}')
    return admin, url


def drop_database(admin: str, url: str) -> None:
    """Drops the database of `url`, its open connections too."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
