"""Migration 0017 on a database holding rows: positions' children are adopted (renamed, no row moved),
alarms are rebuilt partitioned by start, and the downgrade gives back the 0016 layout with every row."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from gis.db import migrate

ROWS = {
    "positions": "SELECT vehicle_id, ts, ST_AsText(geom), speed_kmh FROM positions ORDER BY 1, 2",
    "alarms": "SELECT id, kind, vehicle_id, start, \"end\", max_value, details::text FROM alarms ORDER BY id",
}


@pytest.fixture
def db_0016(own_db: Callable[..., str]) -> str:
    """A database of its own at revision 0016 (the session database stays at head)."""
    return own_db("0016")


def _children(conn: psycopg.Connection, table: str) -> list[str]:
    return sorted(r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        (table,)))


def _snapshot(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    return {t: conn.execute(q).fetchall() for t, q in ROWS.items()}


def test_upgrade_keeps_rows_and_downgrade_restores_the_0016_layout(db_0016: str) -> None:
    with psycopg.connect(db_0016, autocommit=True) as conn:
        conn.execute("INSERT INTO vehicles (id, kind) VALUES ('v1', 'household_waste'), ('v2', 'household_waste')")
        conn.execute("SELECT positions_ensure_partition('2026-03-10T00:00:00Z')")
        conn.execute("INSERT INTO positions (vehicle_id, ts, geom, speed_kmh) SELECT v, t, "
                     "ST_SetSRID(ST_MakePoint(121.4 + g * 1e-4, 31.3), 4490), g FROM "
                     "(VALUES ('v1'), ('v2')) AS vs(v), generate_series(0, 99) AS g, "
                     "LATERAL (SELECT timestamptz '2026-03-10T08:00:00Z' + g * interval '10 s' AS t) AS ts")
        # A fix of a month without a partition (waits in the default partition).
        conn.execute("INSERT INTO positions (vehicle_id, ts, geom) VALUES "
                     "('v1', '2025-01-05T00:00:00Z', 'SRID=4490;POINT(121.4 31.3)')")
        conn.execute("INSERT INTO alarms (kind, vehicle_id, fence_id, start, \"end\", max_value) VALUES "
                     "('overspeed', 'v1', NULL, '2026-03-10T08:01:00Z', '2026-03-10T08:02:00Z', 61), "
                     "('overspeed', 'v2', NULL, '2025-07-01T00:00:00Z', NULL, 70), "
                     "('signal_timeout', 'v1', NULL, '2026-03-11T00:00:00Z', NULL, NULL)")
        before = _snapshot(conn)
        assert _children(conn, "positions") == ["positions_202603", "positions_default"]

    migrate.upgrade(db_0016)
    with psycopg.connect(db_0016, autocommit=True) as conn:
        assert _snapshot(conn) == before
        kids = _children(conn, "positions")
        assert "positions_p2026_03" in kids and "positions_default" in kids and "positions_202603" not in kids
        where = dict(conn.execute("SELECT ts < '2026-01-01', tableoid::regclass::text FROM positions "
                                  "GROUP BY 1, 2").fetchall())
        assert where == {False: "positions_p2026_03", True: "positions_default"}
        assert conn.execute("SELECT relkind FROM pg_class WHERE oid = 'alarms'::regclass").fetchone()[0] == "p"
        assert {"alarms_p2025_07", "alarms_p2026_03", "alarms_default"} <= set(_children(conn, "alarms"))
        # The id sequence carries on past the copied rows.
        new_id = conn.execute("INSERT INTO alarms (kind, vehicle_id, start) VALUES "
                              "('overspeed', 'v2', '2026-03-12T00:00:00Z') RETURNING id").fetchone()[0]
        assert new_id == 4
        conn.execute("DELETE FROM alarms WHERE id = 4")

    migrate.downgrade(db_0016, revision="0016")
    with psycopg.connect(db_0016, autocommit=True) as conn:
        assert _snapshot(conn) == before
        assert "positions_202603" in _children(conn, "positions")
        assert not any(k.startswith("positions_p") for k in _children(conn, "positions"))
        assert conn.execute("SELECT relkind FROM pg_class WHERE oid = 'alarms'::regclass").fetchone()[0] == "r"
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_partman'").fetchone()[0] == 0
        assert conn.execute("SELECT positions_ensure_partition('2026-04-02T00:00:00Z')").fetchone()[0] == \
            "positions_202604"

    migrate.upgrade(db_0016)  # and up again, from a layout that already has partman's premade months
    with psycopg.connect(db_0016, autocommit=True) as conn:
        assert _snapshot(conn) == before
        assert "positions_default" in _children(conn, "positions")
