"""Cameras, IoT devices and "what is near here" (issue 15): camera import checks, nearest against a
brute-force geodesic sort (any CRS in), camera coverage against PostGIS computed directly, device
readings -> alarms with debouncing and recovery, similar-case scoring."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from pyproj import Geod

from gis import crs as gcrs
from gis.cases import similar as sim
from gis.devices import ingest as dev
from gis.errors import ImportRejected
from gis.io.load import import_file
from layers import coverage as cov

GEOD = Geod(ellps="GRS80")
CAM = "31011300081310000{:03d}"
DEV = "31011300081320000{:03d}"


def add_camera(db: psycopg.Connection, n: int, x: float, y: float, direction: float, fov: float, rng_m: float,
               state: str = "online", kind: str = "bullet") -> str:
    cid = CAM.format(n)
    db.execute("INSERT INTO cameras (id, device_code, name, kind, direction_deg, fov_deg, range_m, state, "
               "stream_url, geom) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
               (cid, DEV.format(n), f"cam{n}", kind, direction, fov, rng_m, state, f"/test/{n}.m3u8", x, y))
    return cid


def offset(x: float, y: float, az: float, dist: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(x, y, az, dist)
    return lon, lat


# -- import ----------------------------------------------------------------------------------------


def _csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _row(n: int, **kw) -> dict:
    base = {"通道编码": CAM.format(n), "设备编码": DEV.format(n), "名称": f"点位{n}", "类型": "枪机",
            "朝向": 90, "视场角": 60, "可视距离": 50, "lon": 121.405, "lat": 31.305, "播放地址": f"/hls/{n}.m3u8"}
    return {**base, **kw}


def test_camera_import_refuses_bad_codes_and_angles(grid_district, tmp_path):
    path = _csv(tmp_path / "bad.csv", [
        _row(1),
        _row(2, 通道编码="3101130008131000002"),            # 19 digits
        _row(3, 设备编码="31011300082160000003"),           # type 216: a group, not a device
        _row(4, 视场角=400),                                # angle out of range
        _row(5, 朝向=-10),
        _row(6, 通道编码="99999900081310000006"),           # region not loaded
    ])
    before = grid_district.execute("SELECT count(*) FROM cameras").fetchone()[0]
    with pytest.raises(ImportRejected) as exc:
        import_file(grid_district, "cameras", path)
    assert grid_district.execute("SELECT count(*) FROM cameras").fetchone()[0] == before
    reasons = {r["row"]: " | ".join(r["reasons"]) for r in exc.value.rows}
    assert set(reasons) == {2, 3, 4, 5, 6}
    assert "20 digits" in reasons[2] and "channel code" in reasons[2]
    assert "type segment 216" in reasons[3] and "device code" in reasons[3]
    assert "view angle 400" in reasons[4]
    assert "view direction -10" in reasons[5]
    assert "region segment 999999" in reasons[6]


def test_camera_import_good_file_draws_sector(grid_district, tmp_path):
    path = _csv(tmp_path / "good.csv", [_row(1, 状态=""), _row(2, 类型="球机", 视场角=360, 可视距离=80, 状态="离线")])
    report = import_file(grid_district, "cameras", path)
    assert report.inserted == 2
    rows = grid_district.execute(
        "SELECT id, kind, state, GeometryType(sector), ST_Area(sector::geography), stream_url FROM cameras ORDER BY id"
    ).fetchall()
    assert rows[0][:4] == (CAM.format(1), "bullet", "online", "POLYGON")
    assert rows[0][4] == pytest.approx(np.pi * 50 ** 2 * 60 / 360, rel=0.02)
    assert rows[1][1:3] == ("dome", "offline")
    assert rows[1][4] == pytest.approx(np.pi * 80 ** 2, rel=0.02)


# -- nearest ---------------------------------------------------------------------------------------


@pytest.fixture
def scattered(grid_district):
    """300 cameras scattered over the grid district (some offline, various fov), seed fixed."""
    rng = np.random.default_rng(15)
    pts = []
    for n in range(300):
        x, y = float(rng.uniform(121.40, 121.44)), float(rng.uniform(31.30, 31.32))
        state = "offline" if rng.random() < 0.2 else "online"
        fov = float(rng.choice([60.0, 90.0, 360.0]))
        add_camera(grid_district, n, x, y, float(rng.uniform(0, 359)), fov, 50.0, state)
        pts.append((CAM.format(n), x, y, state, fov))
    return pts


def brute(pts, x, y, k, keep=lambda p: True, radius=None):
    d = [(GEOD.inv(x, y, p[1], p[2])[2], p[0]) for p in pts if keep(p)]
    d.sort()
    if radius is not None:
        d = [t for t in d if t[0] <= radius]
    return d[:k]


@pytest.mark.parametrize("crs", [None, "EPSG:4549", "GCJ02", "EPSG:4326"])
def test_nearest_equals_brute_force_in_any_crs(scattered, http, crs):
    rng = np.random.default_rng(7)
    for _ in range(5):
        x, y = float(rng.uniform(121.40, 121.44)), float(rng.uniform(31.30, 31.32))
        qx, qy = (x, y) if crs is None else map(float, (v[0] for v in gcrs.from_storage([x], [y], crs)))
        params = {"layer": "cameras", "lon": qx, "lat": qy, "k": 10}
        if crs:
            params["crs"] = crs
        r = http.get("/api/nearest", params=params)
        assert r.status_code == 200, r.text
        got = [(f["properties"]["distance_m"], f["id"]) for f in r.json()["features"]]
        want = brute(scattered, x, y, 10)
        assert [g[1] for g in got] == [w[1] for w in want]
        assert [g[0] for g in got] == pytest.approx([w[0] for w in want], abs=0.6 if crs == "GCJ02" else 0.05)


def test_nearest_filters_radius_and_cql(scattered, http):
    x, y = 121.42, 31.31
    r = http.get("/api/nearest", params={"layer": "cameras", "lon": x, "lat": y, "k": 50, "state": "online",
                                         "radius_m": 600})
    got = [f["id"] for f in r.json()["features"]]
    assert got == [w[1] for w in brute(scattered, x, y, 50, lambda p: p[3] == "online", 600)]
    assert all(f["properties"]["state"] == "online" for f in r.json()["features"])
    r = http.get("/api/nearest", params={"layer": "cameras", "lon": x, "lat": y, "k": 7,
                                         "filter": "fov_deg > 100 AND state = 'online'"})
    assert [f["id"] for f in r.json()["features"]] == [
        w[1] for w in brute(scattered, x, y, 7, lambda p: p[4] > 100 and p[3] == "online")]
    r = http.get("/api/nearest", params={"layer": "cameras", "lon": x, "lat": y, "category": "bullet", "k": 3})
    assert [f["id"] for f in r.json()["features"]] == [w[1] for w in brute(scattered, x, y, 3)]
    r = http.get("/api/nearest", params={"layer": "cameras", "lon": x, "lat": y, "category": "dome", "k": 3})
    assert r.json()["features"] == []


def test_nearest_refuses_bad_input(grid_district, http):
    r = http.get("/api/nearest", params={"layer": "unit_grids", "lon": 121.41, "lat": 31.31})
    assert r.status_code == 400 and "not a point layer" in r.json()["detail"]
    r = http.get("/api/nearest", params={"layer": "nope", "lon": 121.41, "lat": 31.31})
    assert r.status_code == 404
    r = http.get("/api/nearest", params={"layer": "cameras", "lon": 121.41, "lat": 31.31, "colour": "red"})
    assert r.status_code == 400 and "colour" in r.json()["detail"]
    r = http.get("/api/nearest", params={"layer": "cameras", "lon": 121.41, "lat": 31.31, "k": 0})
    assert r.status_code in (400, 422)


# -- coverage --------------------------------------------------------------------------------------

A = (121.405, 31.305)      # drop point in community 310113003001, watched by an online camera
B = (121.415, 31.305)      # drop point in 310113003001, its camera offline
C = (121.43, 31.315)       # drop point in 310113004001, no camera near
DOME = (121.43, 31.305)    # online dome (360°, 100 m) on the road in 310113004001


@pytest.fixture
def covered(grid_district):
    db = grid_district
    for code, (x, y) in (("DP-A", A), ("DP-B", B), ("DP-C", C)):
        db.execute("INSERT INTO waste_facilities (code, name, kind, geom) VALUES (%s, %s, 'drop_point', "
                   "ST_SetSRID(ST_MakePoint(%s, %s), 4490))", (code, code, x, y))
    add_camera(db, 1, *offset(*A, 180, 20), 0, 90, 50)                      # 20 m south of A, looking north
    add_camera(db, 2, *offset(*B, 0, 15), 180, 60, 40, state="offline")     # looks at B, but offline
    add_camera(db, 3, *DOME, 0, 360, 100, kind="dome")
    add_camera(db, 4, *offset(*C, 90, 30), 90, 60, 50)                       # 30 m east of C looking east: misses C
    db.execute("INSERT INTO zones (zone_id, name, geom) VALUES "
               "('Z1', '甲小区', ST_Multi(ST_MakeEnvelope(121.4045, 31.3049, 121.4055, 31.3056, 4490))), "
               "('Z2', '乙小区', ST_Multi(ST_MakeEnvelope(121.435, 31.312, 121.438, 31.316, 4490)))")
    db.execute("INSERT INTO streets (str_id, name, geom) VALUES "
               "('S1', '甲路', ST_GeomFromText('LINESTRING(121.425 31.305, 121.4395 31.305)', 4490)), "
               "('S2', '乙路', ST_GeomFromText('LINESTRING(121.401 31.3015, 121.419 31.3015)', 4490))")
    return db


def test_coverage_against_postgis_directly(covered):
    db = covered
    # expected, computed by PostGIS without the sectors: distance and azimuth for the wedge cameras,
    # a geography buffer for the dome
    in_wedge = db.execute(
        """SELECT w.code FROM waste_facilities w JOIN cameras c ON c.state = 'online'
           WHERE ST_Distance(w.geom::geography, c.geom::geography) <= c.range_m
             AND (c.fov_deg >= 360 OR abs(((degrees(ST_Azimuth(c.geom::geography, w.geom::geography))
                                           - c.direction_deg + 540)::numeric % 360) - 180) <= c.fov_deg / 2)""",
    ).fetchall()
    assert [r[0] for r in in_wedge] == ["DP-A"]
    road_total, road_cov = db.execute(
        """SELECT ST_Length(s.geom::geography),
                  ST_Length(ST_Intersection(s.geom, ST_SetSRID(ST_Buffer(
                      ST_SetSRID(ST_MakePoint(%s, %s), 4490)::geography, 100)::geometry, 4490))::geography)
           FROM streets s WHERE s.str_id = 'S1'""", DOME).fetchone()
    assert road_cov == pytest.approx(200, rel=0.01)
    s2 = db.execute("SELECT ST_Length(geom::geography) FROM streets WHERE str_id = 'S2'").fetchone()[0]

    fc = cov.coverage(db, level="community")
    by = {f["id"]: f["properties"] for f in fc["features"]}
    sw, east = by["310113003001"], by["310113004001"]
    assert sw["drop_points"] == {"total": 2, "covered": 1, "share": 0.5}
    assert east["drop_points"] == {"total": 1, "covered": 0, "share": 0.0}
    assert sw["compounds"] == {"total": 1, "covered": 1, "share": 1.0}
    assert east["compounds"] == {"total": 1, "covered": 0, "share": 0.0}
    assert east["roads"]["total_m"] == pytest.approx(road_total, abs=0.2)
    assert east["roads"]["covered_m"] == pytest.approx(road_cov, abs=0.5)
    assert sw["roads"] == {"total_m": pytest.approx(s2, abs=0.2), "covered_m": 0.0, "share": 0.0}
    assert by["310113003002"]["drop_points"]["share"] is None
    assert fc["district"]["drop_points"] == {"total": 3, "covered": 1, "share": pytest.approx(1 / 3, abs=1e-4)}
    streets = {f["id"]: f["properties"] for f in cov.coverage(db, level="street")["features"]}
    assert streets["310113003"]["drop_points"] == {"total": 2, "covered": 1, "share": 0.5}
    assert streets["310113004"]["roads"]["covered_m"] == pytest.approx(road_cov, abs=0.5)
    # an offline camera no longer counts: taking camera 1 offline uncovers A and Z1
    db.execute("UPDATE cameras SET state = 'offline' WHERE id = %s", (CAM.format(1),))
    sw = {f["id"]: f["properties"] for f in cov.coverage(db)["features"]}["310113003001"]
    assert sw["drop_points"]["covered"] == 0 and sw["compounds"]["covered"] == 0


def test_coverage_http_choropleth(covered, http):
    r = http.get("/api/cameras/coverage", params={"level": "community", "measure": "drop_points"})
    assert r.status_code == 200
    body = r.json()
    assert body["legend"] and all(f["properties"]["color"].startswith("#") for f in body["features"])
    assert http.get("/api/cameras/coverage", params={"level": "town"}).status_code == 400


# -- devices ---------------------------------------------------------------------------------------

T0 = datetime(2026, 6, 1, 8, tzinfo=UTC)


@pytest.fixture
def devices(grid_district):
    db = grid_district
    db.execute("INSERT INTO devices (id, name, kind, offline_after_s, geom) VALUES "
               "('BIN1', '满溢1', 'overflow', 3600, ST_SetSRID(ST_MakePoint(121.405, 31.305), 4490)), "
               "('ENV1', '环境1', 'environment', 3600, ST_SetSRID(ST_MakePoint(121.425, 31.305), 4490))")
    return db


def _send(db, device, metric, values, start=T0, step_min=10, now=None):
    body = [{"device_id": device, "ts": (start + timedelta(minutes=step_min * i)).isoformat(), "metric": metric,
             "value": v} for i, v in enumerate(values)]
    return dev.ingest(db, body, now=now or start + timedelta(minutes=step_min * len(values)))


def _alarms(db, device):
    return db.execute("SELECT kind, metric, start, \"end\", max_value FROM device_alarms WHERE device_id = %s "
                      "ORDER BY start", (device,)).fetchall()


def test_readings_debounce_open_and_recover(devices):
    db = devices
    first_event = db.execute("SELECT coalesce(max(id), 0) FROM alarm_events").fetchone()[0]
    # a single spike does not open (debounce 2); 80 is in the hysteresis band and resets the run
    ans, events = _send(db, "BIN1", "fill_pct", [50, 95, 60, 92, 80, 93, 40])
    assert ans["accepted"] == 7 and ans["alarms"] == 0 and _alarms(db, "BIN1") == []
    # two in a row open it, starting at the first of them
    ans, events = _send(db, "BIN1", "fill_pct", [95, 97], start=T0 + timedelta(hours=2))
    assert ans["alarms"] == 1
    (kind, metric, start, end, peak), = _alarms(db, "BIN1")
    assert (kind, metric, start, end, peak) == ("overflow", "fill_pct", T0 + timedelta(hours=2), None, 97)
    assert [e["op"] for e in events] == ["opened"] and events[0]["source"] == "device"
    assert db.execute("SELECT state, (last_values->>'fill_pct')::float FROM devices WHERE id = 'BIN1'").fetchone() == (
        "alarm", 97)
    # one low reading does not recover; 75 (between 70 and 90) resets; two below 70 close it
    _send(db, "BIN1", "fill_pct", [99, 65, 75, 65], start=T0 + timedelta(hours=3))
    assert _alarms(db, "BIN1")[0][3] is None
    ans, events = _send(db, "BIN1", "fill_pct", [60], start=T0 + timedelta(hours=4))
    (_, _, _, end, peak), = _alarms(db, "BIN1")
    assert end == T0 + timedelta(hours=4) and peak == 99 and [e["op"] for e in events] == ["closed"]
    assert db.execute("SELECT state FROM devices WHERE id = 'BIN1'").fetchone()[0] == "normal"
    # events are in the one alarm feed
    ops = db.execute("SELECT op, payload->>'device_id', payload->>'label' FROM alarm_events WHERE id > %s "
                     "ORDER BY id", (first_event,)).fetchall()
    assert ops == [("opened", "BIN1", "满溢"), ("closed", "BIN1", "满溢")]


def test_readings_rejections_duplicates_and_offline(devices):
    db = devices
    now = T0 + timedelta(minutes=30)
    body = [
        {"device_id": "ENV1", "ts": T0.isoformat(), "values": {"pm25": 40, "noise_db": 55}},
        {"device_id": "ENV1", "ts": T0.isoformat(), "values": {"pm25": 40}},                  # duplicate
        {"device_id": "NOPE", "ts": T0.isoformat(), "metric": "pm25", "value": 1},
        {"device_id": "ENV1", "ts": "yesterday", "metric": "pm25", "value": 1},
        {"device_id": "ENV1", "ts": (now + timedelta(hours=1)).isoformat(), "metric": "pm25", "value": 1},
        {"device_id": "BIN1", "ts": T0.isoformat(), "metric": "pm25", "value": 1},
        {"device_id": "BIN1", "ts": T0.isoformat(), "metric": "fill_pct", "value": "full"},
    ]
    ans, _ = dev.ingest(db, body, now=now)
    assert ans["accepted"] == 2 and ans["duplicates"] == 1
    assert {e["index"]: e["reason"] for e in ans["errors"]} == {
        2: "unknown_device", 3: "invalid_timestamp", 4: "future_timestamp", 5: "unknown_metric", 6: "invalid_reading"}
    assert db.execute("SELECT count(*) FROM device_readings").fetchone()[0] == 2
    # silent for more than an hour: 离线, closed by the next reading
    events = dev.sweep_offline(db, T0 + timedelta(hours=2))
    assert [(e["op"], e["kind"], e["device_id"]) for e in events] == [("opened", "offline", "ENV1")]
    assert db.execute("SELECT state FROM devices WHERE id = 'ENV1'").fetchone()[0] == "offline"
    assert dev.sweep_offline(db, T0 + timedelta(hours=3)) == []          # not raised twice
    ans, events = dev.ingest(db, [{"device_id": "ENV1", "ts": (T0 + timedelta(hours=3)).isoformat(),
                                   "metric": "pm25", "value": 30}], now=T0 + timedelta(hours=3))
    assert [(e["op"], e["kind"]) for e in events] == [("closed", "offline")]
    assert db.execute("SELECT state FROM devices WHERE id = 'ENV1'").fetchone()[0] == "normal"


def test_readings_over_http_need_a_key(devices, http, api_keys):
    body = [{"device_id": "BIN1", "ts": datetime.now(UTC).isoformat(), "metric": "fill_pct", "value": 20}]
    assert http.post("/api/devices/readings", json=body).status_code == 401
    r = http.post("/api/devices/readings", json=body, headers={"X-API-Key": api_keys["inspector"]})
    assert r.status_code == 200 and r.json()["accepted"] == 1
    r = http.post("/api/devices/readings", content=b"{not json", headers={"X-API-Key": api_keys["inspector"]})
    assert r.status_code == 400
    state = http.get("/api/devices/BIN1/state").json()
    assert state["last_values"] == {"fill_pct": 20.0} and state["state"] == "normal"


# -- similar cases ---------------------------------------------------------------------------------


def test_similar_case_scoring(grid_district):
    db = grid_district
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    x, y = 121.405, 31.305
    rows = [  # (code, minor, hours before, metres east, closed)
        ("C1", "01", 2, 10, False),     # near and recent: a probable duplicate
        ("C2", "01", 48, 80, False),    # within the window, weak
        ("C3", "01", 100, 10, False),   # too old
        ("C4", "01", 1, 150, False),    # too far
        ("C5", "02", 1, 5, False),      # another subclass
        ("C6", "01", 1, 5, True),       # closed
    ]
    for code, minor, hours, east, closed in rows:
        px, py = offset(x, y, 90, east)
        db.execute("INSERT INTO cases (code, kind, major, minor, reported_at, closed_at, geom) VALUES "
                   "(%s, 'event', '01', %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
                   (code, minor, at - timedelta(hours=hours), at if closed else None, px, py))
    found = sim.similar(db, kind="event", major="01", minor="01", at=at, lon=x, lat=y)
    assert [c["code"] for c in found] == ["C1", "C2"]
    c1, c2 = found
    assert c1["score"] == pytest.approx(0.6 * (1 - 10 / 100) + 0.4 * (1 - 2 / 72), abs=2e-3)
    assert c2["score"] == pytest.approx(0.6 * (1 - 80 / 100) + 0.4 * (1 - 48 / 72), abs=2e-3)
    assert c1["probable_duplicate"] and not c2["probable_duplicate"]
    # after the fact: a stored case sees C1 as its probable duplicate (not itself)
    px, py = offset(x, y, 0, 3)
    new_id = db.execute("INSERT INTO cases (code, kind, major, minor, reported_at, geom) VALUES "
                        "('N1', 'event', '01', '01', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490)) RETURNING id",
                        (at, px, py)).fetchone()[0]
    dups = sim.duplicates_of(db, [new_id])
    assert [c["code"] for c in dups[new_id]] == ["C1"]
    with pytest.raises(Exception, match="radius_m"):
        sim.similar(db, kind="event", major="01", minor="01", at=at, lon=x, lat=y, w=sim.Window(radius_m=-1))


def test_case_import_flags_probable_duplicates(grid_district, tmp_path):
    db = grid_district
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    db.execute("INSERT INTO cases (code, kind, major, minor, reported_at, geom) VALUES "
               "('OLD1', 'event', '01', '01', %s, ST_SetSRID(ST_MakePoint(121.405, 31.305), 4490))",
               (at - timedelta(hours=1),))
    near = offset(121.405, 31.305, 45, 8)
    path = _csv(tmp_path / "cases.csv", [
        {"案件编号": "NEW1", "大类": "01", "小类": "01", "上报时间": at.isoformat(), "lon": near[0], "lat": near[1]},
        {"案件编号": "NEW2", "大类": "01", "小类": "03", "上报时间": at.isoformat(), "lon": near[0], "lat": near[1]},
    ])
    report = import_file(db, "cases", path)
    assert report.inserted == 2
    flagged = [w for w in report.warnings if "probable duplicate" in w]
    assert len(flagged) == 1 and flagged[0].startswith("row 1:") and "OLD1" in flagged[0]


def test_similar_cases_over_http(grid_district, http):
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    grid_district.execute("INSERT INTO cases (code, kind, major, minor, reported_at, geom) VALUES "
                          "('H1', 'event', '01', '01', %s, ST_SetSRID(ST_MakePoint(121.405, 31.305), 4490))",
                          (at - timedelta(hours=3),))
    x, y = gcrs.from_storage([121.4051], [31.3051], "EPSG:4549")
    r = http.get("/api/cases/similar", params={"major": "01", "minor": "01", "lon": float(x[0]), "lat": float(y[0]),
                                               "crs": "EPSG:4549", "at": at.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["code"] for c in body["similar"]] == ["H1"] and body["probable_duplicates"] == [body["similar"][0]["id"]]
    assert body["similar"][0]["distance_m"] == pytest.approx(GEOD.inv(121.405, 31.305, 121.4051, 31.3051)[2], abs=0.5)
    assert http.get("/api/cases/similar", params={"major": "1", "minor": "01", "lon": 0, "lat": 0}).status_code == 400
