"""Backups in pg_dump's custom format, and restores that can be checked table by table.

`checksums` gives, per table, the row count and an md5 over the rows' text in a stable order: equal
figures before a backup and after its restore mean the data came back whole.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from gis.db.engine import database_url
from gis.errors import CityGridError, InvalidInput
from gis.settings import get_settings


class BackupError(CityGridError):
    code = "backup_error"


def _tool(name: str) -> str:
    return str(get_settings().pg_bin / name)


def backup(path: Path, url: str | None = None) -> Path:
    """Writes a consistent snapshot of the whole database (schema, data, audit chain) to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--compress=6", "--file", str(path), "--dbname", url or database_url()],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise BackupError(f"pg_dump failed: {proc.stderr.strip()}")
    return path


def restore(path: Path, url: str | None = None) -> None:
    """Restores a backup into the database at `url` (which should be empty, or is cleaned first)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no backup file at {path}")
    listing = subprocess.run([_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise InvalidInput(f"{path} is not a pg_dump custom-format backup: {listing.stderr.strip()}")
    proc = subprocess.run(
        [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--single-transaction",
         "--dbname", url or database_url(), str(path)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was changed): {proc.stderr.strip()[-2000:]}")


def checksums(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    """{table: (rows, md5 of all rows)} for every ordinary and partitioned table of the public schema."""
    tables = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND c.relname <> 'spatial_ref_sys' ORDER BY 1"
    )]
    out: dict[str, tuple[int, str]] = {}
    for table in tables:
        q = sql.SQL("SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {} t")
        count, digest = conn.execute(q.format(sql.Identifier(table))).fetchone()
        out[table] = (count, digest)
    return out
