"""Muck-truck alarms (issue 16) through real HTTP on the fence engine: 偷倒/乱倒, 未按核准路线 and 夜间/限时禁行
each raised once on a planted violation, and never on a clean trip that stops inside sites, at a traffic
light and in a queue at a site gate. Geometry in metres around (121.40 E, 31.30 N): a 工地 at the origin,
a 消纳场 200 m square centred 3 km east, the permit route along the x axis between them."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fence_kit import alarms, base_time, drive, fence, line, ll, post

SITE_AREA = "SRID=4490;MULTIPOLYGON(((" + ",".join(
    f"{x} {y}" for x, y in (ll(2900, -100), ll(3100, -100), ll(3100, 100), ll(2900, 100), ll(2900, -100))) + ")))"


def _sites(db: psycopg.Connection, *trucks: str) -> None:
    for t in trucks:
        db.execute("INSERT INTO vehicles (id, kind, vehicle_group) VALUES (%s, 'muck', '渣土车队')", (t,))
    x, y = ll(0, 0)
    db.execute("INSERT INTO cw_sites (code, name, kind, permit_from, permit_to, disposal_code, geom) VALUES "
               "('GD1', '某工地', 'construction_site', '2020-01-01', '2099-12-31', 'XN1', "
               "ST_SetSRID(ST_MakePoint(%s, %s), 4490))", (x, y))
    x, y = ll(3000, 0)
    db.execute("INSERT INTO cw_sites (code, name, kind, area, geom) VALUES "
               "('XN1', '某消纳场', 'disposal_site', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))", (SITE_AREA, x, y))


def _permit(http, key: str, code: str, truck: str, **extra) -> dict:
    body = {"code": code, "vehicle_id": truck, "site": "GD1", "disposal": "XN1", "valid_from": "2020-01-01",
            "valid_to": "2099-12-31", "corridor_m": 60, "route": line((0, 0), (3000, 0)), **extra}
    r = http.post("/api/muck/permits", json=body, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    return r.json()


def _still(x: float, y: float, n: int, rnd: random.Random) -> list[tuple[float, float]]:
    return [(x + rnd.uniform(-6, 6), y + rnd.uniform(-6, 6)) for _ in range(n)]


def _leg(x0: float, x1: float, step: float = 300.0) -> list[tuple[float, float]]:
    n = max(1, int(abs(x1 - x0) // step))
    return [(x0 + (x1 - x0) * k / n, 0.0) for k in range(1, n + 1)]


def clean_trip(rnd: random.Random) -> list[tuple[float, float]]:
    """Loads 15 min at the site, a 90 s traffic light, a 12 min queue 100 m before the 消纳场's fence,
    10 min unloading inside it: fixes every 30 s."""
    return (_still(0, 0, 30, rnd) + _leg(0, 1500) + _still(1500, 0, 3, rnd) + _leg(1500, 2800)
            + [(2800 + k, 0) for k in range(24)] + _leg(2800, 3000) + _still(3000, 0, 20, rnd))


def test_a_clean_trip_raises_nothing(clean_db, db, http, api_keys):
    _sites(db, "M1")
    _permit(http, api_keys["planner"], "HZ1", "M1")
    post(http, api_keys["inspector"], drive("M1", base_time(), clean_trip(random.Random(1)), step_s=30))
    assert alarms(http) == []


def test_dumping_stop_on_the_route_raises_illegal_dumping_once(clean_db, db, http, api_keys):
    _sites(db, "M1", "M2")
    _permit(http, api_keys["planner"], "HZ1", "M1")
    _permit(http, api_keys["planner"], "HZ2", "M2")
    rnd = random.Random(2)
    pts = (_still(0, 0, 10, rnd) + _leg(0, 1500) + _still(1500, 0, 30, rnd) + _leg(1500, 3000)
           + _still(3000, 0, 10, rnd))
    t0 = base_time()
    post(http, api_keys["inspector"], drive("M2", t0, pts[:40], step_s=30))
    post(http, api_keys["inspector"], drive("M2", t0 + timedelta(seconds=30 * 40), pts[40:], step_s=30)
         + drive("M1", t0, clean_trip(rnd), step_s=30))
    (a,) = alarms(http)
    assert (a["vehicle_id"], a["kind"], a["label"]) == ("M2", "illegal_dumping", "偷倒/乱倒")
    assert a["end"] is not None and a["max_value"] >= 600


def test_leaving_the_permit_corridor_raises_unapproved_route_once(clean_db, db, http, api_keys):
    _sites(db, "M3")
    permit = _permit(http, api_keys["planner"], "HZ3", "M3")
    detour = [(1200, 150), (1300, 300), (1400, 400), (1500, 400), (1600, 400), (1700, 300), (1800, 150)]
    pts = _still(0, 0, 4, random.Random(3)) + _leg(0, 1200) + detour + _leg(1800, 3000)
    post(http, api_keys["inspector"], drive("M3", base_time(), pts, step_s=30))
    (a,) = alarms(http)
    assert (a["vehicle_id"], a["kind"], a["label"]) == ("M3", "unapproved_route", "未按核准路线")
    assert a["fence_id"] == permit["fence_id"]


def test_restricted_road_in_restricted_hours_raises_once_and_not_out_of_hours(clean_db, db, http, api_keys):
    _sites(db, "M4", "M5")
    t0 = base_time()
    local = t0.astimezone(ZoneInfo("Asia/Shanghai"))
    on = f"{local - timedelta(minutes=30):%H:%M}-{local + timedelta(minutes=30):%H:%M}"
    off = f"{local + timedelta(hours=1):%H:%M}-{local + timedelta(hours=2):%H:%M}"
    road = line((0, 500), (2000, 500))
    f = fence(http, api_keys["planner"], road, kind="forbidden", alarm_kind="restricted_hours", width_m=20,
              vehicles=["M4"], schedule={"hours": [on]})
    fence(http, api_keys["planner"], road, kind="forbidden", alarm_kind="restricted_hours", width_m=20,
          vehicles=["M5"], schedule={"hours": [off]})
    pts = [(100 + i * 100, 500) for i in range(12)] + [(1300, 700)] * 3
    post(http, api_keys["inspector"], drive("M4", t0, pts, step_s=10) + drive("M5", t0, pts, step_s=10))
    (a,) = alarms(http)
    assert (a["vehicle_id"], a["kind"], a["fence_id"], a["label"]) == ("M4", "restricted_hours", f["id"],
                                                                      "夜间/限时禁行")


def test_restricted_hours_fence_needs_its_hours_and_alarm_kinds_fit_fence_kinds(clean_db, http, api_keys):
    key = {"X-API-Key": api_keys["planner"]}
    r = http.post("/api/fences", headers=key, json={"type": "Feature", "geometry": line((0, 0), (100, 0)),
                  "properties": {"kind": "forbidden", "alarm_kind": "restricted_hours"}})
    assert r.status_code == 400 and "schedule" in r.json()["detail"]
    r = http.post("/api/fences", headers=key, json={"type": "Feature", "geometry": line((0, 0), (100, 0)),
                  "properties": {"kind": "corridor", "alarm_kind": "illegal_dumping"}})
    assert r.status_code == 422 and "unapproved_route" in r.json()["detail"]


@pytest.mark.parametrize("change, message", [
    ({"disposal": "GD1"}, "not a 消纳场"),
    ({"vehicle_id": "nope"}, "no vehicle"),
    ({"valid_to": "2019-01-01"}, "before valid_from"),
    ({"route": {"type": "Point", "coordinates": [121.4, 31.3]}}, "LineString"),
])
def test_bad_permits_are_refused_naming_the_problem(clean_db, db, http, api_keys, change, message):
    _sites(db, "M6")
    body = {"code": "HZX", "vehicle_id": "M6", "site": "GD1", "disposal": "XN1", "valid_from": "2020-01-01",
            "valid_to": "2099-12-31", "route": line((0, 0), (3000, 0)), **change}
    r = http.post("/api/muck/permits", json=body, headers={"X-API-Key": api_keys["planner"]})
    assert r.status_code in (400, 404) and message in r.json()["detail"], r.text
    assert db.execute("SELECT count(*) FROM muck_permits").fetchone()[0] == 0


def test_sites_import_with_polygons_and_labels_and_the_sites_fence_follows(clean_db, db, tmp_path, http, api_keys):
    from gis.io.load import import_file

    x0, y0 = ll(0, 0)
    poly = "POLYGON((" + ",".join(f"{x} {y}" for x, y in (ll(2900, -100), ll(3100, -100), ll(3100, 100),
                                                           ll(2900, 100), ll(2900, -100))) + "))"
    path = tmp_path / "sites.csv"
    path.write_text("编码,名称,类型,核准起始日期,核准截止日期,登记消纳场,lon,lat,场地范围\n"
                    f"GD9,某工地,工地,2026-01-01,2026-12-31,XN9,{x0},{y0},\n"
                    f'XN9,某消纳场,消纳场,,,,{ll(3000, 0)[0]},{ll(3000, 0)[1]},"{poly}"\n', encoding="utf-8")
    assert import_file(db, "cw_sites", path).inserted == 2
    assert db.execute("SELECT code, kind, area IS NOT NULL FROM cw_sites ORDER BY code").fetchall() == [
        ("GD9", "construction_site", False), ("XN9", "disposal_site", True)]
    db.execute("INSERT INTO vehicles (id, kind) VALUES ('M9', 'muck')")
    r = http.post("/api/muck/permits", headers={"X-API-Key": api_keys["planner"]}, json={
        "code": "HZ9", "vehicle_id": "M9", "site": "GD9", "disposal": "XN9", "valid_from": "2026-02-01",
        "valid_to": "2026-03-01", "route": line((0, 0), (3000, 0))})
    assert r.status_code == 201, r.text
    # The permit is not valid today: no corridor and no sites fence yet (the 核准 fleet is empty).
    assert r.json()["fence_id"] is None and r.json()["fences"]["sites_fence"] == 0
    r = http.post("/api/muck/permits", headers={"X-API-Key": api_keys["planner"]}, json={
        "code": "HZ10", "vehicle_id": "M9", "site": "GD9", "disposal": "XN9", "valid_from": "2027-02-01",
        "valid_to": "2027-03-01", "route": line((0, 0), (3000, 0))})
    assert r.status_code == 400 and "permit period" in r.json()["detail"]
