"""Migration 0019 (issue 14): the case statistics trigger reads the zone once per statement, and cases
keeps one btree index per leading column; the rollup still equals a scan of cases after writes, and the
downgrade gives back 0018's indexes and trigger statement."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from gis.db import migrate

SCAN = ("SELECT dim, day, val, n FROM ({}) t")
ROLLUP = "SELECT dim, day, val, sum(n) FROM case_stats_rollup GROUP BY 1, 2, 3 HAVING sum(n) <> 0"


@pytest.fixture
def db_head(own_db: Callable[..., str]) -> str:
    """A database of its own at head (the session database is shared by other tests)."""
    return own_db(seeded=True)  # the categories the cases refer to


def _btree_leads(conn: psycopg.Connection) -> list[str]:
    """The leading column of every non-unique, non-partial btree index of cases."""
    return sorted(r[0] for r in conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am m ON m.oid = c.relam "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = 'cases'::regclass AND m.amname = 'btree' AND NOT i.indisunique AND i.indpred IS NULL"))


def _same_as_scan(conn: psycopg.Connection) -> None:
    builder = conn.execute(
        "SELECT case_stats_rows('SELECT reported_at, source, kind, major, minor, status, unit_grid_code, 1 AS s "
        "FROM cases', (SELECT tz FROM case_stats_zone))").fetchone()[0]
    assert set(conn.execute(ROLLUP).fetchall()) == set(conn.execute(SCAN.format(builder)).fetchall())


def _write(conn: psycopg.Connection) -> None:
    """Inserts over several local days (one statement and one row at a time), updates and deletes."""
    conn.execute("INSERT INTO cases (major, minor, source, status, reported_at, geom) SELECT '01', '01', "
                 "(ARRAY['hotline', 'app', NULL])[1 + i % 3], (ARRAY['open', 'closed'])[1 + i % 2], "
                 "timestamptz '2024-01-01T07:00+08' + i * interval '5 hours', "
                 "ST_SetSRID(ST_MakePoint(121.41 + (i % 9) * 0.01, 31.31 + (i % 7) * 0.01), 4490) "
                 "FROM generate_series(1, 60) i")
    for i in range(5):
        conn.execute("INSERT INTO cases (major, minor, reported_at, geom) VALUES ('01', '01', "
                     "timestamptz '2024-01-03T23:30+08' + %s * interval '1 hour', "
                     "ST_SetSRID(ST_MakePoint(121.45, 31.35), 4490))", (i,))
    conn.execute("UPDATE cases SET status = 'closed', reported_at = reported_at + interval '20 hours' "
                 "WHERE id % 4 = 0")
    conn.execute("DELETE FROM cases WHERE id % 9 = 0")


def test_one_btree_index_per_leading_column_and_rollup_equals_scan(db_head: str) -> None:
    with psycopg.connect(db_head, autocommit=True) as conn:
        leads = _btree_leads(conn)
        assert len(leads) == len(set(leads)), leads
        assert {"reported_at", "h3_cell"} <= set(leads)
        body = conn.execute("SELECT prosrc FROM pg_proc WHERE proname = 'case_stats_apply'").fetchone()[0]
        assert "FROM case_stats_zone)" not in body  # no per-dimension subquery of the zone
        _write(conn)
        _same_as_scan(conn)
        # the zone is still read when the trigger runs: another zone moves the days of new rows
        conn.execute("UPDATE case_stats_zone SET tz = 'UTC'")
        conn.execute("DELETE FROM case_stats_rollup")
        conn.execute("INSERT INTO cases (major, minor, reported_at, geom) VALUES ('01', '01', "
                     "'2024-02-01T02:00+08', ST_SetSRID(ST_MakePoint(121.45, 31.35), 4490))")
        assert conn.execute("SELECT day::text FROM case_stats_rollup WHERE dim = 'all'").fetchone()[0] == "2024-01-31"


def test_downgrade_restores_0018_and_upgrade_again(db_head: str) -> None:
    migrate.downgrade(db_head, revision="0018")
    with psycopg.connect(db_head, autocommit=True) as conn:
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'cases'")}
        assert {"cases_reported_idx", "cases_time_h3_idx", "cases_stats_idx", "cases_h3_idx",
                "cases_h3_scope_idx"} <= names and "cases_time_idx" not in names
        body = conn.execute("SELECT prosrc FROM pg_proc WHERE proname = 'case_stats_apply'").fetchone()[0]
        assert "(SELECT tz FROM case_stats_zone)" in body
        _write(conn)
        _same_as_scan(conn)
    migrate.upgrade(db_head)
    with psycopg.connect(db_head, autocommit=True) as conn:
        leads = _btree_leads(conn)
        assert len(leads) == len(set(leads)), leads
        _write(conn)
        _same_as_scan(conn)
