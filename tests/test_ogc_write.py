"""OGC API – Features Part 4 over a real server and PostGIS: create, replace, update (merge patch) and
delete with roles per collection, ETag / If-Match, the importer's validation (nothing written on a bad
body), audit entries, Content-Crs, and caches (counts, tiles) that see the write on the next request."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from http_auth import auth
from ogc_data import load

from gis import crs as gcrs

CASES = "/ogc/collections/cases/items"
GEO = {"Content-Type": "application/geo+json"}


@pytest.fixture
def ogc(clean_db: str, http):
    with psycopg.connect(clean_db, autocommit=True) as conn:
        load(conn)
    return http


def case(lon: float = 121.405, lat: float = 31.305, **props: object) -> dict:
    base = {"code": "P4-1", "major": "01", "minor": "01", "description": "暴露垃圾",
            "reported_at": "2026-04-01T09:00:00+08:00"}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {**base, **props}}


def post(http, key: str, body: object, url: str = CASES, **headers: str):
    return http.post(url, json=body, headers={**auth(key), **GEO, **headers})


def count(db: psycopg.Connection, table: str = "cases") -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_create_replace_update_delete_a_case_with_etags(ogc, api_keys: dict, db: psycopg.Connection) -> None:
    key = api_keys["inspector"]
    r = post(ogc, key, case())
    assert r.status_code == 201, r.text
    location = r.headers["location"]
    assert location.startswith(str(ogc.base_url)) and "/ogc/collections/cases/items/" in location
    got = ogc.get(location)
    assert got.status_code == 200
    etag = got.headers["etag"]
    assert etag == r.headers["etag"]
    feature = got.json()
    # the unit grid is assigned by the trigger, the description stored as sent
    assert feature["properties"]["unit_grid_code"] == "310113003001001"
    assert feature["properties"]["major_name"]
    assert feature["geometry"]["coordinates"] == pytest.approx([121.405, 31.305])

    # replace (PUT): the whole feature, moved into grid 2; the unit grid follows the position
    moved = case(121.42, 31.305, description="已清理", status="closed")
    r = ogc.put(location, json=moved, headers={**auth(key), **GEO, "If-Match": etag})
    assert r.status_code == 204, r.text
    new_etag = r.headers["etag"]
    assert new_etag != etag
    props = ogc.get(location).json()["properties"]
    assert props["description"] == "已清理" and props["status"] == "closed"
    assert props["unit_grid_code"] == "310113003001002"

    # a stale ETag: 412, and nothing changes
    r = ogc.put(location, json=case(description="过期"), headers={**auth(key), **GEO, "If-Match": etag})
    assert r.status_code == 412 and r.json()["error"] == "precondition_failed"
    assert ogc.get(location).json()["properties"]["description"] == "已清理"

    # update (PATCH, RFC 7396): only what the patch names; null removes
    r = ogc.patch(location, json={"properties": {"description": "复查", "address": None}},
                  headers={**auth(key), "Content-Type": "application/merge-patch+json", "If-Match": new_etag})
    assert r.status_code == 204, r.text
    props = ogc.get(location).json()["properties"]
    assert props["description"] == "复查" and props["status"] == "closed" and props["address"] is None
    assert ogc.get(location).headers["etag"] == r.headers["etag"]

    r = ogc.delete(location, headers={**auth(key), "If-Match": new_etag})
    assert r.status_code == 412
    r = ogc.delete(location, headers=auth(key))
    assert r.status_code == 204
    assert ogc.get(location).status_code == 404
    assert ogc.delete(location, headers=auth(key)).status_code == 404


def test_roles_per_collection(ogc, api_keys: dict) -> None:
    facility = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.406, 31.306]},
                "properties": {"code": "WF9", "name": "新投放点", "kind": "drop_point"}}
    url = "/ogc/collections/waste_facilities/items"
    assert ogc.post(CASES, json=case(), headers=GEO).status_code == 401
    assert post(ogc, api_keys["viewer"], case()).status_code == 403
    assert post(ogc, api_keys["inspector"], facility, url).status_code == 403
    r = post(ogc, api_keys["planner"], facility, url)
    assert r.status_code == 201, r.text
    assert ogc.get(r.headers["location"]).json()["properties"]["unit_grid_code"] == "310113003001001"
    assert post(ogc, api_keys["planner"], case()).status_code == 201  # planner ranks above inspector
    r = post(ogc, api_keys["admin"], case(), "/ogc/collections/streets/items")
    assert r.status_code == 405 and "read-only" in r.json()["detail"]


def test_every_write_is_audited(ogc, api_keys: dict, db: psycopg.Connection) -> None:
    key = api_keys["inspector"]
    (start,) = db.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    location = post(ogc, key, case(code="AUD-1")).headers["location"]
    fid = location.rsplit("/", 1)[1]
    ogc.patch(location, json={"properties": {"status": "closed"}}, headers={**auth(key), **GEO})
    ogc.delete(location, headers=auth(key))
    rows = db.execute("SELECT action, target, ids FROM audit_log WHERE target = %s AND id > %s ORDER BY id",
                      (f"cases/{fid}", start)).fetchall()
    assert [r[0] for r in rows] == ["ogc create cases", "ogc update cases", "ogc delete cases"]
    assert all(list(r[2]) == [fid] for r in rows)
    post(ogc, key, case(major="99"))  # refused: no entry
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'ogc create cases' AND id > %s",
                      (start,)).fetchone()[0] == 1


@pytest.mark.parametrize(("body", "status", "fragment"), [
    (case(major=None), 400, "major"),
    (case(major="99"), 400, "no event type 99/01"),
    (case(reported_at="昨天"), 400, "reported_at"),
    (case(weight="heavy"), 400, "weight"),
    (case(kind="nosuch"), 400, "kind"),
    (case(frob=1), 400, "frob"),
    (case(unit_grid_code="310113003001004"), 400, "310113003001004"),
    (case(lon=100.0, lat=31.3), 400, "outside the loaded district"),
    ({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[121.41, 31.31], [121.42, 31.32]]},
      "properties": case()["properties"]}, 400, "LineString"),
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": "x"}, "properties": {}}, 400, "geometry"),
    ({"type": "FeatureCollection", "features": []}, 400, "Feature"),
    (case(code="C1"), 400, "already in the database"),
])
def test_bad_bodies_name_the_field_and_leave_nothing_written(
        ogc, api_keys: dict, db: psycopg.Connection, body: dict, status: int, fragment: str) -> None:
    before = count(db)
    r = post(ogc, api_keys["inspector"], body)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"], r.json()
    assert count(db) == before


def test_wrong_media_type_and_malformed_json(ogc, api_keys: dict, db: psycopg.Connection) -> None:
    before = count(db)
    r = ogc.post(CASES, content=b"code=1", headers={**auth(api_keys["inspector"]), "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = ogc.post(CASES, content=b"{not json", headers={**auth(api_keys["inspector"]), **GEO})
    assert r.status_code == 400 and "not JSON" in r.json()["detail"]
    r = post(ogc, api_keys["inspector"], case(), **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/3857>"})
    assert r.status_code == 400 and "Content-Crs" in r.json()["detail"]
    assert count(db) == before


def test_content_crs_in_a_projected_and_a_lat_first_system(ogc, api_keys: dict, db: psycopg.Connection) -> None:
    x, y = gcrs.transform([121.405], [31.305], "EPSG:4490", "EPSG:4549")
    body = case(code="GK")
    body["geometry"]["coordinates"] = [float(y[0]), float(x[0])]  # EPSG:4549 is northing first
    r = post(ogc, api_keys["inspector"], body, **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4549>"})
    assert r.status_code == 201, r.text
    lat_first = case(code="LL")
    lat_first["geometry"]["coordinates"] = [31.305, 121.405]
    r2 = post(ogc, api_keys["inspector"], lat_first, **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4326>"})
    assert r2.status_code == 201, r2.text
    for code in ("GK", "LL"):
        lon, lat = db.execute("SELECT ST_X(geom), ST_Y(geom) FROM cases WHERE code = %s", (code,)).fetchone()
        assert (lon, lat) == pytest.approx((121.405, 31.305), abs=1e-7)


def test_a_component_keeps_its_code_and_derives_its_class(ogc, api_keys: dict) -> None:
    url = "/ogc/collections/components/items"
    body = {"type": "Feature", "id": "3101130101000099",
            "geometry": {"type": "Point", "coordinates": [121.406, 31.306]},
            "properties": {"name": "新井盖", "major_name": "ignored: computed"}}
    r = post(ogc, api_keys["planner"], body, url)
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith("/items/3101130101000099")
    props = ogc.get(r.headers["location"]).json()["properties"]
    assert (props["major"], props["minor"], props["name"]) == ("01", "01", "新井盖")
    again = post(ogc, api_keys["planner"], body, url)
    assert again.status_code == 400 and "already in the database" in again.json()["detail"]
    body["properties"]["id"] = "3101130101000098"
    r = ogc.put(r.headers["location"], json=body, headers={**auth(api_keys["planner"]), **GEO})
    assert r.status_code == 400 and "ids do not change" in r.json()["detail"]


def _tile(http, lon: float, lat: float) -> bytes:
    t = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 15)
    r = http.get(f"/ogc/collections/cases/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}")
    assert r.status_code in (200, 204)  # 204: no feature in the tile
    return r.content


def test_counts_and_tiles_see_the_write_on_the_next_request(ogc, api_keys: dict) -> None:
    def matched() -> int:
        return ogc.get(CASES, params={"limit": 1, "offset": 1}).json()["numberMatched"]

    assert matched() == 3
    before = _tile(ogc, 121.405, 31.305)
    location = post(ogc, api_keys["inspector"], case(description="瓦片里")).headers["location"]
    assert matched() == 4
    after = _tile(ogc, 121.405, 31.305)
    assert after != before
    layer = mapbox_vector_tile.decode(after)["cases"]
    assert any(f["properties"].get("kind") == "event" for f in layer["features"])
    ogc.delete(location, headers=auth(api_keys["inspector"]))
    assert matched() == 3
    assert _tile(ogc, 121.405, 31.305) == before


def test_part4_is_declared_in_conformance_and_openapi(ogc) -> None:
    conf = ogc.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update" in conf
    paths = ogc.get("/ogc/api").json()["paths"]
    assert {"post"} <= set(paths["/ogc/collections/{collection_id}/items"])
    one = paths["/ogc/collections/{collection_id}/items/{feature_id}"]
    assert {"get", "put", "patch", "delete"} <= set(one)
    assert "412" in one["put"]["responses"] and "415" in one["patch"]["responses"]
    assert "application/merge-patch+json" in one["patch"]["requestBody"]["content"]
    assert "201" in paths["/ogc/collections/{collection_id}/items"]["post"]["responses"]
    assert {"201", "200"} <= set(paths["/ogc/processes/{process_id}/execution"]["post"]["responses"])
    assert "delete" in paths["/ogc/jobs/{job_id}"]



@pytest.mark.parametrize("geometry", [
    {"type": "Point", "coordinates": [121.405, 31.305]},
    {"type": "Point", "coordinates": [121.4051234, 31.3051234, 4.5]},
    {"type": "MultiPoint", "coordinates": [[121.405, 31.305]]},  # not the fast path: the importer's steps
])
def test_a_posted_case_is_stored_as_the_same_case_imported_from_a_file(
        ogc, api_keys: dict, db: psycopg.Connection, tmp_path, geometry: dict) -> None:
    """gis.io.write's one-feature fast path (a plain lon/lat Point) stores exactly what the importer
    stores for the same feature in a file: every column but the id and the code, as text."""
    import json

    from gis.io.load import import_file

    props = {"major": "01", "minor": "01", "description": "同一个", "reported_at": "2026-04-01T09:00:00",
             "weight": 2, "kind": "event", "address": "同济路1号"}
    feature = {"type": "Feature", "geometry": geometry, "properties": props}
    r = post(ogc, api_keys["inspector"], {**feature, "properties": {**props, "code": "SAME-POST"}})
    assert r.status_code == 201, r.text
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {**feature, "properties": {**props, "code": "SAME-FILE"}}]}, ensure_ascii=False), encoding="utf-8")
    assert import_file(db, "cases", path).inserted == 1
    cols = [c for (c,) in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'cases' "
        "AND column_name NOT IN ('id', 'code') AND column_default IS DISTINCT FROM 'now()' ORDER BY ordinal_position")]
    assert {"geom", "h3_cell", "unit_grid_code", "reported_at", "weight"} <= set(cols)
    rows = {code: row for code, *row in db.execute(
        f"SELECT code, {', '.join(f'{c}::text' for c in cols)} FROM cases WHERE code IN ('SAME-POST', 'SAME-FILE')")}
    assert rows["SAME-POST"] == rows["SAME-FILE"]
    stored = dict(zip(cols, rows["SAME-POST"], strict=True))
    assert stored["h3_cell"] is not None and stored["unit_grid_code"] == "310113003001001"


def test_checks_left_out_for_null_values_cannot_fire_on_them(db: psycopg.Connection) -> None:
    """A one-feature create leaves out the checks that need a value the feature does not have
    (`Check.needs`): each such check, run on a staged row of NULLs, must indeed not fire."""
    from gis.io import checks as io_checks
    from gis.io import write
    from gis.io.layers import _SPECS

    tried = 0
    for spec in _SPECS.values():
        stage = write._stage_sql(spec).split(", _reasons AS")[0]  # the staged row: one placeholder a column
        n_params = stage.count("%s")
        for check in write._checks(spec):
            if not check.needs:
                continue
            sql = stage + " SELECT ({}) IS TRUE FROM {} s".format(check.where.replace("%", "%%"), io_checks.STAGE)
            assert db.execute(sql, [None] * n_params).fetchone()[0] is False, (spec.table, check)
            tried += 1
    assert tried >= 5


def test_a_create_without_code_or_grid_leaves_their_checks_out() -> None:
    from api.ogc import crs as ocrs
    from gis import catalog
    from gis.io import write

    ref = ocrs.lookup(None, "Content-Crs").ref
    plain, _ = write.create_sql(write.prepare(catalog.get("cases"), case(code=None), ref))
    full, _ = write.create_sql(write.prepare(catalog.get("cases"), case(code="C9", unit_grid_code="310113003001004"),
                                             ref))
    for reason in ("already in the database", "unit grid %%s does not exist", "must be 15 digits"):
        assert reason not in plain and reason in full, reason
    assert "no %%s type" in plain and "outside the loaded district" in plain  # the others stay
