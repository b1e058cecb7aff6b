"""Area scope (issue 17, part 3): a key limited to a street sees, counts, tiles and writes only what lies
inside it, on every read path of the OpenAPI document; unscoped keys and anonymous reads are unchanged.

The expected features are computed here from PostGIS, independently of the server's SQL: for each
collection the stored rows with their code and `ST_Intersects(geom, street)`, decided by the catalog's
declaration (the code where the row has one, else the geometry; vehicles and alarms through the
fleets' areas).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
import scope_world
from scope_world import OTHER, STREET

from gis import catalog
from gis.security.keys import create_key

TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture
def world(clean_db: str, http: httpx.Client) -> Iterator[dict[str, str]]:
    """The two-street world and its keys: street viewer/planner/inspector, an unscoped viewer."""
    with psycopg.connect(clean_db, autocommit=True) as conn:
        scope_world.load(conn)
        keys = {
            "street": create_key(conn, "street-viewer", "viewer", area=STREET)[1],
            "street_planner": create_key(conn, "street-planner", "planner", area=STREET)[1],
            "street_inspector": create_key(conn, "street-inspector", "inspector", area=STREET)[1],
            "all": create_key(conn, "city-viewer", "viewer")[1],
        }
    yield keys


def get(http: httpx.Client, key: str | None, path: str, **params: object) -> httpx.Response:
    return http.get(path, params=params, headers={"X-API-Key": key} if key else {})


# -- what PostGIS says is inside -------------------------------------------------------------------------


def expected_ids(db: psycopg.Connection, layer: catalog.Layer, street: str = STREET) -> set[str]:
    """Ids of `layer`'s features inside `street`, from the stored rows (not from the server's condition)."""
    s = layer.scope
    if s.vehicle:
        vehicles = {r[0] for r in db.execute(
            "SELECT v.id FROM vehicles v JOIN fleet_areas f ON f.fleet = v.vehicle_group "
            "WHERE f.area_code LIKE %s", (street + "%",))}
        rows = db.execute(f"SELECT {layer.id_sql}::text, t.{s.vehicle} FROM {layer.from_sql} "
                          f"WHERE {layer.base_where}").fetchall()
        return {r[0] for r in rows if r[1] in vehicles}
    code = f"t.{s.code}::text" if s.code else "NULL::text"
    rows = db.execute(
        f"SELECT {layer.id_sql}::text, {code}, "
        f"coalesce(ST_Intersects({layer.geom_sql}, (SELECT geom FROM admin_areas WHERE code = %s)), false) "
        f"FROM {layer.from_sql} WHERE {layer.base_where}", (street,)).fetchall()
    out = set()
    for fid, value, intersects in rows:
        decided_by_code = value is not None and len(street) <= s.digits
        if (value.startswith(street) if decided_by_code else intersects):
            out.add(fid)
    return out


def all_ids(db: psycopg.Connection, layer: catalog.Layer) -> set[str]:
    return {r[0] for r in db.execute(f"SELECT {layer.id_sql}::text FROM {layer.from_sql} WHERE {layer.base_where}")}


# -- the read paths -------------------------------------------------------------------------------------


def check_items(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """Every collection: exactly the features inside, numberMatched equal to them, also when paged."""
    excluded_somewhere = 0
    for layer in catalog.published():
        inside = expected_ids(db, layer)
        doc = get(http, keys["street"], f"/ogc/collections/{layer.id}/items", limit=1000).json()
        got = {str(f["id"]) for f in doc["features"]}
        assert got == inside, (layer.id, got ^ inside)
        assert doc["numberMatched"] == len(inside), layer.id
        paged = get(http, keys["street"], f"/ogc/collections/{layer.id}/items", limit=1).json()
        assert paged["numberMatched"] == len(inside), layer.id
        everything = get(http, keys["all"], f"/ogc/collections/{layer.id}/items", limit=1000).json()
        assert {str(f["id"]) for f in everything["features"]} == all_ids(db, layer), layer.id
        excluded_somewhere += len(all_ids(db, layer) - inside)
    assert excluded_somewhere >= 20  # the world puts something outside in most collections


def check_item(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """A feature outside the street does not exist for the scoped key (404); inside ones answer."""
    for layer in catalog.published():
        inside, every = expected_ids(db, layer), all_ids(db, layer)
        for fid in sorted(every - inside)[:2]:
            assert get(http, keys["street"], f"/ogc/collections/{layer.id}/items/{fid}").status_code == 404
            assert get(http, keys["all"], f"/ogc/collections/{layer.id}/items/{fid}").status_code == 200
        for fid in sorted(inside)[:1]:
            assert get(http, keys["street"], f"/ogc/collections/{layer.id}/items/{fid}").status_code == 200


def _tiles_over_both_streets(z: int) -> list[morecantile.Tile]:
    return list(TMS.tiles(121.40, 31.30, 121.50, 31.35, [z]))


def check_tiles(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """MVT tiles over both streets, decoded: a scoped tile holds no feature outside the street (by id,
    where tiles carry ids), and never more features than the unscoped one."""
    for layer in catalog.published():
        if not layer.tiles:
            continue
        inside, every = expected_ids(db, layer), all_ids(db, layer)
        z = max(layer.min_zoom, 15 if layer.tile_summary else 12)
        seen: set[str] = set()
        for t in _tiles_over_both_streets(z):
            url = f"/ogc/collections/{layer.id}/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}"
            scoped = get(http, keys["street"], url)
            assert scoped.status_code in (200, 204), (layer.id, scoped.text)
            if scoped.status_code == 200:
                assert scoped.headers["cache-control"] in ("private, max-age=60", "no-cache"), layer.id
                assert "X-API-Key" in scoped.headers["vary"]
                feats = mapbox_vector_tile.decode(scoped.content).get(layer.id, {"features": []})["features"]
                for f in feats:
                    fid = f["properties"].get("id", f.get("id"))
                    if fid is not None:
                        seen.add(str(fid))
        assert seen <= inside, (layer.id, seen - inside)
        if layer.id in ("components", "cases", "waste_facilities", "pois"):
            assert seen, layer.id  # the check saw features at all
        assert not (seen & (every - inside))
        if layer.tile_cluster_by:  # clustered tiles count only the street's points
            counted = 0
            for t in _tiles_over_both_streets(12):
                url = f"/ogc/collections/{layer.id}/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}"
                r = get(http, keys["street"], url, cluster=14)
                assert r.status_code in (200, 204), (layer.id, r.text)
                if r.status_code == 200:
                    counted += sum(f["properties"]["point_count"]
                                   for f in mapbox_vector_tile.decode(r.content)[layer.id]["features"])
            assert counted == len(inside & _positioned(db, layer)) > 0, layer.id


def check_heat(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """Heat of each source: the scoped total is the number of the source's points inside."""
    for source in ("cases", "components", "waste_facilities", "pois", "doorplates", "shops", "vehicles"):
        layer = catalog.get(source)
        doc = get(http, keys["street"], "/api/layers/heat", source=source, bbox="121.39,31.29,121.51,31.36",
                  resolution=9, weight="count").json()
        assert doc["total"]["count"] == len(expected_ids(db, layer) & _positioned(db, layer)), source
        every = get(http, keys["all"], "/api/layers/heat", source=source, bbox="121.39,31.29,121.51,31.36",
                    resolution=9, weight="count").json()
        assert every["total"]["count"] == len(_positioned(db, layer)), source


def _positioned(db: psycopg.Connection, layer: catalog.Layer) -> set[str]:
    return {r[0] for r in db.execute(f"SELECT {layer.id_sql}::text FROM {layer.from_sql} "
                                     f"WHERE {layer.base_where} AND {layer.geom_sql} IS NOT NULL")}


def check_flows(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    inside = sum(r[0] for r in db.execute(
        "SELECT tonnes FROM waste_records w WHERE ST_Intersects(w.geom, (SELECT geom FROM admin_areas "
        "WHERE code = %s))", (STREET,)))
    params = {"source": "kitchen", "from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
    doc = get(http, keys["street"], "/api/layers/flows", **params).json()
    assert doc["total_tonnes"] == pytest.approx(inside) and inside > 0
    every = get(http, keys["all"], "/api/layers/flows", **params).json()
    assert every["total_tonnes"] > inside


def check_case_stats(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    window = {"from": "2025-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}
    doc = get(http, keys["street"], "/api/stats/cases", group="status", **window).json()
    inside = expected_ids(db, catalog.get("cases"))
    assert doc["total"] == len(inside) == sum(r["count"] for r in doc["rows"])
    ogc = get(http, keys["street"], "/ogc/collections/cases/items",
              datetime="2025-01-01T00:00:00Z/2027-01-01T00:00:00Z", limit=1).json()
    assert ogc["numberMatched"] == doc["total"]  # the stats total = OGC numberMatched, scoped alike
    assert get(http, keys["all"], "/api/stats/cases", group="status", **window).json()["total"] > doc["total"]


def check_alarm_stats(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    doc = get(http, keys["street"], "/api/stats/alarms", group="vehicle").json()
    assert doc["total"] == len(expected_ids(db, catalog.get("alarms")))
    assert {r["vehicle"] for r in doc["rows"]} == {"沪A00001"}
    assert get(http, keys["all"], "/api/stats/alarms", group="vehicle").json()["total"] > doc["total"]


def check_alarms(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    doc = get(http, keys["street"], "/api/alarms").json()
    inside = expected_ids(db, catalog.get("alarms"))
    assert {str(a["id"]) for a in doc["alarms"]} == inside and inside
    assert len(get(http, keys["all"], "/api/alarms").json()["alarms"]) > len(inside)


def check_alarm(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    layer = catalog.get("alarms")
    for fid in all_ids(db, layer) - expected_ids(db, layer):
        assert get(http, keys["street"], f"/api/alarms/{fid}").status_code == 404
        assert get(http, keys["all"], f"/api/alarms/{fid}").status_code == 200
    for fid in expected_ids(db, layer):
        assert get(http, keys["street"], f"/api/alarms/{fid}").status_code == 200


def check_track(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    window = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
    assert get(http, keys["street"], "/api/vehicles/沪B00002/track", **window).status_code == 404
    assert get(http, keys["all"], "/api/vehicles/沪B00002/track", **window).status_code == 200
    assert get(http, keys["street"], "/api/vehicles/沪A00001/track", **window).status_code == 200


def check_vehicle_stats(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    assert get(http, keys["street"], "/api/vehicles/沪B00002/stats", date="2026-03-01").status_code == 404
    assert get(http, keys["all"], "/api/vehicles/沪B00002/stats", date="2026-03-01").status_code == 200


def check_passed(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    params = {"bbox": "121.39,31.29,121.51,31.36", "from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
    scoped = {v["vehicle_id"] for v in get(http, keys["street"], "/api/tracks/passed", **params).json()["vehicles"]}
    every = {v["vehicle_id"] for v in get(http, keys["all"], "/api/tracks/passed", **params).json()["vehicles"]}
    assert scoped == {"沪A00001"} and every == {"沪A00001", "沪B00002"}


def check_fences(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    layer = catalog.get("fences")
    inside = expected_ids(db, layer)
    got = {str(f["id"]) for f in get(http, keys["street"], "/api/fences").json()["features"]}
    assert got == inside and all_ids(db, layer) - inside


def check_fence(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    layer = catalog.get("fences")
    for fid in all_ids(db, layer) - expected_ids(db, layer):
        assert get(http, keys["street"], f"/api/fences/{fid}").status_code == 404


def check_nearest(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """The nearest features from a point of the other street: only inside ones, however far."""
    for layer_id in ("cases", "components", "waste_facilities", "pois"):
        inside = expected_ids(db, catalog.get(layer_id))
        doc = get(http, keys["street"], "/api/nearest", layer=layer_id, lon=121.47, lat=31.31, k=50).json()
        assert {str(f["id"]) for f in doc["features"]} == inside, layer_id
        every = get(http, keys["all"], "/api/nearest", layer=layer_id, lon=121.47, lat=31.31, k=50).json()
        assert len(every["features"]) > len(inside), layer_id


def check_routes(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    inside = expected_ids(db, catalog.get("routes"))
    assert {str(r["id"]) for r in get(http, keys["street"], "/api/routes").json()["routes"]} == inside and inside
    assert len(get(http, keys["all"], "/api/routes").json()["routes"]) > len(inside)


def check_route(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    layer = catalog.get("routes")
    for fid in all_ids(db, layer) - expected_ids(db, layer):
        assert get(http, keys["street"], f"/api/routes/{fid}").status_code == 404
        assert get(http, keys["all"], f"/api/routes/{fid}").status_code == 200


def check_route_compare(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    layer = catalog.get("routes")
    window = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
    for fid in all_ids(db, layer) - expected_ids(db, layer):
        assert get(http, keys["street"], f"/api/routes/{fid}/compare", **window).status_code == 404
        assert get(http, keys["all"], f"/api/routes/{fid}/compare", **window).status_code == 200


def check_routes_compare(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """All routes at once: a scoped key gets the routes inside its area (with a vehicle), and naming one
    outside it is a 404 as for one route."""
    layer = catalog.get("routes")
    window = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
    with_vehicle = {str(r[0]) for r in db.execute("SELECT id FROM routes WHERE vehicle_id IS NOT NULL")}
    inside = expected_ids(db, layer) & with_vehicle
    got = {str(r["route_id"]) for r in get(http, keys["street"], "/api/routes/compare", **window).json()["routes"]}
    assert got == inside and inside
    assert {str(r["route_id"]) for r in get(http, keys["all"], "/api/routes/compare", **window).json()["routes"]} \
        == all_ids(db, layer) & with_vehicle != inside
    for fid in all_ids(db, layer) - expected_ids(db, layer):
        assert get(http, keys["street"], "/api/routes/compare", ids=fid, **window).status_code == 404


def check_device_alarms(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    inside = expected_ids(db, catalog.get("devices"))
    got = {a["device_id"] for a in get(http, keys["street"], "/api/devices/alarms").json()["alarms"]}
    assert got == inside == {"DEV1"}
    assert {a["device_id"] for a in get(http, keys["all"], "/api/devices/alarms").json()["alarms"]} == {"DEV1", "DEV2"}


def check_device_state(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    assert get(http, keys["street"], "/api/devices/DEV2/state").status_code == 404
    assert get(http, keys["all"], "/api/devices/DEV2/state").status_code == 200
    assert get(http, keys["street"], "/api/devices/DEV1/state").status_code == 200


def check_permits(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    inside = expected_ids(db, catalog.get("muck_permits"))
    got = {str(p["id"]) for p in get(http, keys["street"], "/api/muck/permits").json()["permits"]}
    assert got == inside and len(inside) == 1
    assert len(get(http, keys["all"], "/api/muck/permits").json()["permits"]) == 2


def check_similar(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """Earlier cases near a point of the other street: the scoped key is told of none."""
    params = {"major": "01", "minor": "01", "lon": 121.4701, "lat": 31.3201, "at": "2026-01-12T05:00:00Z"}
    assert [c["code"] for c in get(http, keys["all"], "/api/cases/similar", **params).json()["similar"]] == ["C4"]
    assert get(http, keys["street"], "/api/cases/similar", **params).json()["similar"] == []


def check_shop(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    assert get(http, keys["street"], "/api/shops/SH2").status_code == 404
    assert get(http, keys["all"], "/api/shops/SH2").status_code == 200
    assert get(http, keys["street"], "/api/shops/SH1").status_code == 200


def check_choropleth(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """Only the street's communities, counting only its (coded) cases."""
    window = {"from": "2025-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}
    doc = get(http, keys["street"], "/api/layers/choropleth", level="community", **window).json()
    assert {f["id"] for f in doc["features"]} == {STREET + "001"}
    coded = {r[0] for r in db.execute("SELECT id::text FROM cases WHERE unit_grid_code LIKE %s", (STREET + "%",))}
    assert sum(f["properties"]["cases"] for f in doc["features"]) == len(coded) > 0
    every = get(http, keys["all"], "/api/layers/choropleth", level="community", **window).json()
    assert {f["id"] for f in every["features"]} == {STREET + "001", OTHER + "001"}


def check_shop_areas(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    doc = get(http, keys["street"], "/api/shops/areas", day="2026-03-01").json()
    assert [a["code"] for a in doc["areas"]] == ["Q001"] and doc["totals"]["shops"] == 1
    every = get(http, keys["all"], "/api/shops/areas", day="2026-03-01").json()
    assert sorted(a["code"] for a in every["areas"]) == ["Q001", "Q002"]


# -- grids, geocoding, coverage, evaluation draws -------------------------------------------------------


def _in_street(db: psycopg.Connection, lon: float, lat: float, street: str = STREET) -> bool:
    return db.execute("SELECT ST_Intersects(ST_SetSRID(ST_MakePoint(%s, %s), 4490), geom) FROM admin_areas "
                      "WHERE code = %s", (lon, lat, street)).fetchone()[0]


INSIDE_PT, OUTSIDE_PT = (121.41, 31.305), (121.47, 31.305)  # on 淞滨路 in the street; at 泗塘路8号 outside


def check_geocode(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """A street's key finds the street's addresses and none elsewhere (no match, not an error)."""
    for q in ("泗塘路8号", "淞滨路100号", "泗塘路", "淞滨路"):
        every = get(http, keys["all"], "/api/geocode", q=q, limit=20).json()["features"]
        scoped = get(http, keys["street"], "/api/geocode", q=q, limit=20).json()["features"]
        assert every, q
        want = [f["properties"]["standard_address"] for f in every if _in_street(db, *f["geometry"]["coordinates"])]
        assert [f["properties"]["standard_address"] for f in scoped] == want, q
    assert get(http, keys["street"], "/api/geocode", q="泗塘路8号").json()["features"] == []
    assert get(http, keys["street"], "/api/geocode", q="淞滨路100号").json()["features"]


def check_geocode_batch(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    body = "id,address\n1,泗塘路8号\n2,淞滨路100号\n".encode()

    def run(key: str) -> list[dict]:
        r = http.post("/api/geocode/batch", content=body, headers={"X-API-Key": key, "Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        return [json.loads(line) for line in r.text.splitlines()]
    every, scoped = run(keys["all"]), run(keys["street"])
    assert every[0]["geometry"] and not _in_street(db, *every[0]["geometry"]["coordinates"])
    assert scoped[0]["geometry"] is None and scoped[0]["properties"]["match_level"] is None
    assert scoped[1] == every[1] and _in_street(db, *scoped[1]["geometry"]["coordinates"])


def check_reverse(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    assert not _in_street(db, *OUTSIDE_PT) and _in_street(db, *INSIDE_PT)
    lon, lat = OUTSIDE_PT
    assert get(http, keys["all"], "/api/reverse", lon=lon, lat=lat).status_code == 200
    r = get(http, keys["street"], "/api/reverse", lon=lon, lat=lat)
    assert r.status_code == 404 and "吴淞街道 (310113003)" in r.json()["detail"], r.text
    lon, lat = INSIDE_PT
    doc = get(http, keys["street"], "/api/reverse", lon=lon, lat=lat).json()
    assert doc == get(http, keys["all"], "/api/reverse", lon=lon, lat=lat).json()
    assert _in_street(db, *doc["properties"]["address_point"])


def check_locate(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """Outside the street: answered as outside everything; inside: as for anyone. Also the bulk POST."""
    out = get(http, keys["street"], "/api/grids/locate", lon=OUTSIDE_PT[0], lat=OUTSIDE_PT[1]).json()
    assert out["outside"] is True and out.get("street") is None and out.get("unit_grid") is None
    assert not out.get("work_grids") and out.get("district") is None
    every = get(http, keys["all"], "/api/grids/locate", lon=OUTSIDE_PT[0], lat=OUTSIDE_PT[1]).json()
    assert every["street"]["code"] == OTHER
    inside = get(http, keys["street"], "/api/grids/locate", lon=INSIDE_PT[0], lat=INSIDE_PT[1]).json()
    assert inside == get(http, keys["all"], "/api/grids/locate", lon=INSIDE_PT[0], lat=INSIDE_PT[1]).json()
    assert inside["street"]["code"] == STREET
    pts = [list(OUTSIDE_PT), list(INSIDE_PT), [121.48, 31.32]]
    bulk = http.post("/api/grids/locate", json=pts, headers={"X-API-Key": keys["street"]}).json()
    assert [b["outside"] for b in bulk] == [not _in_street(db, *p) for p in pts] == [True, False, True]
    assert bulk[1] == inside and bulk[2].get("street") is None


def check_census(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """Only the admin areas inside the street (admin_areas' scope), each with its own figures."""
    inside = expected_ids(db, catalog.get("admin_areas"))
    for level in ("district", "street", "community"):
        levels = {r[0] for r in db.execute("SELECT code FROM admin_areas WHERE level = %s", (level,))}
        doc = get(http, keys["street"], "/api/grids/census", level=level).json()
        assert {a["code"] for a in doc["areas"]} == inside & levels, level
        every = get(http, keys["all"], "/api/grids/census", level=level).json()
        assert {a["code"] for a in every["areas"]} == levels, level
        mine = {a["code"]: a for a in every["areas"]}
        assert all(a == mine[a["code"]] for a in doc["areas"]), level  # an inside area's figures are its own
    community = get(http, keys["street"], "/api/grids/census", level="community").json()["areas"]
    coded = db.execute("SELECT count(*) FROM components WHERE unit_grid_code LIKE %s", (STREET + "%",)).fetchone()[0]
    assert sum(a["components"]["count"] for a in community) == coded > 0


def check_responsibility(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """李四 has R001 in the street and R009 outside: the street's key judges against R001 only."""
    codes = {r[0]: r[1] for r in db.execute("SELECT id::text, code FROM work_grids WHERE assignee = '李四'")}
    inside = {codes[i] for i in expected_ids(db, catalog.get("work_grids")) if i in codes}
    assert inside == {"R001"} and set(codes.values()) == {"R001", "R009"}
    params = {"lon": 121.475, "lat": 31.335, "person": "李四"}  # inside R009
    every = get(http, keys["all"], "/api/grids/responsibility", **params).json()
    assert every["inside"] is True and {g["code"] for g in every["grids"]} == {"R001", "R009"}
    scoped = get(http, keys["street"], "/api/grids/responsibility", **params).json()
    assert {g["code"] for g in scoped["grids"]} == inside and scoped["inside"] is False
    assert scoped["alert"] == "cross_grid" and scoped["nearest_grid"] == "R001"
    r = get(http, keys["street"], "/api/grids/responsibility", lon=121.475, lat=31.335, person="王五")
    assert r.status_code == 404 and "310113003" in r.json()["detail"]  # 王五's W002 lies outside


def check_on_post(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    window = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
    every = get(http, keys["all"], "/api/grids/on-post", **window).json()
    doc = get(http, keys["street"], "/api/grids/on-post", **window).json()
    vehicles = expected_ids(db, catalog.get("vehicles"))
    assert {s["vehicle_id"] for s in every["staff"]} == {"沪A00001", "沪B00002"}
    assert {s["vehicle_id"] for s in doc["staff"]} == vehicles & {"沪A00001", "沪B00002"} == {"沪A00001"}
    assert sum(doc["counts"].values()) == len(doc["staff"])


def check_grid_layers(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """The mobile snapshots: only grids inside, under an ETag of their own (no 304 across scopes)."""
    for name, layer_id in (("unit", "unit_grids"), ("eval", "eval_grids"), ("work", "work_grids"),
                           ("admin", "admin_areas")):
        layer = catalog.get(layer_id)
        inside, every = expected_ids(db, layer), all_ids(db, layer)
        scoped = get(http, keys["street"], f"/api/grids/{name}")
        whole = get(http, keys["all"], f"/api/grids/{name}")
        assert {str(f["id"]) for f in scoped.json()["features"]} == inside and inside, name
        assert {str(f["id"]) for f in whole.json()["features"]} == every and every - inside, name
        assert scoped.headers["etag"] != whole.headers["etag"] and STREET in scoped.headers["etag"]
        assert "X-API-Key" in scoped.headers["vary"] and scoped.headers["cache-control"].startswith("private")
        h = {"X-API-Key": keys["street"], "If-None-Match": whole.headers["etag"]}
        assert http.get(f"/api/grids/{name}", headers=h).status_code == 200
        h = {"X-API-Key": keys["all"], "If-None-Match": scoped.headers["etag"]}
        assert http.get(f"/api/grids/{name}", headers=h).status_code == 200
        h = {"X-API-Key": keys["street"], "If-None-Match": scoped.headers["etag"]}
        assert http.get(f"/api/grids/{name}", headers=h).status_code == 304
        changes = get(http, keys["street"], f"/api/grids/{name}", since=0).json()
        assert {str(f["id"]) for f in changes["upserted"]} == inside, name


def check_coverage(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    inside = expected_ids(db, catalog.get("admin_areas"))
    online = {r[0] for r in db.execute("SELECT id FROM cameras WHERE state = 'online'")}
    for level in ("community", "street"):
        levels = {r[0] for r in db.execute("SELECT code FROM admin_areas WHERE level = %s", (level,))}
        doc = get(http, keys["street"], "/api/cameras/coverage", level=level).json()
        every = get(http, keys["all"], "/api/cameras/coverage", level=level).json()
        assert {f["id"] for f in doc["features"]} == inside & levels and {f["id"] for f in every["features"]} == levels
        for part in ("drop_points", "compounds"):
            assert doc["district"][part]["total"] == sum(f["properties"][part]["total"] for f in doc["features"])
            assert doc["district"][part]["covered"] == sum(f["properties"][part]["covered"] for f in doc["features"])
        assert doc["district"]["roads"]["total_m"] == pytest.approx(
            sum(f["properties"]["roads"]["total_m"] for f in doc["features"]), abs=0.5)
        assert doc["online_cameras"] == len(online & expected_ids(db, catalog.get("cameras")))
        assert every["online_cameras"] == len(online)


def _inspector(db: psycopg.Connection) -> str:
    return create_key(db, "city-inspector", "inspector")[1]


def check_eval_grid_draws(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    """Draws with a grid inside the street, with only those grids, and no city-wide pool sizes."""
    inside = expected_ids(db, catalog.get("eval_grids"))
    every = get(http, _inspector(db), "/api/eval-grids/draws").json()["draws"]
    doc = get(http, keys["street_inspector"], "/api/eval-grids/draws").json()["draws"]
    assert len(every) == 2
    want = [d["id"] for d in every if {g["code"] for g in d["grids"]} & inside]
    assert [d["id"] for d in doc] == want and len(want) == 1
    assert all({g["code"] for g in d["grids"]} <= inside and "available" not in d for d in doc)
    assert get(http, keys["street_inspector"], "/api/eval-grids/draws", limit=1).json()["draws"][0]["id"] == want[0]


def check_sample_draws(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    inside = expected_ids(db, catalog.get("eval_samples"))
    every = get(http, _inspector(db), "/api/eval-samples/draws").json()["draws"]
    doc = get(http, keys["street_inspector"], "/api/eval-samples/draws").json()["draws"]
    want = [d["id"] for d in every if {str(p["id"]) for p in d["points"]} & inside]
    assert [d["id"] for d in doc] == want and len(every) == 2 and len(want) == 1
    assert all({str(p["id"]) for p in d["points"]} <= inside and "available" not in d for d in doc)
    assert get(http, keys["street_inspector"], "/api/eval-samples/draws", limit=1).json()["draws"][0]["id"] == want[0]


def check_sample_assignments(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    inside = {r[0] for r in db.execute("SELECT code FROM eval_sample_points WHERE id::text = ANY(%s)",
                                       (list(expected_ids(db, catalog.get("eval_samples"))),))}
    city = _inspector(db)
    for draw_id in (r[0] for r in db.execute("SELECT id FROM eval_sample_draws ORDER BY id")):
        url = f"/api/eval-samples/draws/{draw_id}/assignments"
        every = {a["point"] for a in get(http, city, url).json()["assignments"]}
        scoped = get(http, keys["street_inspector"], url)
        if every & inside:
            assert {a["point"] for a in scoped.json()["assignments"]} == every & inside and every - inside
        else:
            assert scoped.status_code == 404 and every


def check_saved_layers(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    inside = expected_ids(db, catalog.get("geocoded_points"))
    doc = get(http, keys["street"], "/api/geocode/layers").json()["layers"]
    every = get(http, keys["all"], "/api/geocode/layers").json()["layers"]
    assert [(x["name"], x["points"]) for x in doc] == [("整改地址", len(inside))] and len(inside) == 1
    assert [(x["name"], x["points"]) for x in every] == [("整改地址", 3)]
    items = get(http, keys["street"], "/ogc/collections/geocoded_points/items", layer="整改地址").json()
    assert items["numberMatched"] == doc[0]["points"]


MF = "/ogc/collections/vehicle_tracks/items"


def check_mf_items(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
    doc = get(http, keys["street"], MF, limit=100).json()
    assert {f["id"] for f in doc["features"]} == expected_ids(db, catalog.get("vehicles")) & {"沪A00001", "沪B00002"}
    assert doc["numberMatched"] == len(doc["features"]) == 1
    assert get(http, keys["all"], MF, limit=100).json()["numberMatched"] == 2


def _mf_path(suffix: str) -> Callable[[httpx.Client, psycopg.Connection, dict[str, str]], None]:
    def check(http: httpx.Client, db: psycopg.Connection, keys: dict[str, str]) -> None:
        assert get(http, keys["street"], f"{MF}/沪B00002{suffix}").status_code == 404
        assert get(http, keys["all"], f"{MF}/沪B00002{suffix}").status_code == 200
        assert get(http, keys["street"], f"{MF}/沪A00001{suffix}").status_code == 200
    return check


#: GET path of the OpenAPI document → the check that its answers stay inside the street.
SCOPED: dict[str, Callable[[httpx.Client, psycopg.Connection, dict[str, str]], None]] = {
    "/ogc/collections/{collection_id}/items": check_items,
    "/ogc/collections/{collection_id}/items/{feature_id}": check_item,
    "/ogc/collections/{collection_id}/tiles/{tms_id}/{z}/{y}/{x}": check_tiles,
    "/api/layers/heat": check_heat,
    "/api/layers/flows": check_flows,
    "/api/stats/cases": check_case_stats,
    "/api/stats/alarms": check_alarm_stats,
    "/api/alarms": check_alarms,
    "/api/alarms/{alarm_id}": check_alarm,
    "/api/vehicles/{vehicle_id}/track": check_track,
    "/api/vehicles/{vehicle_id}/stats": check_vehicle_stats,
    "/api/tracks/passed": check_passed,
    "/api/fences": check_fences,
    "/api/fences/{fence_id}": check_fence,
    # (a stream: checked by test_the_alarm_stream_carries_only_the_areas_vehicles below)
    "/api/alarms/stream": lambda http, db, keys: None,
    "/api/nearest": check_nearest,
    "/api/devices/alarms": check_device_alarms,
    "/api/devices/{device_id}/state": check_device_state,
    "/api/muck/permits": check_permits,
    "/api/cases/similar": check_similar,
    "/api/shops/{shop}": check_shop,
    "/api/layers/choropleth": check_choropleth,
    "/api/shops/areas": check_shop_areas,
    "/api/routes": check_routes,
    "/api/routes/{route_id}": check_route,
    "/api/routes/{route_id}/compare": check_route_compare,
    "/api/routes/compare": check_routes_compare,
    MF: check_mf_items,
    MF + "/{feature_id}": _mf_path(""),
    MF + "/{feature_id}/tgsequence": _mf_path("/tgsequence"),
    MF + "/{feature_id}/tproperties": _mf_path("/tproperties"),
    MF + "/{feature_id}/tproperties/{name}": _mf_path("/tproperties/speed"),
    "/api/geocode": check_geocode,
    "/api/reverse": check_reverse,
    "/api/grids/locate": check_locate,
    "/api/grids/census": check_census,
    "/api/grids/responsibility": check_responsibility,
    "/api/grids/on-post": check_on_post,
    "/api/grids/{layer}": check_grid_layers,
    "/api/cameras/coverage": check_coverage,
    "/api/eval-grids/draws": check_eval_grid_draws,
    "/api/eval-samples/draws": check_sample_draws,
    "/api/eval-samples/draws/{draw_id}/assignments": check_sample_assignments,
    "/api/geocode/layers": check_saved_layers,
}

#: Paths that carry no features (metadata, configuration, probes, static files), with the reason.
NO_FEATURES = {
    "/healthz": "probe", "/readyz": "probe", "/ogc": "landing page", "/ogc/api": "OpenAPI document",
    "/ogc/conformance": "conformance classes", "/ogc/collections": "collection metadata",
    "/ogc/collections/{collection_id}": "collection metadata",
    "/ogc/collections/vehicle_tracks": "collection metadata",
    "/ogc/collections/{collection_id}/queryables": "property schema",
    "/ogc/collections/{collection_id}/tiles": "tileset list", "/ogc/collections/{collection_id}/tiles/{tms_id}":
    "tileset metadata", "/ogc/collections/{collection_id}/tiles/{tms_id}/tilejson.json": "TileJSON metadata",
    "/ogc/tileMatrixSets": "tile matrix sets", "/ogc/tileMatrixSets/{tms_id}": "tile matrix set",
    "/ogc/processes": "process list", "/ogc/processes/{process_id}": "process description",
    "/ogc/jobs": "job list (geocoding jobs: no stored features)", "/ogc/jobs/{job_id}": "job status",
    "/ogc/jobs/{job_id}/results": "the caller's own job results",
    "/api/catalog": "layer catalog", "/api/codes/{code}": "code parser", "/api/auth/whoami": "the caller",
    "/api/alarms/kinds": "vocabulary", "/api/layers/sources": "heat source list",
    "/api/scenes": "map scenes (configuration)", "/api/scenes/{slug}": "a map scene (configuration)",
    "/api/webhooks": "webhook subscriptions (configuration)",
    "/api/webhooks/{sub_id}/dead-letters": "webhook delivery failures",
    "/api/shops/import/{job_id}": "the caller's upload progress",
    "/styles/{name}.json": "map style", "/web/config.json": "web map configuration",
    "/web/categories.json": "category vocabulary",
    "/api/auth/oidc/login": "a redirect to the identity provider", "/api/auth/oidc/callback": "the login's return",
}

def read_paths(http: httpx.Client) -> set[str]:
    doc = http.get("/openapi.json").json()
    return {p for p, ops in doc["paths"].items() if "get" in ops}


def test_every_read_path_of_the_openapi_document_is_scoped_or_listed(world: dict[str, str], http: httpx.Client,
                                                                     db: psycopg.Connection) -> None:
    paths = read_paths(http)
    unlisted = paths - set(SCOPED) - set(NO_FEATURES)
    assert not unlisted, f"new read paths: scope them (and add a check to SCOPED) or list them: {unlisted}"
    for path in sorted(paths & set(SCOPED)):
        SCOPED[path](http, db, world)
    check_geocode_batch(http, db, world)  # (the bulk locate POST is checked by check_locate)


# -- writes ------------------------------------------------------------------------------------------------


def _case(x: float, y: float, code: str) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {"code": code, "major": "01", "minor": "01", "reported_at": "2026-03-05T02:00:00Z"}}


def test_writes_outside_the_area_are_refused_naming_it(world: dict[str, str], http: httpx.Client,
                                                       db: psycopg.Connection) -> None:
    inspector = {"X-API-Key": world["street_inspector"], "Content-Type": "application/geo+json"}
    r = http.post("/ogc/collections/cases/items", json=_case(121.47, 31.31, "NEW-OUT"), headers=inspector)
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "outside_area" and "吴淞街道 (310113003)" in r.json()["detail"]
    assert db.execute("SELECT count(*) FROM cases WHERE code = 'NEW-OUT'").fetchone()[0] == 0
    ok = http.post("/ogc/collections/cases/items", json=_case(121.41, 31.31, "NEW-IN"), headers=inspector)
    assert ok.status_code == 201, ok.text
    # an existing feature outside: neither changed nor deleted; moving one's own feature out is refused
    out_id = db.execute("SELECT id FROM cases WHERE code = 'C4'").fetchone()[0]
    in_id = db.execute("SELECT id FROM cases WHERE code = 'NEW-IN'").fetchone()[0]
    patch = {"X-API-Key": world["street_inspector"], "Content-Type": "application/merge-patch+json"}
    assert http.patch(f"/ogc/collections/cases/items/{out_id}", json={"properties": {"status": "closed"}},
                      headers=patch).status_code == 403
    assert http.delete(f"/ogc/collections/cases/items/{out_id}", headers=inspector).status_code == 403
    moved = http.patch(f"/ogc/collections/cases/items/{in_id}",
                       json={"geometry": {"type": "Point", "coordinates": [121.48, 31.32]}}, headers=patch)
    assert moved.status_code == 403, moved.text
    assert db.execute("SELECT ST_X(geom) FROM cases WHERE id = %s", (in_id,)).fetchone()[0] == pytest.approx(121.41)
    assert http.delete(f"/ogc/collections/cases/items/{in_id}", headers=inspector).status_code == 204
    # fences
    planner = {"X-API-Key": world["street_planner"]}
    fence = {"type": "Feature", "properties": {"kind": "forbidden", "name": "越界禁行区"},
             "geometry": {"type": "Polygon", "coordinates": [[[121.47, 31.31], [121.48, 31.31], [121.48, 31.32],
                                                              [121.47, 31.31]]]}}
    r = http.post("/api/fences", json=fence, headers=planner)
    assert r.status_code == 403 and "310113003" in r.json()["detail"], r.text
    assert db.execute("SELECT count(*) FROM fences WHERE name = '越界禁行区'").fetchone()[0] == 0
    other = db.execute("SELECT id FROM fences WHERE name = '张庙禁行区'").fetchone()[0]
    assert http.delete(f"/api/fences/{other}", headers=planner).status_code == 403


# -- keys, whoami, anonymous ------------------------------------------------------------------------------


def test_keys_create_with_an_area_and_whoami_names_it(world: dict[str, str], http: httpx.Client,
                                                      database_url: str) -> None:
    me = get(http, world["street"], "/api/auth/whoami").json()
    assert me["area"] == STREET and me["area_kind"] == "street" and me["area_name"] == "吴淞街道"
    assert get(http, world["all"], "/api/auth/whoami").json().get("area") is None
    env = {**os.environ, "DATABASE_URL": database_url}
    cli = [str(Path(sys.executable).with_name("citygrid"))]
    bad = subprocess.run([*cli, "keys", "create", "x", "--role", "viewer", "--area", "310113999"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "310113999" in bad.stderr and "street" in bad.stderr, bad.stderr
    good = subprocess.run([*cli, "keys", "create", "grid-key", "--role", "viewer", "--area", "W001"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert good.returncode == 0, good.stderr
    secret = good.stdout.strip().splitlines()[-1]
    grid = get(http, secret, "/api/auth/whoami").json()
    assert grid["area"] == "W001" and grid["area_kind"] == "work"
    # a work-grid area is decided by geometry: only features intersecting the grid
    inside = {f["id"] for f in get(http, secret, "/ogc/collections/waste_facilities/items").json()["features"]}
    with psycopg.connect(database_url) as db:
        want = {r[0] for r in db.execute(
            "SELECT f.id FROM waste_facilities f JOIN work_grids w ON w.code = 'W001' "
            "WHERE ST_Intersects(f.geom, w.geom)")}
    assert inside == want and want


def test_anonymous_and_unscoped_reads_are_unchanged(world: dict[str, str], http: httpx.Client,
                                                    db: psycopg.Connection) -> None:
    for layer_id in ("components", "cases", "vehicles", "alarms"):
        anon = get(http, None, f"/ogc/collections/{layer_id}/items", limit=1000).json()
        keyed = get(http, world["all"], f"/ogc/collections/{layer_id}/items", limit=1000).json()
        assert anon["numberMatched"] == keyed["numberMatched"] == len(all_ids(db, catalog.get(layer_id)))
    t = next(iter(_tiles_over_both_streets(12)))
    r = get(http, None, f"/ogc/collections/cases/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}")
    assert r.headers["cache-control"].startswith("public")


def test_the_second_street_sees_its_own(world: dict[str, str], http: httpx.Client, db: psycopg.Connection) -> None:
    key = create_key(db, "other-street", "viewer", area=OTHER)[1]
    for layer_id in ("cases", "components", "vehicles", "alarms", "admin_areas"):
        layer = catalog.get(layer_id)
        doc = get(http, key, f"/ogc/collections/{layer_id}/items", limit=1000).json()
        got = {str(f["id"]) for f in doc["features"]}
        assert got == expected_ids(db, layer, OTHER) and got, layer_id


def _set(layer: catalog.Layer, value: bool | None) -> None:
    object.__setattr__(layer, "read_requires_key", value)  # (catalog entries are frozen)


def test_reads_closed_or_opened_per_collection(world: dict[str, str], http: httpx.Client,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`Layer.read_requires_key` closes one collection to anonymous reads (also on the fast path), or
    opens one while CITYGRID_READ_REQUIRES_KEY closes the rest."""
    from gis.settings import get_settings

    cases, pois = catalog.get("cases"), catalog.get("pois")
    try:
        _set(cases, True)
        r = get(http, None, "/ogc/collections/cases/items")
        assert r.status_code == 401 and "cases" in r.json()["detail"]
        assert get(http, None, "/ogc/collections/cases/items/1").status_code == 401
        assert get(http, world["all"], "/ogc/collections/cases/items").status_code == 200
        assert get(http, None, "/ogc/collections/components/items").status_code == 200
        _set(cases, None)
        _set(pois, False)
        monkeypatch.setattr(get_settings(), "read_requires_key", True)
        assert get(http, None, "/ogc/collections/components/items").status_code == 401
        assert get(http, None, "/ogc/collections/pois/items").status_code == 200
    finally:
        _set(cases, None)
        _set(pois, None)


def _first_event(url: str, key: str, after: int) -> dict:
    """The first event the alarm stream sends after event id `after` (replayed from the database)."""
    with httpx.Client(timeout=20) as c, c.stream("GET", url, headers={"X-API-Key": key,
                                                                      "Last-Event-ID": str(after)}) as r:
        for raw in r.iter_lines():
            if raw.startswith("data:"):
                return json.loads(raw[5:].strip())
    raise AssertionError("the stream ended without an event")


def test_the_alarm_stream_carries_only_the_areas_vehicles(world: dict[str, str], db: psycopg.Connection,
                                                          live_server: str) -> None:
    before = db.execute("SELECT coalesce(max(id), 0) FROM alarm_events").fetchone()[0]
    for vehicle in ("沪B00002", "沪A00001"):  # the other street's first: an unfiltered stream sends it first
        db.execute("INSERT INTO alarm_events (alarm_id, op, payload) VALUES (1, 'opened', %s)",
                   (json.dumps({"id": 1, "kind": "overspeed", "vehicle_id": vehicle}),))
    url = f"{live_server}/api/alarms/stream"
    assert _first_event(url, world["street"], before)["vehicle_id"] == "沪A00001"
    assert _first_event(url, world["all"], before)["vehicle_id"] == "沪B00002"


def test_the_geocoding_processes_answer_like_the_get_paths(world: dict[str, str], http: httpx.Client,
                                                           db: psycopg.Connection) -> None:
    """OGC API – Processes geocode, reverse and locate (POST, so not in the GET list above): outside the
    street is no match for the street's key, as on /api/geocode, /api/reverse and /api/grids/locate."""
    def run(key: str, process: str, inputs: dict) -> list:
        r = http.post(f"/ogc/processes/{process}/execution", json={"inputs": inputs}, headers={"X-API-Key": key})
        assert r.status_code == 200, r.text
        return next(iter(r.json().values()))

    pts = [list(OUTSIDE_PT), list(INSIDE_PT)]
    located = run(world["street"], "locate", {"points": pts})
    assert [p["outside"] for p in located] == [True, False] and located[0].get("street") is None
    assert run(world["all"], "locate", {"points": pts})[0]["street"]["code"] == OTHER
    rev = run(world["street"], "reverse-geocode", {"points": pts})
    assert rev[0] is None and rev[1] is not None and _in_street(db, *rev[1]["properties"]["address_point"])
    assert run(world["all"], "reverse-geocode", {"points": pts})[0] is not None
    geo = run(world["street"], "geocode", {"addresses": ["泗塘路8号", "淞滨路100号"]})
    assert geo[0]["features"] == [] and geo[1]["features"]
    assert run(world["all"], "geocode", {"addresses": ["泗塘路8号"]})[0]["features"]


def test_a_limit_counts_only_what_lies_inside(world: dict[str, str], http: httpx.Client,
                                              db: psycopg.Connection) -> None:
    """Readers with a `limit` filter by the area before it: a page is full of the area's rows, not short
    because foreign rows took the places (device alarms, similar cases)."""
    newest = get(http, world["all"], "/api/devices/alarms", limit=1).json()["alarms"]
    assert [a["device_id"] for a in newest] == ["DEV2"]  # the other street's alarm comes first
    assert [a["device_id"] for a in get(http, world["street"], "/api/devices/alarms", limit=1).json()["alarms"]] \
        == ["DEV1"]
    # 20 similar cases (the page size) just across the boundary, nearer than the street's own one
    db.execute("INSERT INTO cases (code, major, minor, status, reported_at, unit_grid_code, geom) "
               "SELECT 'NEAR' || n, '01', '02', 'open', '2026-03-01T01:00:00Z', %s, "
               "ST_SetSRID(ST_MakePoint(121.4605 + n * 0.00001, 31.32), 4490) FROM generate_series(1, 20) n",
               (OTHER + "001001",))
    db.execute("INSERT INTO cases (code, major, minor, status, reported_at, geom) VALUES "
               "('OWN', '01', '02', 'open', '2026-03-01T01:00:00Z', 'SRID=4490;POINT(121.4450 31.32)')")
    params = {"major": "01", "minor": "02", "lon": 121.455, "lat": 31.32, "at": "2026-03-01T02:00:00Z",
              "radius_m": 2000}
    every = [c["code"] for c in get(http, world["all"], "/api/cases/similar", **params).json()["similar"]]
    assert len(every) == 20 and "OWN" not in every
    assert [c["code"] for c in get(http, world["street"], "/api/cases/similar", **params).json()["similar"]] == ["OWN"]
