"""Backup and restore: a round trip into a fresh database gives back every table, row for row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from gis.db import migrate
from gis.errors import InvalidInput
from gis.ops.backup import backup, checksums, restore
from gis.security import audit


def _with_db(database_url: str, name: str) -> str:
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def fresh_db(own_db: Callable[..., str]) -> str:
    """An empty database to restore into."""
    return own_db(None)


def test_backup_restore_round_trip(clean_db: str, fresh_db: str, tmp_path: Path) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113', 'district', '宝山区', "
            "'SRID=4490;MULTIPOLYGON(((121.4 31.3,121.5 31.3,121.5 31.4,121.4 31.4,121.4 31.3)))')"
        )
        conn.execute("INSERT INTO positions (vehicle_id, ts, geom) VALUES "
                     "('v1', '2026-05-01T00:00:00Z', 'SRID=4490;POINT(121.45 31.35)')")
        audit.record(conn, "tester", "backup.test", "admin_areas", ["310113"])
        before = checksums(conn)
    file = backup(tmp_path / "cg.dump", clean_db)
    assert file.stat().st_size > 0
    migrate.upgrade(fresh_db)  # restoring over an existing schema must also work
    restore(file, fresh_db)
    with psycopg.connect(fresh_db) as conn:
        after = checksums(conn)
        assert audit.verify(conn).ok
    assert before["admin_areas"][0] == 1 and before["positions"][0] == 1
    assert after == before


def test_restore_refuses_a_file_that_is_not_a_backup(fresh_db: str, tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-dump"
    bogus.write_text("hello")
    with pytest.raises(InvalidInput, match="not a pg_dump"):
        restore(bogus, fresh_db)
