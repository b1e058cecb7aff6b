"""Concurrent Part 4 creates written by one statement (gis/io/write_batch.py, issue 14), over real PostGIS:
each request gets the answer it would get alone — its own feature behind its Location, its own 400 —
refused features leave nothing written, a statement that fails as a whole makes each request write
alone, every created row has its audit entry, and the statistics rollup still equals a scan."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import psycopg
import pytest
from http_auth import auth
from ogc_data import load

from gis import catalog
from gis import crs as gcrs
from gis.io import write
from gis.io.write_batch import ALONE, CreateBatcher

CASES = "/ogc/collections/cases/items"
GEO = {"Content-Type": "application/geo+json"}
#: A trigger refusing one description: a failure of the whole statement that no check foresees.
BOOM = """
CREATE OR REPLACE FUNCTION test_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.description = 'boom' THEN
        RAISE EXCEPTION 'boom refused by a trigger' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_boom BEFORE INSERT ON cases FOR EACH ROW EXECUTE FUNCTION test_boom();
"""
UNBOOM = "DROP TRIGGER IF EXISTS test_boom ON cases; DROP FUNCTION IF EXISTS test_boom()"


@pytest.fixture
def district(clean_db: str) -> str:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        load(conn)
    return clean_db


@pytest.fixture
def boom(district: str):
    with psycopg.connect(district, autocommit=True) as conn:
        conn.execute(BOOM)
        try:
            yield
        finally:
            conn.execute(UNBOOM)


def case(description: str, lon: float = 121.405, lat: float = 31.305, **props: object) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"major": "01", "minor": "01", "description": description,
                           "reported_at": "2026-04-01T09:00:00+08:00", **props}}


def prepared(feature: dict) -> write.Prepared:
    return write.prepare(catalog.get("cases"), feature, gcrs.resolve(4490))


def same_as_scan(conn: psycopg.Connection) -> None:
    """The case statistics' rollup equals a scan of cases (as tests/test_write_cost_migration.py)."""
    builder = conn.execute(
        "SELECT case_stats_rows('SELECT reported_at, source, kind, major, minor, status, unit_grid_code, 1 AS s "
        "FROM cases', (SELECT tz FROM case_stats_zone))").fetchone()[0]
    rollup = conn.execute("SELECT dim, day, val, sum(n) FROM case_stats_rollup GROUP BY 1, 2, 3 "
                          "HAVING sum(n) <> 0").fetchall()
    assert set(rollup) == set(conn.execute(f"SELECT dim, day, val, n FROM ({builder}) t").fetchall())


def run_batch(url: str, features: list[dict], **options: int) -> tuple[list, CreateBatcher]:
    """The features' creates submitted together (one event loop turn): they queue behind one another."""
    async def main() -> list:
        @asynccontextmanager
        async def connect():
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                yield conn

        batcher = CreateBatcher(connect, **options)
        ps = [prepared(f) for f in features]
        got = list(await asyncio.wait_for(asyncio.gather(*(batcher.create(p, write.batch_key(p)) for p in ps)), 60))
        key = write.batch_key(ps[0])
        assert not batcher._running.get(key) and not batcher._pending.get(key)  # nothing left running or queued
        # a create after the queue ran dry starts a statement of its own (no drain left stranded)
        got.append(await asyncio.wait_for(batcher.create(ps[0], key), 60))
        return got, batcher
    return asyncio.run(main())


def test_features_queued_together_are_one_statement_each_answered_as_alone(district: str) -> None:
    features = [case("一", 121.405, 31.305), case("二", 121.42, 31.305), case("坏", major="99"),
                case("三", 121.406, 31.306, source="hotline", status="closed")]
    assert len({write.batch_key(prepared(f)) for f in features[:3]}) == 1  # one NULL pattern: one queue
    with psycopg.connect(district, autocommit=True) as conn:
        (before,) = conn.execute("SELECT count(*) FROM cases").fetchone()
    got, batcher = run_batch(district, features[:3])
    assert (batcher.statements, batcher.features) == (2, 4)  # the three together, then the one after
    with psycopg.connect(district, autocommit=True) as conn:
        (r1, fid1, etag1), (r2, fid2, etag2), (r3, fid3, etag3), (r4, fid4, _) = got
        assert r4 == [] and fid4 not in (fid1, fid2)
        assert r1 == [] and r2 == []
        assert r3 == ["no event type 99/01 in categories"] and fid3 is None and etag3 is None
        rows = {str(r[0]): r[1:] for r in conn.execute(
            "SELECT id, description, unit_grid_code, xmin::text, ST_X(geom), h3_cell IS NOT NULL FROM cases "
            "WHERE description IN ('一', '二', '坏')")}
        assert set(rows) == {fid1, fid2, fid4}  # the refused feature: nothing written
        # each answer names its own feature: the id, the unit grid the trigger assigned, the ETag
        assert rows[fid1][:3] == ("一", "310113003001001", etag1) and rows[fid1][4]
        assert rows[fid2][:3] == ("二", "310113003001002", etag2)
        assert rows[fid2][3] == pytest.approx(121.42)
        same_as_scan(conn)
    # a different NULL pattern (source, status set) is another queue and another statement
    got, batcher = run_batch(district, [features[0], features[3]])
    assert batcher.statements == 3 and all(r[0] == [] for r in got)
    with psycopg.connect(district, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == before + 6
        same_as_scan(conn)


def test_batches_of_a_bounded_size_in_flight_together(district: str) -> None:
    features = [case(f"批{i}", 121.401 + 0.003 * i, 31.305) for i in range(5)]
    got, batcher = run_batch(district, features, max_batch=2, in_flight=2)
    assert (batcher.statements, batcher.features) == (4, 6)  # 2 + 2 + 1, then the one after
    assert all(r[0] == [] for r in got) and len({r[1] for r in got}) == 6
    with psycopg.connect(district, autocommit=True) as conn:
        stored = dict(conn.execute("SELECT id::text, description FROM cases WHERE description LIKE '批%%'").fetchall())
        assert [stored[r[1]] for r in got] == [f["properties"]["description"] for f in features] + ["批0"]
        same_as_scan(conn)


def test_features_with_a_code_are_written_alone() -> None:
    assert write.batch_key(prepared(case("x", code="C-1"))) is None
    assert write.batch_key(prepared(case("x"))) is not None
    component = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.405, 31.305]},
                 "properties": {"id": "3101130030010001", "major": "01", "minor": "01"}}
    p = write.prepare(catalog.get("components"), component, gcrs.resolve(4490))
    assert write.batch_key(p) is None  # an imported id: its answer could not be told from another's


def test_a_statement_failing_as_a_whole_writes_nothing_and_sends_each_alone(district: str, boom: None) -> None:
    with psycopg.connect(district, autocommit=True) as conn:
        (before,) = conn.execute("SELECT count(*) FROM cases").fetchone()
    got, batcher = run_batch(district, [case("好"), case("boom"), case("也好", 121.42, 31.305)])
    assert got[:3] == [ALONE, ALONE, ALONE] and batcher.statements == 1  # (the last: "好" alone, written)
    with psycopg.connect(district, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == before + 1
    # alone, the failing feature's own error reaches its request (the endpoint maps it to a 400)
    with pytest.raises(psycopg.errors.CheckViolation, match="boom refused"):
        run_batch(district, [case("boom")])


def test_concurrent_posts_through_http(district: str, http, api_keys: dict, boom: None) -> None:
    """Sixteen POSTs at once: valid ones 201 with their own feature, refused ones 400 naming their fault
    (a check's or the trigger's), one audit entry per created row, the rollup equal to a scan."""
    key = api_keys["inspector"]
    with psycopg.connect(district, autocommit=True) as conn:
        (start,) = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
        known = {str(r[0]) for r in conn.execute("SELECT id FROM cases")}
    bodies = [case(f"好{i}", 121.401 + 0.002 * i, 31.305) for i in range(12)]
    bodies += [case("坏", major="99"), case("坏", minor="77"), case("boom"), case("boom", 121.42, 31.305)]

    def post(body: dict):
        return body, http.post(CASES, json=body, headers={**auth(key), **GEO})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(post, bodies * 3))
    created = []
    for body, r in answers:
        description = body["properties"]["description"]
        if description.startswith("好"):
            assert r.status_code == 201, r.text
            got = http.get(r.headers["location"])
            assert got.json()["properties"]["description"] == description
            assert got.json()["geometry"]["coordinates"][0] == pytest.approx(body["geometry"]["coordinates"][0])
            assert got.headers["etag"] == r.headers["etag"]
            created.append(r.headers["location"].rsplit("/", 1)[1])
        elif description == "boom":
            assert r.status_code == 400 and "boom refused by a trigger" in r.json()["detail"], r.text
        else:
            assert r.status_code == 400 and "in categories" in r.json()["detail"], r.text
    with psycopg.connect(district, autocommit=True) as conn:
        stored = [str(r[0]) for r in conn.execute("SELECT id FROM cases") if str(r[0]) not in known]
        assert sorted(stored) == sorted(created) and len(created) == 36
        entries = conn.execute("SELECT ids FROM audit_log WHERE action = 'ogc create cases' AND id > %s",
                               (start,)).fetchall()
        assert sorted(str(e[0][0]) for e in entries) == sorted(created)
        same_as_scan(conn)
