"""OGC API – Moving Features Part 1 over the vehicle tracks: the collection, vehicles as moving features,
tgsequence (equal to the stored track; datetime, subTrajectory, leaf, paging) and tproperties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from ogc_data import load

MF = "/ogc/collections/vehicle_tracks"
V = "沪C00003"
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)   # 2026-03-02 08:00 local; 120 fixes, one each 30 s


def fixes() -> list[tuple[datetime, float, float, float, float]]:
    """A track crossing a month boundary would span partitions: this one spans two days' hours."""
    out = []
    for i in range(120):
        out.append((T0 + timedelta(seconds=30 * i), 121.40 + 0.0001 * i, 31.30 + 0.00005 * i, 10.0 + i % 7,
                    float((i * 3) % 360)))
    return out


@pytest.fixture
def ogc(clean_db: str, http: httpx.Client) -> httpx.Client:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        load(conn)
        conn.execute("INSERT INTO vehicles (id, plate, kind) VALUES (%s, %s, 'sweeper')", (V, V))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO positions (vehicle_id, ts, geom, speed_kmh, heading) "
                            "VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490), %s, %s)",
                            [(V, t, x, y, s, h) for t, x, y, s, h in fixes()])
    return http


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_the_collection_is_listed_and_declared(ogc: httpx.Client) -> None:
    listed = {c["id"]: c for c in ogc.get("/ogc/collections").json()["collections"]}
    assert listed["vehicle_tracks"]["itemType"] == "movingfeature"
    assert ogc.get(MF).json() == listed["vehicle_tracks"]
    conf = ogc.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-movingfeatures-1/1.0/conf/movingfeatures" in conf
    paths = ogc.get("/ogc/api").json()["paths"]
    assert "/ogc/collections/vehicle_tracks/items/{feature_id}/tgsequence" in paths


def test_items_are_vehicles_with_fixes_filtered_by_bbox_and_datetime(ogc: httpx.Client) -> None:
    doc = ogc.get(f"{MF}/items").json()
    assert {f["id"] for f in doc["features"]} == {"沪A00001", V}   # 沪B00002 has no fix
    one = next(f for f in doc["features"] if f["id"] == V)
    assert one["time"] == [iso(T0), iso(T0 + timedelta(seconds=30 * 119))]
    box = ogc.get(f"{MF}/items", params={"bbox": "121.4005,31.3,121.402,31.31"}).json()
    assert [f["id"] for f in box["features"]] == [V]
    window = ogc.get(f"{MF}/items", params={"datetime": "2026-03-01T07:00:00Z/2026-03-01T09:00:00Z"}).json()
    assert [f["id"] for f in window["features"]] == ["沪A00001"]
    sub = ogc.get(f"{MF}/items", params={"datetime": f"{iso(T0)}/{iso(T0 + timedelta(minutes=2))}",
                                         "subTrajectory": "true"}).json()
    (feature,) = sub["features"]
    assert feature["temporalGeometry"]["datetimes"] == [iso(T0 + timedelta(seconds=30 * i)) for i in range(5)]


def test_tgsequence_equals_the_stored_track(ogc: httpx.Client, db: psycopg.Connection) -> None:
    r = ogc.get(f"{MF}/items/{V}/tgsequence")
    assert r.status_code == 200, r.text
    doc = r.json()
    (seq,) = doc["geometrySequence"]
    assert seq["type"] == "MovingPoint" and seq["interpolation"] == "Linear"
    rows = db.execute("SELECT ts, ST_X(geom), ST_Y(geom) FROM positions WHERE vehicle_id = %s ORDER BY ts",
                      (V,)).fetchall()
    assert seq["datetimes"] == [iso(t) for t, _, _ in rows]
    assert seq["coordinates"] == [[x, y] for _, x, y in rows]


def test_datetime_window_subtrajectory_and_leaf_interpolate_linearly(ogc: httpx.Client) -> None:
    lo, hi = T0 + timedelta(seconds=45), T0 + timedelta(seconds=135)   # between fixes 1-2 and 4-5
    plain = ogc.get(f"{MF}/items/{V}/tgsequence", params={"datetime": f"{iso(lo)}/{iso(hi)}"}).json()
    assert plain["geometrySequence"][0]["datetimes"] == [iso(T0 + timedelta(seconds=s)) for s in (60, 90, 120)]
    sub = ogc.get(f"{MF}/items/{V}/tgsequence",
                  params={"datetime": f"{iso(lo)}/{iso(hi)}", "subTrajectory": "true"}).json()["geometrySequence"][0]
    assert sub["datetimes"][0] == iso(lo) and sub["datetimes"][-1] == iso(hi) and len(sub["datetimes"]) == 5
    assert sub["coordinates"][0] == pytest.approx([121.40015, 31.300075])    # halfway between fixes 1 and 2
    assert sub["coordinates"][-1] == pytest.approx([121.40045, 31.300225])
    leaf = ogc.get(f"{MF}/items/{V}/tgsequence",
                   params={"leaf": f"{iso(T0 + timedelta(seconds=15))},{iso(T0 + timedelta(seconds=60))}"}).json()
    pts = leaf["geometrySequence"][0]
    assert pts["coordinates"] == [pytest.approx([121.40005, 31.300025]), pytest.approx([121.4002, 31.3001])]
    outside = ogc.get(f"{MF}/items/{V}/tgsequence", params={"leaf": "2020-01-01T00:00:00Z"}).json()
    assert outside["geometrySequence"] == []


def test_tgsequence_pages_by_next_links(ogc: httpx.Client) -> None:
    url, seen = f"{MF}/items/{V}/tgsequence?limit=50", []
    while url:
        doc = ogc.get(url).json()
        if doc["geometrySequence"]:
            seen += doc["geometrySequence"][0]["datetimes"]
        url = next((lk["href"] for lk in doc["links"] if lk["rel"] == "next"), None)
    assert seen == [iso(t) for t, *_ in fixes()]


def test_tproperties_speed_and_heading(ogc: httpx.Client) -> None:
    doc = ogc.get(f"{MF}/items/{V}/tproperties").json()
    assert {p["name"] for p in doc["temporalProperties"]} == {"speed", "heading"}
    speed = ogc.get(f"{MF}/items/{V}/tproperties/speed", params={"limit": 10}).json()
    assert speed["valueSequence"][0]["values"] == [10.0 + i % 7 for i in range(10)]
    assert any(lk["rel"] == "next" for lk in speed["links"])
    assert ogc.get(f"{MF}/items/{V}/tproperties/colour").status_code == 404


@pytest.mark.parametrize(("path", "params", "status"), [
    (f"{MF}/items/nosuch/tgsequence", {}, 404),
    (f"{MF}/items/{V}/tgsequence", {"datetime": "../.."}, 400),
    (f"{MF}/items/{V}/tgsequence", {"subTrajectory": "true"}, 400),
    (f"{MF}/items/{V}/tgsequence", {"subTrajectory": "maybe"}, 400),
    (f"{MF}/items/{V}/tgsequence", {"leaf": "soon"}, 400),
    (f"{MF}/items/{V}/tgsequence", {"frob": "1"}, 400),
])
def test_errors(ogc: httpx.Client, path: str, params: dict, status: int) -> None:
    r = ogc.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.json()["detail"]
