"""Fences, routes, ingest rejections, the alarm feed (SSE) and track queries through real HTTP."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fence_kit import add_vehicles, alarms, base_time, drive, fence, fix, line, ll, post, square


def test_alarm_kinds_are_published_with_chinese_labels(http):
    kinds = {k["kind"]: k["label"] for k in http.get("/api/alarms/kinds").json()["kinds"]}
    assert kinds["out_of_area"] == "越区" and kinds["forbidden"] == "禁行" and kinds["off_route"] == "路线偏离"
    more = {"overspeed", "illegal_stay", "missed_stop", "signal_timeout", "cross_district", "late_warning"}
    assert more <= set(kinds)


def test_fence_crud_with_buffer_in_metres(clean_db, db, http, api_keys):
    add_vehicles(db, "v1")
    h = {"X-API-Key": api_keys["planner"]}
    f = fence(http, api_keys["planner"], line((0, 0), (1000, 0)), kind="corridor", buffer_m=50, vehicles=["v1"])
    # 1000 m x 100 m plus two half discs of radius 50 m.
    assert abs(f["properties"]["area_m2"] - (100_000 + 3.14159 * 2500)) < 1500
    got = http.get(f"/api/fences/{f['id']}").json()
    assert got["properties"]["kind"] == "corridor" and got["properties"]["vehicles"] == ["v1"]
    got["properties"]["buffer_m"] = 20
    r = http.put(f"/api/fences/{f['id']}", json=got, headers=h)
    assert r.status_code == 200 and r.json()["properties"]["buffer_m"] == 20
    assert abs(r.json()["properties"]["area_m2"] - (40_000 + 3.14159 * 400)) < 800
    assert http.delete(f"/api/fences/{f['id']}", headers=h).status_code == 204
    assert http.get(f"/api/fences/{f['id']}").status_code == 404


def test_fence_writes_need_a_planner_key(clean_db, http, api_keys):
    body = {"type": "Feature", "geometry": square(100), "properties": {"kind": "area"}}
    assert http.post("/api/fences", json=body).status_code == 401
    assert http.post("/api/fences", json=body, headers={"X-API-Key": api_keys["viewer"]}).status_code == 403


@pytest.mark.parametrize("props, named", [
    ({"kind": "area", "colour": "red"}, "colour"),
    ({"kind": "zone"}, "zone"),
    ({"kind": "area", "windows": ["08:00-09:00"]}, "windows"),
    ({"kind": "area", "debounce": {"fixes": 3, "minutes": 2}}, "minutes"),
    ({"kind": "area", "schedule": {"hours": ["08:00-09:00"], "month": 3}}, "month"),
])
def test_unknown_fence_property_or_kind_is_422_naming_it(clean_db, http, api_keys, props, named):
    r = http.post("/api/fences", json={"type": "Feature", "geometry": square(100), "properties": props},
                  headers={"X-API-Key": api_keys["planner"]})
    assert r.status_code == 422, r.text
    assert named in r.json()["detail"]


def test_bad_fence_values_are_refused(clean_db, http, api_keys):
    h = {"X-API-Key": api_keys["planner"]}
    cases = [
        ({"kind": "stop", "windows": ["08:00-09:00"]}, {"type": "Point", "coordinates": ll(0, 0)}, "radius_m"),
        ({"kind": "forbidden"}, line((0, 0), (100, 0)), "buffer_m"),
        ({"kind": "area"}, line((0, 0), (100, 0)), "Polygon"),
        ({"kind": "area"}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "invalid"),
        ({"kind": "stop", "radius_m": 30, "windows": ["25:00-26:00"]}, {"type": "Point", "coordinates": ll(0, 0)},
         "25:00"),
    ]
    for props, geom, named in cases:
        r = http.post("/api/fences", json={"type": "Feature", "geometry": geom, "properties": props}, headers=h)
        assert r.status_code in (400, 422) and named in r.json()["detail"], (props, r.text)
    assert http.get("/api/fences").json()["features"] == []


def test_rejection_reasons(clean_db, db, http, api_keys):
    add_vehicles(db, "v1")
    now = datetime.now(UTC).replace(microsecond=0)
    t = now - timedelta(hours=2)
    batch = [
        fix("v1", t, 0, 0),
        fix("ghost", t, 0, 0),                                                     # unknown vehicle
        {"vehicle_id": "v1", "ts": (t + timedelta(seconds=5)).isoformat(), "lon": 200.0, "lat": 31.3},
        fix("v1", now + timedelta(hours=2), 0, 0),                                 # future
        fix("v1", now - timedelta(days=3 * 365), 0, 0),                            # years old
        fix("v1", t + timedelta(seconds=10), 50_000, 0),                           # 50 km in 10 s
        fix("v1", t + timedelta(seconds=20), 20, 0),
        fix("v1", t + timedelta(minutes=90), 30_000, 0),                          # 90 min apart: fine
        {"vehicle_id": "v1", "ts": "yesterday", "lon": 121.4, "lat": 31.3},
        {"vehicle_id": "v1", "ts": "2026-01-01T08:00:00", "lon": 121.4, "lat": 31.3},  # no offset
        {"vehicle_id": "v1", "lon": 121.4},
    ]
    r = post(http, api_keys["inspector"], batch)
    assert r["accepted"] == 3 and r["rejected"] == 8, r["errors"]
    by_index = {e["index"]: e["reason"] for e in r["errors"]}
    assert by_index == {1: "unknown_vehicle", 2: "invalid_coordinates", 3: "future_timestamp",
                        4: "stale_timestamp", 5: "impossible_speed", 8: "invalid_timestamp",
                        9: "invalid_timestamp", 10: "invalid_fix"}
    assert db.execute("SELECT count(*) FROM positions").fetchone()[0] == 3


def test_gcj02_fixes_are_stored_in_cgcs2000(clean_db, db, http, api_keys):
    from gis.crs import wgs84_to_gcj02

    add_vehicles(db, "v1")
    lon, lat = ll(0, 0)
    glon, glat = wgs84_to_gcj02(lon, lat)
    post(http, api_keys["inspector"], [{"vehicle_id": "v1", "ts": base_time().isoformat(), "lon": float(glon),
                                        "lat": float(glat), "crs": "GCJ02"}])
    x, y = db.execute("SELECT ST_X(geom), ST_Y(geom) FROM positions").fetchone()
    assert abs(x - lon) < 1e-6 and abs(y - lat) < 1e-6


def test_device_keys_report_only_for_their_vehicles(clean_db, db, http, api_keys):
    add_vehicles(db, "dev-1", "v9")
    t = base_time()
    r = http.post("/api/positions", json=[fix("dev-1", t, 0, 0), fix("v9", t, 0, 0)],
                  headers={"X-API-Key": api_keys["device"]}).json()
    assert r["accepted"] == 1 and r["errors"][0]["reason"] == "vehicle_not_allowed"
    assert http.post("/api/positions", json=[], headers={"X-API-Key": api_keys["viewer"]}).status_code == 403


def _read_sse(url: str, headers: dict[str, str], out: list[dict], want: int, ready: threading.Event) -> None:
    with httpx.Client(timeout=20) as c, c.stream("GET", url, headers=headers) as r:
        ready.set()
        event: dict = {}
        for raw in r.iter_lines():
            if raw.startswith("id:"):
                event["id"] = int(raw[3:].strip())
            elif raw.startswith("data:"):
                event["data"] = json.loads(raw[5:].strip())
            elif raw == "" and "data" in event:
                out.append(event)
                event = {}
                if len(out) >= want:
                    return


def test_sse_delivers_live_alarms_and_replays_after_reconnect(clean_db, db, http, api_keys, live_server):
    add_vehicles(db, "v1")
    fence(http, api_keys["planner"], square(200), kind="area", vehicles=["v1"])
    got: list[dict] = []
    ready = threading.Event()
    reader = threading.Thread(target=_read_sse, args=(f"{live_server}/api/alarms/stream", {}, got, 2, ready))
    reader.start()
    assert ready.wait(10)
    time.sleep(0.3)
    t0 = base_time()
    post(http, api_keys["inspector"], drive("v1", t0, [(0, 0)] * 2 + [(400, 0)] * 8))
    post(http, api_keys["inspector"], drive("v1", t0 + timedelta(seconds=100), [(0, 0)] * 3))
    reader.join(15)
    assert [e["data"]["op"] for e in got] == ["opened", "closed"]
    assert got[0]["data"]["kind"] == "out_of_area" and got[0]["data"]["vehicle_id"] == "v1"
    # Reconnect after the first event: the missed one comes back, by Last-Event-ID.
    again: list[dict] = []
    ready2 = threading.Event()
    _read_sse(f"{live_server}/api/alarms/stream", {"Last-Event-ID": str(got[0]["id"])}, again, 1, ready2)
    assert [e["id"] for e in again] == [got[1]["id"]]
    assert again[0]["data"]["end"] is not None


def test_alarms_filter_and_page_with_next_links(clean_db, db, http, api_keys):
    add_vehicles(db, "v1", "v2")
    fence(http, api_keys["planner"], square(200), kind="area", vehicles=["v1", "v2"])
    t0 = base_time()
    trip = [(0, 0)] * 2 + [(400, 0)] * 8 + [(0, 0)] * 3
    fixes = []
    for k in range(3):
        fixes += drive("v1", t0 + timedelta(minutes=3 * k), trip) + drive("v2", t0 + timedelta(minutes=3 * k), trip)
    post(http, api_keys["inspector"], fixes)
    assert len(alarms(http, vehicle_id="v2")) == 3 and len(alarms(http, kind="out_of_area")) == 6
    assert len(alarms(http, since=(t0 + timedelta(minutes=3)).isoformat())) == 4
    page = http.get("/api/alarms", params={"limit": 4}).json()
    assert page["numberReturned"] == 4 and page["next"]
    rest = http.get(page["next"]).json()
    assert rest["numberReturned"] == 2 and rest["next"] is None
    assert len({a["id"] for a in page["alarms"] + rest["alarms"]}) == 6
    assert http.get("/api/alarms", params={"kind": "nonsense"}).status_code == 400


def test_track_playback_passed_query_and_mileage(clean_db, db, http, api_keys):
    add_vehicles(db, "v1", "v2")
    t0 = base_time()
    post(http, api_keys["inspector"],
         drive("v1", t0, [(i * 100, 0) for i in range(11)]) + drive("v2", t0, [(0, 500 + i * 100) for i in range(5)]))
    tr = http.get("/api/vehicles/v1/track", params={"from": t0.isoformat(),
                                                    "to": (t0 + timedelta(seconds=50)).isoformat()}).json()
    assert tr["geometry"]["type"] == "LineString" and len(tr["geometry"]["coordinates"]) == 6
    assert tr["properties"]["times"][0] == t0.isoformat().replace("+00:00", "Z")
    assert abs(tr["properties"]["length_m"] - 500) < 5
    assert http.get("/api/vehicles/nobody/track").status_code == 404
    # 违规反查: a road segment crossing v1's path between two fixes; v2 is far away.
    seg = ll(450, -50) + ll(450, 50)
    window = {"from": t0.isoformat(), "to": (t0 + timedelta(minutes=5)).isoformat()}
    params = {"segment": ",".join(map(str, seg)), "buffer_m": 10, **window}
    passed = http.get("/api/tracks/passed", params=params).json()
    assert [v["vehicle_id"] for v in passed["vehicles"]] == ["v1"]
    box = ll(-50, 450) + ll(50, 950)
    passed = http.get("/api/tracks/passed", params={"bbox": ",".join(map(str, box)), **window}).json()
    assert [v["vehicle_id"] for v in passed["vehicles"]] == ["v2"]
    late = {"from": (t0 + timedelta(hours=1)).isoformat(), "to": (t0 + timedelta(hours=2)).isoformat()}
    assert http.get("/api/tracks/passed", params={"bbox": ",".join(map(str, box)), **late}).json()["count"] == 0
    from zoneinfo import ZoneInfo

    day = t0.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    stats = http.get("/api/vehicles/v1/stats", params={"date": day}).json()
    assert abs(stats["mileage_km"] - 1.0) < 0.02 and stats["trips"] == 1


def test_stops_and_trips_per_day(clean_db, db, http, api_keys):
    from zoneinfo import ZoneInfo

    add_vehicles(db, "v1")
    pts = [(i * 100, 0) for i in range(10)] + [(900, 0)] * 40 + [(900, i * 100) for i in range(1, 10)]
    t0 = base_time()
    # The ten-minute drive must lie in one district day (the stats count by day): three hours ago is
    # 23:50–00:00 China time when the test runs at 18:50–19:00 UTC.
    if (t0 + timedelta(seconds=10 * len(pts))).astimezone(ZoneInfo("Asia/Shanghai")).date() \
            != t0.astimezone(ZoneInfo("Asia/Shanghai")).date():
        t0 -= timedelta(hours=1)
    post(http, api_keys["inspector"], drive("v1", t0, pts))
    day = t0.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    s = http.get("/api/vehicles/v1/stats", params={"date": day}).json()
    assert len(s["stops"]) == 1 and 390 <= s["stops"][0]["duration_s"] <= 410
    assert s["trips"] == 2 and abs(s["mileage_km"] - 1.8) < 0.03


def _grid_streets(db) -> None:
    """A 3 x 3 grid of streets, 500 m apart, each drawn as one line across (noded by the router)."""
    for i in range(3):
        db.execute("INSERT INTO streets (str_id, name, geom) VALUES (%s, %s, ST_GeomFromText(%s, 4490))",
                   (f"h{i}", f"横{i}路", "LINESTRING({} {}, {} {})".format(*ll(0, i * 500), *ll(1000, i * 500))))
        db.execute("INSERT INTO streets (str_id, name, geom) VALUES (%s, %s, ST_GeomFromText(%s, 4490))",
                   (f"v{i}", f"纵{i}路", "LINESTRING({} {}, {} {})".format(*ll(i * 500, 0), *ll(i * 500, 1000))))


def test_route_from_stops_follows_the_streets_and_creates_fences(clean_db, db, http, api_keys):
    add_vehicles(db, "v1")
    _grid_streets(db)
    h = {"X-API-Key": api_keys["planner"]}
    body = {"name": "一号线", "vehicle_id": "v1", "buffer_m": 25,
            "stops": [{"name": "A", "lon": ll(0, 0)[0], "lat": ll(0, 0)[1], "windows": ["16:00-17:00"]},
                      {"name": "B", "lon": ll(1000, 1000)[0], "lat": ll(1000, 1000)[1]}]}
    r = http.post("/api/routes", json=body, headers=h)
    assert r.status_code == 201, r.text
    route = r.json()
    assert route["planning"] == "network" and abs(route["length_m"] - 2000) < 20   # Manhattan, not 1414
    corridor = route["corridor_fence"]
    assert corridor["properties"]["kind"] == "corridor" and corridor["properties"]["route_id"] == route["id"]
    assert len(route["stop_fences"]) == 1
    # Editing a stop re-plans: B moved to (500, 500).
    body["stops"][1].update(lon=ll(500, 500)[0], lat=ll(500, 500)[1])
    r2 = http.put(f"/api/routes/{route['id']}", json=body, headers=h).json()
    assert abs(r2["length_m"] - 1000) < 20 and r2["corridor_fence_id"] == route["corridor_fence_id"]
    # Planned vs actual: the vehicle drives half the route and skips nothing it was asked to visit.
    t0 = base_time()
    post(http, api_keys["inspector"], drive("v1", t0, [(0, i * 50) for i in range(11)]))
    cmp = http.get(f"/api/routes/{route['id']}/compare",
                   params={"from": t0.isoformat(), "to": (t0 + timedelta(hours=1)).isoformat()}).json()
    assert 0.45 <= cmp["covered_share"] <= 0.56 and cmp["stops_missed"] == [1]
    # every route of the day at once (计划与实际 of the whole fleet): the same answer per route; a route
    # without a vehicle is left out; bad and unknown ids are named
    assert http.post("/api/routes", json={"name": "无车线", "stops": body["stops"]}, headers=h).status_code == 201
    window = {"from": t0.isoformat(), "to": (t0 + timedelta(hours=1)).isoformat()}
    many = http.get("/api/routes/compare", params=window).json()["routes"]
    assert many == [cmp]
    assert http.get("/api/routes/compare", params={**window, "ids": str(route["id"])}).json()["routes"] == [cmp]
    bad = http.get("/api/routes/compare", params={**window, "ids": "1,x"})
    assert bad.status_code == 400 and "'x'" in bad.json()["detail"]
    unknown = http.get("/api/routes/compare", params={**window, "ids": f"{route['id']},987654"})
    assert unknown.status_code == 404 and "987654" in unknown.json()["detail"]
    assert http.post("/api/routes", json={**body, "colour": "red"}, headers=h).status_code == 422


def test_route_without_a_network_falls_back_to_straight_lines(clean_db, db, http, api_keys):
    add_vehicles(db, "v1")
    body = {"name": "临时线", "kind": "temporary", "vehicle_id": "v1",
            "stops": [{"lon": ll(0, 0)[0], "lat": ll(0, 0)[1]}, {"lon": ll(300, 400)[0], "lat": ll(300, 400)[1]}]}
    r = http.post("/api/routes", json=body, headers={"X-API-Key": api_keys["planner"]}).json()
    assert r["planning"] == "straight" and "no street network" in r["note"] and abs(r["length_m"] - 500) < 3


def _metric(http: httpx.Client, name: str, labels: str) -> float:
    for line_ in http.get("/metrics").text.splitlines():
        if line_.startswith(f"{name}{{{labels}}}"):
            return float(line_.rsplit(" ", 1)[1])
    return 0.0


def test_ingest_and_alarms_are_counted_in_metrics(clean_db, db, http, api_keys):
    """Operations watch ingest rates and alarm counts on /metrics."""
    add_vehicles(db, "m1")
    fence(http, api_keys["planner"], square(200), kind="forbidden", vehicles=["m1"])
    accepted = _metric(http, "citygrid_fixes_total", 'result="accepted"')
    opened = _metric(http, "citygrid_alarm_events_total", 'kind="forbidden",op="opened"')
    t0 = base_time()
    inside = [(float(10 * i - 50), 0.0) for i in range(11)]  # 100 s inside: well past the debounce
    fixes = drive("m1", t0, [(-100.0, 0.0), *inside, (100.0, 0.0), (150.0, 0.0)], step_s=10.0)
    answer = post(http, api_keys["admin"], fixes)
    assert answer["accepted"] == len(fixes)
    assert _metric(http, "citygrid_fixes_total", 'result="accepted"') == accepted + len(fixes)
    assert _metric(http, "citygrid_alarm_events_total", 'kind="forbidden",op="opened"') >= opened + 1


def test_passed_plans_agree_on_crossings_gaps_and_margins(clean_db, db, http, api_keys):
    """违规反查 has two exact plans (a window over every fix near the area; per-fix look-ups of the previous
    fix for a box filling most of its near box): both give the same vehicles, first/last times and counts
    inside — fixes inside, moves across between fixes, moves across after a gap of more than 5 minutes
    (not counted), previous fixes in the margin — and the API answers what they answer."""
    import random

    from gis.tracks import queries

    rng = random.Random(19)
    ids = [f"w{i}" for i in range(24)]
    add_vehicles(db, *ids)
    t0 = base_time()
    fixes = []
    for n, v in enumerate(ids):
        e, no = rng.uniform(-1500, 1500), rng.uniform(-1500, 1500)
        t = t0 + timedelta(seconds=n)
        for _ in range(40):
            fixes.append(fix(v, t, e, no))
            # long jumps: many moves cross a small box with no fix inside it; some after a 6-minute gap
            e, no = e + rng.uniform(-700, 700), no + rng.uniform(-700, 700)
            t += timedelta(seconds=rng.choice([10, 30, 60, 360]))
    post(http, api_keys["inspector"], fixes)
    start, end = t0 - timedelta(minutes=1), t0 + timedelta(hours=5)
    params = {"a": start, "b": end, "buf": 25.0}
    boxes = [(-9000, -9000, 9000, 9000), (-300, -300, 300, 300), (-60, -60, 60, 60), (200, -900, 260, 900)]
    crossing_only = 0
    for x0, y0, x1, y1 in boxes:
        (ax, ay), (bx, by) = ll(x0, y0), ll(x1, y1)
        p = dict(params, x0=ax, y0=ay, x1=bx, y1=by)
        area = "ST_SetSRID(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4490), 4490)"
        window = db.execute(queries.PASSED_WINDOW.format(area=area, near=queries.NEAR_DEG), p).fetchall()
        probe = db.execute(queries.PASSED_PROBE.format(area=area, near=queries.NEAR_DEG), p).fetchall()
        assert sorted(window) == sorted(probe)
        crossing_only += sum(1 for r in window if r[3] == 0)
        api = http.get("/api/tracks/passed", params={"bbox": f"{ax},{ay},{bx},{by}", "from": start.isoformat(),
                                                     "to": end.isoformat()}).json()
        assert sorted((v["vehicle_id"], v["fixes_inside"]) for v in api["vehicles"]) \
            == sorted((r[0], r[3]) for r in window)
    assert crossing_only > 0  # the data do exercise moves across a box with no fix inside
    # the big box fills most of its near box: the API takes the look-up plan there
    (ax, ay), (bx, by) = ll(-9000, -9000), ll(9000, 9000)
    assert queries._fill_ratio([ax, bx], [ay, by]) >= 0.75
    (ax, ay), (bx, by) = ll(-60, -60), ll(60, 60)
    assert queries._fill_ratio([ax, bx], [ay, by]) < 0.75
