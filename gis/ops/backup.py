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
    """Replaces the database at `url` with the backup, atomically.

    `pg_restore --clean` cannot drop the constraints of partitions (positions), so the dump is rendered
    as SQL and run by psql in ONE transaction after a schema reset: a failure anywhere leaves the
    database exactly as it was.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no backup file at {path}")
    listing = subprocess.run([_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise InvalidInput(f"{path} is not a pg_dump custom-format backup: {listing.stderr.strip()}")
    script = subprocess.Popen([_tool("pg_restore"), "--no-owner", "--file", "-", str(path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    psql = subprocess.Popen(
        [_tool("psql"), "--quiet", "--no-psqlrc", "--single-transaction", "-v", "ON_ERROR_STOP=1",
         "--dbname", url or database_url(), "-c", RESET_SCHEMA, "-f", "-"],
        stdin=script.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    script.stdout.close()  # psql owns the pipe now
    _, psql_err = psql.communicate()
    script_err = script.stderr.read().decode() if script.stderr else ""
    script.wait()
    if script.returncode != 0 or psql.returncode != 0:
        raise BackupError(f"restore failed (nothing was changed): {(psql_err or script_err).strip()[-2000:]}")


#: Run first, in the same transaction as the restore script. The dump recreates pg_partman's schema too
#: (extension, its part_config rows, template tables), so that goes as well.
RESET_SCHEMA = "DROP SCHEMA IF EXISTS public CASCADE; DROP SCHEMA IF EXISTS partman CASCADE; CREATE SCHEMA public;"


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
