"""Time partitions kept by pg_partman (migration 0017): fixes land in partman's months, old ones wait in
the default partition until `maintain` moves them, retention drops whole old months (audited) and keeps
newer ones, and the alarm identity still upserts exactly once when alarms live in several partitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from fence_kit import add_vehicles, base_time, drive, post

from gis.db.partitions import maintain, partitions
from gis.fences import alarms as alarm_store
from gis.fences.state import AlarmRec
from gis.settings import Settings


def _month_name(table: str, t: datetime) -> str:
    return f"{table}_p{t:%Y_%m}"


def _where(db: psycopg.Connection, table: str, cond: str, args: tuple) -> list[str]:
    return [r[0] for r in db.execute(f"SELECT DISTINCT tableoid::regclass::text FROM {table} WHERE {cond}", args)]


def test_partman_premakes_months_and_a_fix_lands_in_its_month(clean_db, db, http, api_keys):
    now = datetime.now(UTC)
    made = partitions(db, "positions")
    ahead = now.replace(day=1) + timedelta(days=32 * 4)  # four months ahead: premade at migration time
    assert _month_name("positions", now) in made and _month_name("positions", ahead) in made
    assert db.execute("SELECT premake, partition_interval FROM partman.part_config "
                      "WHERE parent_table = 'public.positions'").fetchone() == (4, "1 mon")
    add_vehicles(db, "v1")
    t0 = base_time(hours_ago=0.5)
    answer = post(http, api_keys["inspector"], drive("v1", t0, [(0, 0)] * 3))
    assert answer["accepted"] == 3
    assert _where(db, "positions", "vehicle_id = %s", ("v1",)) == [_month_name("positions", t0)]


def test_an_old_fix_waits_in_default_until_maintain_and_retention_drops_old_months(clean_db, db, http, api_keys):
    add_vehicles(db, "v1")
    old = (datetime.now(UTC) - timedelta(days=250)).replace(second=0, microsecond=0)
    recent = base_time(hours_ago=1)
    key = api_keys["inspector"]
    # Another test of this session may have made that month (positions_ensure_partition); clean_db emptied it.
    db.execute(f"DROP TABLE IF EXISTS {_month_name('positions', old)}")
    assert post(http, key, drive("v1", old, [(0, 0)] * 2))["accepted"] == 2
    assert post(http, key, drive("v1", recent, [(0, 0)] * 2))["accepted"] == 2
    # Ingest made no partition: the old month is not there, its fixes wait in the default partition.
    assert _month_name("positions", old) not in partitions(db, "positions")
    assert _where(db, "positions", "ts < %s", (recent,)) == ["positions_default"]

    keep_all = maintain(db, Settings(), "test")
    assert keep_all[0].table == "positions" and keep_all[0].moved == 2
    assert _month_name("positions", old) in keep_all[0].created
    assert _where(db, "positions", "ts < %s", (recent,)) == [_month_name("positions", old)]

    reports = {r.table: r for r in maintain(db, Settings(retention_positions_months=3), "test")}
    # Other tests of the session may have left (empty) months of early 2026: they go too; the recent month stays.
    dropped = reports["positions"].dropped
    assert _month_name("positions", old) in dropped and _month_name("positions", recent) not in dropped
    cutoff = _month_name("positions", recent - timedelta(days=3 * 31 + 1))
    assert all(name <= cutoff for name in dropped), (dropped, cutoff)
    assert reports["alarms"].dropped == []  # alarms keep everything unless told
    assert db.execute("SELECT count(*) FROM positions WHERE ts < %s", (recent,)).fetchone()[0] == 0
    assert _where(db, "positions", "true", ()) == [_month_name("positions", recent)]
    assert db.execute("SELECT count(*) FROM positions").fetchone()[0] == 2
    action, target, ids, detail = db.execute(
        "SELECT action, target, ids, detail FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert (action, target, ids) == ("db.maintain", "positions", dropped)
    assert detail["retention_months"] == 3

    # A pass that changes nothing writes no audit entry.
    last = db.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    assert not any(r.changed for r in maintain(db, Settings(retention_positions_months=3), "test"))
    assert db.execute("SELECT max(id) FROM audit_log").fetchone()[0] == last


def _rec(start: datetime, end: datetime | None, max_value: float) -> AlarmRec:
    return AlarmRec(kind="overspeed", fence_id=None, start=start.timestamp(), end=end.timestamp() if end else None,
                    lon=121.4, lat=31.3, max_value=max_value)


def test_alarm_identity_upserts_exactly_once_across_partitions(clean_db, db):
    add_vehicles(db, "v1")
    now = datetime.now(UTC).replace(microsecond=0)
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(hour=12, minute=0, second=0)
    both = {"v1": {1: _rec(last_month, None, 50.0), 2: _rec(now, None, 55.0)}}
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("SET timezone = 'Asia/Shanghai'")  # partitions are UTC months whatever the session says
        assert [e["op"] for e in alarm_store.write(conn, both)] == ["opened", "opened"]
        # Re-delivered batch (a worker took over): the same identities, no new rows, no events.
        assert alarm_store.write(conn, both) == []
        ids = dict(db.execute("SELECT start, id FROM alarms").fetchall())
        assert len(ids) == 2
        # Maintenance moves a row out of the default partition (its month may predate the migration) ...
        maintain(db, Settings(), "test")
        assert alarm_store.write(conn, both) == []
        # ... and closing the older one updates it in place, in its own month's partition.
        closed = alarm_store.write(conn, {"v1": {1: _rec(last_month, last_month + timedelta(minutes=3), 61.0)}})
        assert [(e["op"], e["id"]) for e in closed] == [("closed", ids[last_month])]
    rows = db.execute("SELECT id, tableoid::regclass::text, \"end\" IS NOT NULL, max_value FROM alarms "
                      "ORDER BY start").fetchall()
    assert rows == [
        (ids[last_month], _month_name("alarms", last_month), True, 61.0),
        (ids[now], _month_name("alarms", now), False, 55.0),
    ]
