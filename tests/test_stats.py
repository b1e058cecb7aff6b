"""Case and alarm statistics (`/api/stats/*`) against SQL over the layer-tests district, and scenes."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest
from http_auth import auth

RANGE = {"from": "2024-01-01", "to": "2024-01-31"}

#: grouping -> SQL giving (key…, count) over the cases of January 2024 (local time)
SQL = {
    "source": "SELECT source, count(*) FROM cases c {w} GROUP BY 1",
    "kind": "SELECT kind, count(*) FROM cases c {w} GROUP BY 1",
    "category": "SELECT major, minor, count(*) FROM cases c {w} GROUP BY 1, 2",
    "major": "SELECT major, count(*) FROM cases c {w} GROUP BY 1",
    "minor": "SELECT major, minor, count(*) FROM cases c {w} GROUP BY 1, 2",
    "street": "SELECT left(unit_grid_code, 9), count(*) FROM cases c {w} GROUP BY 1",
    "community": "SELECT left(unit_grid_code, 12), count(*) FROM cases c {w} GROUP BY 1",
    "unit_grid": "SELECT unit_grid_code, count(*) FROM cases c {w} GROUP BY 1",
    "eval_grid": "SELECT u.eval_code, count(*) FROM cases c LEFT JOIN unit_grids u ON u.code = c.unit_grid_code "
                 "{w} GROUP BY 1",
    "status": "SELECT status, count(*) FROM cases c {w} GROUP BY 1",
}
JAN = ("WHERE c.reported_at >= '2024-01-01T00:00:00+08:00' AND c.reported_at < '2024-02-01T00:00:00+08:00'")
KEYS = {"category": ("major", "minor"), "minor": ("major", "minor")}


def _strip(v: object) -> object:
    return v.strip() if isinstance(v, str) else v


@pytest.mark.parametrize("group", list(SQL))
def test_case_counts_equal_sql_and_add_up_to_ogc(layers_district: psycopg.Connection, http, group: str) -> None:
    r = http.get("/api/stats/cases", params={"group": group, **RANGE})
    assert r.status_code == 200, r.text
    body = r.json()
    keys = KEYS.get(group, (group,))
    got = {tuple(row[k] for k in keys): row["count"] for row in body["rows"]}
    want = {tuple(_strip(v) for v in row[:-1]): row[-1]
            for row in layers_district.execute(SQL[group].format(w=JAN)).fetchall()}
    assert got == want
    ogc = http.get("/ogc/collections/cases/items", params={"datetime": "2024-01-01/2024-01-31", "limit": 1}).json()
    assert sum(got.values()) == body["total"] == ogc["numberMatched"] == 162
    assert abs(sum(row["share"] for row in body["rows"]) - 1) < 1e-4


def test_several_groups_and_periods(layers_district: psycopg.Connection, http) -> None:
    r = http.get("/api/stats/cases", params={"group": ["source", "street"], "period": "week", **RANGE})
    body = r.json()
    want = Counter()
    for src, street, week, n in layers_district.execute(
            "SELECT source, left(unit_grid_code, 9), (date_trunc('week', reported_at AT TIME ZONE "
            f"'Asia/Shanghai'))::date::text, count(*) FROM cases c {JAN} GROUP BY 1, 2, 3").fetchall():
        want[(src, street, week)] = n
    got = {(row["source"], row["street"], row["period"]): row["count"] for row in body["rows"]}
    assert got == dict(want)
    assert body["labels"]["source"]["hotline"] == "12345 热线"
    assert body["labels"]["street"]["310113001"] == "西街道"


def test_compare_mom_and_yoy(layers_district: psycopg.Connection, http) -> None:
    db = layers_district
    # December 2023 (环比 of January) and January 2023 (同比), in local time.
    db.execute("INSERT INTO cases (major, minor, source, reported_at, geom) SELECT '01', '01', 'hotline', "
               "make_timestamptz(2023, 12, 1 + i % 28, 9, 0, 0, 'Asia/Shanghai'), "
               "ST_SetSRID(ST_MakePoint(121.41, 31.31), 4490) FROM generate_series(1, 30) i")
    db.execute("INSERT INTO cases (major, minor, source, reported_at, geom) SELECT '01', '01', 'camera', "
               "make_timestamptz(2023, 1, 1 + i % 28, 9, 0, 0, 'Asia/Shanghai'), "
               "ST_SetSRID(ST_MakePoint(121.41, 31.31), 4490) FROM generate_series(1, 7) i")
    mom = http.get("/api/stats/cases", params={"group": "source", "period": "month", "compare": "mom",
                                               **RANGE}).json()
    rows = {r["source"]: r for r in mom["rows"]}
    assert rows["hotline"]["previous"] == 30
    jan_hotline = db.execute(f"SELECT count(*) FROM cases c {JAN} AND source = 'hotline'").fetchone()[0]
    assert rows["hotline"]["count"] == jan_hotline
    assert rows["hotline"]["change"] == pytest.approx((jan_hotline - 30) / 30, abs=1e-5)
    assert rows["supervisor"]["previous"] == 0 and rows["supervisor"]["change"] is None
    assert all(r["period"] == "2024-01-01" for r in mom["rows"])
    yoy = http.get("/api/stats/cases", params={"group": "source", "compare": "yoy", **RANGE}).json()
    rows = {r["source"]: r for r in yoy["rows"]}
    assert rows["camera"]["previous"] == 7 and rows["hotline"]["previous"] == 0
    assert yoy["previous_total"] == 7
    day = http.get("/api/stats/cases", params={"period": "day", "compare": "mom", **RANGE}).json()
    d = {r["period"]: r for r in day["rows"]}
    assert d["2024-01-01"]["previous"] == db.execute(
        "SELECT count(*) FROM cases WHERE reported_at >= '2023-12-31T00:00+08' AND reported_at < '2024-01-01T00:00+08'"
    ).fetchone()[0]


def test_filters_top_and_cache_follows_writes(layers_district: psycopg.Connection, http) -> None:
    db = layers_district
    top = http.get("/api/stats/cases", params={"group": "unit_grid", "limit": 1, **RANGE}).json()
    best = db.execute(f"SELECT unit_grid_code, count(*) FROM cases c {JAN} AND unit_grid_code IS NOT NULL "
                      "GROUP BY 1 ORDER BY 2 DESC LIMIT 1").fetchone()
    assert [(r["unit_grid"], r["count"]) for r in top["rows"]] == [best]
    area = http.get("/api/stats/cases", params={"area": "310113002", "category": "02", **RANGE}).json()
    assert area["total"] == db.execute(f"SELECT count(*) FROM cases c {JAN} AND unit_grid_code LIKE '310113002%' "
                                       "AND major = '02'").fetchone()[0]
    before = http.get("/api/stats/cases", params={"group": "status", **RANGE}).json()["total"]
    db.execute("INSERT INTO cases (major, minor, source, reported_at, geom) VALUES ('01', '01', 'app', "
               "'2024-01-15T10:00+08', ST_SetSRID(ST_MakePoint(121.41, 31.31), 4490))")
    after = http.get("/api/stats/cases", params={"group": "status", **RANGE}).json()
    assert after["total"] == before + 1


@pytest.mark.parametrize("params", [{"group": "colour"}, {"period": "decade"}, {"compare": "yoy"},
                                    {"compare": "wow", **RANGE}, {"area": "31x"}, {"category": "1"}])
def test_bad_parameters_are_4xx(layers_district: psycopg.Connection, http, params: dict) -> None:
    r = http.get("/api/stats/cases", params=params)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["detail"]


def test_alarm_counts_equal_sql(layers_district: psycopg.Connection, http) -> None:
    db = layers_district
    db.execute("INSERT INTO vehicles (id, plate, kind) VALUES ('V1', '沪A1', 'muck'), ('V2', '沪A2', 'muck')")
    db.execute("INSERT INTO streets (str_id, name, geom) VALUES ('S1', '西路', "
               "'SRID=4490;LINESTRING(121.41 31.30, 121.41 31.40)')")
    db.execute("INSERT INTO alarms (kind, vehicle_id, start, \"end\", geom) SELECT "
               "(ARRAY['overspeed', 'forbidden', 'off_route'])[1 + i % 3], 'V' || (1 + i % 2), "
               "make_timestamptz(2024, 1, 1 + i % 28, 8, i, 0, 'Asia/Shanghai'), "
               "CASE WHEN i % 4 = 0 THEN NULL ELSE make_timestamptz(2024, 1, 1 + i % 28, 9, 0, 0, 'Asia/Shanghai') "
               "END, ST_SetSRID(ST_MakePoint(121.41 + (i % 5) * 0.0002, 31.32), 4490) FROM generate_series(1, 50) i")
    body = http.get("/api/stats/alarms", params={"group": ["kind", "vehicle"], **RANGE}).json()
    want = {(k, v): n for k, v, n in db.execute(
        "SELECT kind, vehicle_id, count(*) FROM alarms GROUP BY 1, 2").fetchall()}
    assert {(r["kind"], r["vehicle"]): r["count"] for r in body["rows"]} == want
    assert body["labels"]["kind"]["overspeed"] == "超速"
    road = http.get("/api/stats/alarms", params={"group": "road", **RANGE}).json()
    # within ~50 m of 西路: offsets 0 … 0.0008° east; 0.0005° is the reach
    near = db.execute("SELECT count(*) FROM alarms WHERE ST_DWithin(geom, "
                      "'SRID=4490;LINESTRING(121.41 31.30, 121.41 31.40)'::geometry, 0.0005)").fetchone()[0]
    assert {r["road"]: r["count"] for r in road["rows"]} == {"西路": near, None: 50 - near}
    state = http.get("/api/stats/alarms", params={"group": "state", "state": "open", **RANGE}).json()
    assert state["total"] == db.execute('SELECT count(*) FROM alarms WHERE "end" IS NULL').fetchone()[0]


def test_scenes_planner_writes_everyone_reads(clean_db: str, http, api_keys: dict[str, str]) -> None:
    spec = {"layers": ["cases", "vehicles"], "basemap": "dark", "view": {"center": [121.45, 31.35], "zoom": 13}}
    body = {"slug": "sanitation", "name": "环卫作业", "department": "环卫", "spec": spec}
    assert http.post("/api/scenes", json=body).status_code == 401
    assert http.post("/api/scenes", json=body, headers=auth(api_keys["viewer"])).status_code == 403
    r = http.post("/api/scenes", json=body, headers=auth(api_keys["planner"]))
    assert r.status_code == 201, r.text
    assert http.post("/api/scenes", json=body, headers=auth(api_keys["planner"])).status_code == 409
    assert http.get("/api/scenes/sanitation").json()["spec"] == spec
    assert [s["name"] for s in http.get("/api/scenes").json()["scenes"]] == ["环卫作业"]
    r = http.put("/api/scenes/sanitation", json={"name": "环卫"}, headers=auth(api_keys["planner"]))
    assert r.json()["name"] == "环卫" and r.json()["spec"] == spec
    bad = http.post("/api/scenes", json={**body, "slug": "x", "spec": {"view": {"center": [500, 0], "zoom": 3}}},
                    headers=auth(api_keys["planner"]))
    assert bad.status_code == 400 and "view" in bad.json()["detail"]
    assert http.delete("/api/scenes/sanitation", headers=auth(api_keys["planner"])).status_code == 204
    assert http.get("/api/scenes/sanitation").status_code == 404


def test_rollup_follows_inserts_updates_deletes(layers_district: psycopg.Connection, http) -> None:
    db = layers_district
    reference = ("SELECT dim, day, val, n FROM (" + db.execute(
        "SELECT case_stats_rows('SELECT reported_at, source, kind, major, minor, status, unit_grid_code, 1 AS s "
        "FROM cases', (SELECT tz FROM case_stats_zone))").fetchone()[0] + ") t")

    def same() -> None:
        want = set(db.execute(reference).fetchall())
        got = set(db.execute("SELECT dim, day, val, sum(n) FROM case_stats_rollup "
                             "GROUP BY 1, 2, 3 HAVING sum(n) <> 0").fetchall())
        assert got == want

    same()
    db.execute("UPDATE cases SET source = 'app', status = 'closed' WHERE id % 3 = 0")
    db.execute("UPDATE cases SET reported_at = reported_at + interval '20 hours' WHERE id % 5 = 0")
    db.execute("UPDATE cases SET geom = ST_SetSRID(ST_MakePoint(121.46, 31.37), 4490) WHERE id % 7 = 0")
    db.execute("DELETE FROM cases WHERE id % 11 = 0")
    same()
    # the API's rollup answer (whole days) equals a scan of the cases (a range starting at a time of day)
    whole = http.get("/api/stats/cases", params={"group": "street", "period": "day", "from": "2024-01-01",
                                                 "to": "2024-01-31"}).json()
    scan = http.get("/api/stats/cases", params={"group": "street", "period": "day", "from": "2023-12-31T23:59:59.999",
                                                "to": "2024-01-31"}).json()
    assert whole["rows"] == scan["rows"]
    # a range over several months: whole months from the monthly rows of the grids, the ends from the days
    db.execute("INSERT INTO cases (major, minor, source, reported_at, geom) SELECT '01', '01', 'hotline', "
               "timestamptz '2023-11-15T12:00+08' + i * interval '29 hours', "
               "ST_SetSRID(ST_MakePoint(121.41 + (i % 9) * 0.01, 31.31 + (i % 7) * 0.01), 4490) "
               "FROM generate_series(1, 80) i")
    same()
    for group, period in (("unit_grid", "month"), ("eval_grid", None), ("unit_grid", "quarter")):
        p = {"group": group, "to": "2024-02-05"}
        if period:
            p["period"] = period
        whole = http.get("/api/stats/cases", params={**p, "from": "2023-11-10"}).json()
        scan = http.get("/api/stats/cases", params={**p, "from": "2023-11-09T23:59:59.999"}).json()
        assert whole["rows"] == scan["rows"] and whole["total"] > 100
    db.execute("TRUNCATE cases CASCADE")
    assert db.execute("SELECT count(*) FROM (SELECT 1 FROM case_stats_rollup GROUP BY dim, day, val "
                      "HAVING sum(n) <> 0) t").fetchone()[0] == 0
