"""OGC API – Features over a real server and PostGIS: Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 2
(CRS by reference), Part 3 (queryables, CQL2 text and JSON), sorting, property selection, paging,
errors and the invalidation of the count cache."""

from __future__ import annotations

import httpx
import orjson
import psycopg
import pytest
from ogc_data import COLLECTION_IDS, FEATURE_COLLECTION_IDS, components, load

from gis import crs as gcrs

IDS = sorted(c[0] for c in components())


@pytest.fixture
def ogc(clean_db: str, http: httpx.Client) -> httpx.Client:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        load(conn)
    return http


def ids_of(doc: dict) -> list:
    return [f["id"] for f in doc["features"]]


def items(http: httpx.Client, cid: str = "components", **params: object) -> dict:
    r = http.get(f"/ogc/collections/{cid}/items", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    return r.json()


# -- Part 1: core, GeoJSON, HTML, OpenAPI 3.0 -------------------------------------------------------


def test_landing_page_links_the_api_conformance_and_data(ogc: httpx.Client) -> None:
    doc = ogc.get("/ogc").json()
    rels = {link["rel"]: link for link in doc["links"]}
    for rel in ("self", "service-desc", "conformance", "data"):
        assert rel in rels, rel
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi+json;version=3.0")
    conf = ogc.get(rels["conformance"]["href"]).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf


def test_openapi_document_is_3_0_and_describes_the_items_parameters(ogc: httpx.Client) -> None:
    r = ogc.get("/ogc/api")
    assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json;version=3.0")
    doc = r.json()
    assert doc["openapi"].startswith("3.0.")
    items_op = doc["paths"]["/ogc/collections/{collection_id}/items"]["get"]
    names = {p["name"] for p in items_op["parameters"]}
    assert {"limit", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang", "sortby", "properties"} <= names
    assert '"type":"null"' not in r.text  # a 3.1 idiom
    assert all(path.startswith("/ogc") for path in doc["paths"])


def test_every_published_layer_is_a_collection_with_chinese_title_and_extent(ogc: httpx.Client) -> None:
    doc = ogc.get("/ogc/collections").json()
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(by_id) == COLLECTION_IDS
    assert by_id["components"]["title"] == "城市部件"
    bbox = by_id["components"]["extent"]["spatial"]["bbox"][0]
    assert bbox == pytest.approx([121.41, 31.31, 121.418, 31.318])
    assert by_id["cases"]["extent"]["temporal"]["interval"][0][0].startswith("2026-01-10T02:00:00")
    assert "http://www.opengis.net/def/crs/EPSG/0/4549" in by_id["components"]["crs"]
    one = ogc.get("/ogc/collections/waste_drop_points").json()
    assert one["title"] == "垃圾投放点" and one["itemType"] == "feature"


def test_items_are_utf8_geojson_with_exact_counts(ogc: httpx.Client) -> None:
    r = ogc.get("/ogc/collections/components/items")
    assert r.headers["content-type"] == "application/geo+json"
    assert "上水井盖".encode() in r.content and b"\\u" not in r.content
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    assert (doc["numberMatched"], doc["numberReturned"]) == (25, 10)
    assert ids_of(doc) == IDS[:10]
    f = doc["features"][0]
    assert f["geometry"] == {"type": "Point", "coordinates": [121.41, 31.31]}
    assert f["properties"]["major_name"] == "公用设施" and f["properties"]["minor_name"] == "上水井盖"


def test_every_collection_serves_its_rows(ogc: httpx.Client, db: psycopg.Connection) -> None:
    expected = {"components": 25, "unit_grids": 4, "vehicles": 2, "alarms": 2, "cases": 3, "waste_drop_points": 2,
                "waste_transfer_stations": 1, "responsibility_grids": 1, "fences": 1, "routes": 1}
    for cid in sorted(FEATURE_COLLECTION_IDS):
        doc = items(ogc, cid, limit=100)
        assert doc["numberMatched"] == doc["numberReturned"] == len(doc["features"])
        if cid in expected:
            assert doc["numberMatched"] == expected[cid], cid
    vehicle = ogc.get("/ogc/collections/vehicles/items/沪A00001").json()
    assert vehicle["geometry"]["coordinates"] == [121.42, 31.32]  # the last fix
    assert vehicle["properties"]["speed_kmh"] == 30
    alarms = items(ogc, "alarms")
    assert any(f["geometry"] is None for f in alarms["features"])


def test_single_item_and_missing_item(ogc: httpx.Client) -> None:
    r = ogc.get(f"/ogc/collections/components/items/{IDS[3]}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert doc["type"] == "Feature" and doc["id"] == IDS[3]
    assert {"self", "collection"} <= {link["rel"] for link in doc["links"]}
    assert ogc.get("/ogc/collections/components/items/9999999999999999").status_code == 404
    assert ogc.get("/ogc/collections/cases/items/not-a-number").status_code == 404


def test_paging_to_the_end_by_next_links_and_back_by_prev(ogc: httpx.Client) -> None:
    seen, url, pages = [], "/ogc/collections/components/items?limit=7", 0
    last = None
    while url:
        doc = ogc.get(url).json()
        assert doc["numberMatched"] == 25
        seen += ids_of(doc)
        pages += 1
        last = doc
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    assert seen == IDS and pages == 4
    prev = next(link["href"] for link in last["links"] if link["rel"] == "prev")
    assert ids_of(ogc.get(prev).json()) == IDS[14:21]
    assert ids_of(items(ogc, limit=10, offset=20)) == IDS[20:]


def test_html_encoding_by_parameter_and_by_accept_header(ogc: httpx.Client) -> None:
    for r in (ogc.get("/ogc/collections/components/items?f=html&limit=3"),
              ogc.get("/ogc/collections/components/items?limit=3", headers={"Accept": "text/html"})):
        assert r.headers["content-type"].startswith("text/html")
        assert "城市部件" in r.text and IDS[0] in r.text
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/components",
                 f"/ogc/collections/components/items/{IDS[0]}", "/ogc/collections/components/queryables", "/ogc/api"):
        r = ogc.get(path, params={"f": "html"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path


# -- bbox, datetime, Part 2 CRS ----------------------------------------------------------------------


def test_bbox_in_crs84_epsg4326_and_epsg4549_selects_the_same_features(ogc: httpx.Client) -> None:
    x1, y1, x2, y2 = 121.4095, 31.3095, 121.4125, 31.3125  # the 2 x 2 corner of the lattice
    corner = sorted(c[0] for c in components() if c[4] < x2 and c[5] < y2)
    assert len(corner) == 4
    assert sorted(ids_of(items(ogc, bbox=f"{x1},{y1},{x2},{y2}"))) == corner
    lat_lon = items(ogc, bbox=f"{y1},{x1},{y2},{x2}", **{"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})
    assert sorted(ids_of(lat_lon)) == corner
    e, n = gcrs.transform([x1, x2], [y1, y2], "CRS84", "EPSG:4549")
    projected = items(ogc, bbox=f"{n[0]},{e[0]},{n[1]},{e[1]}", **{"bbox-crs": "EPSG:4549"})
    assert sorted(ids_of(projected)) == corner


def test_a_point_in_epsg4549_and_in_crs84_is_the_same_place(ogc: httpx.Client) -> None:
    path = f"/ogc/collections/components/items/{IDS[7]}"
    plain = ogc.get(path)
    assert plain.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    lon, lat = plain.json()["geometry"]["coordinates"]
    r = ogc.get(path, params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4549"})
    assert r.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4549>"
    northing, easting = r.json()["geometry"]["coordinates"]  # EPSG:4549 axis order: northing, easting
    assert 3_000_000 < northing < 4_000_000 and 100_000 < easting < 900_000
    back_lon, back_lat = gcrs.transform([easting], [northing], "EPSG:4549", "CRS84")
    assert back_lon[0] == pytest.approx(lon, abs=1e-7) and back_lat[0] == pytest.approx(lat, abs=1e-7)
    assert ogc.get(path, params={"crs": "EPSG:4326"}).json()["geometry"]["coordinates"] == pytest.approx([lat, lon])
    assert ogc.get(path, params={"crs": "EPSG:4490"}).json()["geometry"]["coordinates"] == pytest.approx([lat, lon])
    local = ogc.get(path, params={"crs": "LOCAL:SH"}).json()["geometry"]["coordinates"]
    lx, ly = gcrs.transform([lon], [lat], "CRS84", "LOCAL:SH")
    assert local == pytest.approx([lx[0], ly[0]], abs=1e-3)
    page = items(ogc, crs="EPSG:4549", limit=2)
    assert page["features"][0]["geometry"]["coordinates"][0] > 3_000_000


def test_datetime_instant_and_intervals(ogc: httpx.Client) -> None:
    def codes(**p: object) -> list:
        return sorted(f["properties"]["code"] for f in items(ogc, "cases", **p)["features"])

    assert codes(datetime="2026-02-01T00:00:00Z/..") == ["C2", "C3"]
    assert codes(datetime="../2026-01-31T00:00:00Z") == ["C1"]
    assert codes(datetime="2026-02-10T02:00:00Z") == ["C2"]
    open_alarm = items(ogc, "alarms", datetime="2026-06-01T00:00:00Z")  # the open alarm lasts
    assert [f["properties"]["kind"] for f in open_alarm["features"]] == ["out_of_area"]


# -- Part 3: queryables and CQL2 ---------------------------------------------------------------------


def test_queryables_schema_and_queryables_as_parameters(ogc: httpx.Client) -> None:
    r = ogc.get("/ogc/collections/components/queryables")
    assert r.headers["content-type"] == "application/schema+json"
    schema = r.json()
    assert schema["type"] == "object" and schema["properties"]["major"]["title"] == "大类代码"
    assert schema["properties"]["geometry"]["format"] == "geometry-point"
    assert schema["properties"]["init_date"]["format"] == "date"
    doc = items(ogc, major="03", minor="02", limit=100)
    assert doc["numberMatched"] == 4
    assert {f["properties"]["minor_name"] for f in doc["features"]} == {"垃圾箱"}


def _sql_ids(db: psycopg.Connection, table: str, where: str, params: tuple = ()) -> list:
    key = "id" if table != "cases" else "code"
    return sorted(str(r[0]) for r in db.execute(f"SELECT {key} FROM {table} t WHERE {where}", params))


def _filter_ids(http: httpx.Client, cid: str, text: str, lang: str = "cql2-text") -> list:
    doc = items(http, cid, filter=text, limit=1000, **{"filter-lang": lang})
    key = (lambda f: f["properties"]["code"]) if cid == "cases" else (lambda f: str(f["id"]))
    assert doc["numberMatched"] == len(doc["features"])
    return sorted(key(f) for f in doc["features"])


CQL_CASES = [
    # (collection, cql2-text, cql2-json, equivalent SQL)
    ("components", "major = '03' AND minor = '02'",
     {"op": "and", "args": [{"op": "=", "args": [{"property": "major"}, "03"]},
                            {"op": "=", "args": [{"property": "minor"}, "02"]}]},
     "major = '03' AND minor = '02'"),
    ("components", "name LIKE '%井盖1%' OR NOT (major <> '03')",
     {"op": "or", "args": [{"op": "like", "args": [{"property": "name"}, "%井盖1%"]},
                           {"op": "not", "args": [{"op": "<>", "args": [{"property": "major"}, "03"]}]}]},
     "name LIKE '%%井盖1%%' OR major = '03'"),
    ("components", "minor IN ('02') AND init_date BETWEEN DATE('2024-02-01') AND DATE('2024-05-01')",
     {"op": "and", "args": [{"op": "in", "args": [{"property": "minor"}, ["02"]]},
                            {"op": "between", "args": [{"property": "init_date"}, {"date": "2024-02-01"},
                                                       {"date": "2024-05-01"}]}]},
     "minor IN ('02') AND init_date BETWEEN '2024-02-01' AND '2024-05-01'"),
    ("components", "S_INTERSECTS(geometry, POLYGON((121.409 31.309, 121.4145 31.309, 121.4145 31.3125, "
     "121.409 31.3125, 121.409 31.309)))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [[
         [121.409, 31.309], [121.4145, 31.309], [121.4145, 31.3125], [121.409, 31.3125], [121.409, 31.309]]]}]},
     "ST_Intersects(geom, ST_MakeEnvelope(121.409, 31.309, 121.4145, 31.3125, 4490))"),
    ("components", "S_WITHIN(geometry, BBOX(121.4115, 31.3115, 121.42, 31.32)) AND CASEI(status) = casei('完好')",
     {"op": "and", "args": [
         {"op": "s_within", "args": [{"property": "geometry"}, {"bbox": [121.4115, 31.3115, 121.42, 31.32]}]},
         {"op": "=", "args": [{"op": "casei", "args": [{"property": "status"}]}, {"op": "casei", "args": ["完好"]}]}]},
     "ST_Within(geom, ST_MakeEnvelope(121.4115, 31.3115, 121.42, 31.32, 4490))"),
    ("cases", "T_AFTER(reported_at, TIMESTAMP('2026-01-31T00:00:00Z'))",
     {"op": "t_after", "args": [{"property": "reported_at"}, {"timestamp": "2026-01-31T00:00:00Z"}]},
     "reported_at > '2026-01-31T00:00:00Z'"),
    ("cases", "T_DURING(reported_at, INTERVAL('2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z'))",
     {"op": "t_during", "args": [{"property": "reported_at"},
                                 {"interval": ["2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"]}]},
     "reported_at > '2026-01-01T00:00:00Z' AND reported_at < '2026-03-01T00:00:00Z'"),
    ("cases", "T_INTERSECTS(reported_at, INTERVAL('2026-02-10T02:00:00Z', '..')) AND weight * 2 > 1",
     {"op": "and", "args": [
         {"op": "t_intersects", "args": [{"property": "reported_at"}, {"interval": ["2026-02-10T02:00:00Z", ".."]}]},
         {"op": ">", "args": [{"op": "*", "args": [{"property": "weight"}, 2]}, 1]}]},
     "reported_at >= '2026-02-10T02:00:00Z'"),
    ("cases", "major = minor OR status IS NULL",
     {"op": "or", "args": [{"op": "=", "args": [{"property": "major"}, {"property": "minor"}]},
                           {"op": "isNull", "args": [{"property": "status"}]}]},
     "major = minor"),
]


@pytest.mark.parametrize("cid, text, json_filter, sql", CQL_CASES, ids=[c[1][:40] for c in CQL_CASES])
def test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql(
    ogc: httpx.Client, db: psycopg.Connection, cid: str, text: str, json_filter: dict, sql: str
) -> None:
    expected = _sql_ids(db, cid, sql)
    assert expected, "the case should select something"
    assert _filter_ids(ogc, cid, text) == expected
    assert _filter_ids(ogc, cid, orjson.dumps(json_filter).decode(), "cql2-json") == expected


def test_filter_geometry_in_another_crs(ogc: httpx.Client, db: psycopg.Connection) -> None:
    e, n = gcrs.transform([121.409, 121.4145], [31.309, 31.3125], "CRS84", "EPSG:4549")
    text = f"S_INTERSECTS(geometry, BBOX({n[0]}, {e[0]}, {n[1]}, {e[1]}))"
    doc = items(ogc, filter=text, **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4549"})
    expected = _sql_ids(db, "components",
                        "ST_Intersects(geom, ST_MakeEnvelope(121.409, 31.309, 121.4145, 31.3125, 4490))")
    assert sorted(ids_of(doc)) == expected


# -- sorting and property selection --------------------------------------------------------------------


def test_sortby_and_properties(ogc: httpx.Client) -> None:
    doc = items(ogc, sortby="-name", limit=100, properties="name,major")
    names = [f["properties"]["name"] for f in doc["features"]]
    assert names == sorted(names, reverse=True)
    assert set(doc["features"][0]["properties"]) == {"name", "major"}
    paged = items(ogc, sortby="+major,-name", limit=10, offset=10)
    assert [f["id"] for f in paged["features"]] == [f["id"] for f in items(ogc, sortby="+major,-name", limit=25)
                                                     ["features"]][10:20]


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, status, fragment", [
    ("/ogc/collections/nope", 404, "nope"),
    ("/ogc/collections/nope/items", 404, "nope"),
    ("/ogc/collections/components/items?bbox=1,2,3", 400, "bbox"),
    ("/ogc/collections/components/items?bbox=a,b,c,d", 400, "bbox"),
    ("/ogc/collections/components/items?bbox=122,31,121,32", 400, "bbox"),
    ("/ogc/collections/components/items?limit=0", 400, "limit"),
    ("/ogc/collections/components/items?limit=ten", 400, "limit"),
    ("/ogc/collections/components/items?filter=major%20%3D%3D", 400, "filter"),
    ("/ogc/collections/components/items?filter=nosuch%20%3D%201", 400, "nosuch"),
    ("/ogc/collections/components/items?filter-lang=ecql&filter=a%3D1", 400, "filter-lang"),
    ("/ogc/collections/components/items?crs=EPSG:3857", 400, "crs"),
    ("/ogc/collections/components/items?frob=1", 400, "frob"),
    ("/ogc/collections/components/items?sortby=nosuch", 400, "sortby"),
    ("/ogc/collections/components/items?properties=nosuch", 400, "properties"),
    ("/ogc/collections/components/items?datetime=yesterday", 400, "datetime"),
    ("/ogc/collections/components/items?scale_denom=abc", 400, "fit"),
    ("/ogc/collections/components/items?f=xml", 400, "f"),
])
def test_errors_are_json_and_name_the_problem(ogc: httpx.Client, path: str, status: int, fragment: str) -> None:
    r = ogc.get(path)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] and fragment in body["detail"]


def test_counts_are_cached_yet_exact_after_a_write(ogc: httpx.Client, db: psycopg.Connection) -> None:
    assert items(ogc, limit=5, offset=5)["numberMatched"] == 25
    assert items(ogc, limit=5, offset=5, major="03")["numberMatched"] == 10
    db.execute("INSERT INTO components (id, major, minor, name, geom) VALUES "
               "('3101130301000099', '03', '01', '新厕所', 'SRID=4490;POINT(121.411 31.311)')")
    assert items(ogc, limit=5, offset=5)["numberMatched"] == 26
    assert items(ogc, limit=5, offset=5, major="03")["numberMatched"] == 11
    db.execute("DELETE FROM components WHERE major = '03'")
    assert items(ogc, limit=5, offset=5, major="03")["numberMatched"] == 0
    extent = ogc.get("/ogc/collections/components").json()["extent"]["spatial"]["bbox"][0]
    assert extent == pytest.approx([121.41, 31.31, 121.418, 31.314])


#: Each declared conformance class and the tests (here and in test_ogc_tiles.py / test_ogc_clients.py)
#: that exercise it. The list must match /ogc/conformance exactly: declaring a class means testing it.
EXERCISED = {
    "ogcapi-common-1/1.0/conf/core": "test_landing_page_links_the_api_conformance_and_data",
    "ogcapi-common-1/1.0/conf/landing-page": "test_landing_page_links_the_api_conformance_and_data",
    "ogcapi-common-1/1.0/conf/json": "test_items_are_utf8_geojson_with_exact_counts",
    "ogcapi-common-1/1.0/conf/html": "test_html_encoding_by_parameter_and_by_accept_header",
    "ogcapi-common-1/1.0/conf/oas30": "test_openapi_document_is_3_0_and_describes_the_items_parameters",
    "ogcapi-common-2/1.0/conf/collections": "test_every_published_layer_is_a_collection_with_chinese_title_and_extent",
    "ogcapi-features-1/1.0/conf/core": "test_paging_to_the_end_by_next_links_and_back_by_prev",
    "ogcapi-features-1/1.0/conf/geojson": "test_items_are_utf8_geojson_with_exact_counts",
    "ogcapi-features-1/1.0/conf/html": "test_html_encoding_by_parameter_and_by_accept_header",
    "ogcapi-features-1/1.0/conf/oas30": "test_openapi_document_is_3_0_and_describes_the_items_parameters",
    "ogcapi-features-2/1.0/conf/crs": "test_a_point_in_epsg4549_and_in_crs84_is_the_same_place",
    "ogcapi-features-3/1.0/conf/queryables": "test_queryables_schema_and_queryables_as_parameters",
    "ogcapi-features-3/1.0/conf/queryables-query-parameters": "test_queryables_schema_and_queryables_as_parameters",
    "ogcapi-features-3/1.0/conf/filter": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "ogcapi-features-3/1.0/conf/features-filter": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/cql2-text": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/cql2-json": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/basic-cql2": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/advanced-comparison-operators": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/case-insensitive-comparison": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/basic-spatial-functions": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/basic-spatial-functions-plus": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/spatial-functions": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/temporal-functions": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/property-property": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "cql2/1.0/conf/arithmetic": "test_cql2_text_and_json_give_the_answer_of_the_equivalent_sql",
    "ogcapi-records-1/1.0/conf/sorting": "test_sortby_and_properties",
    "ogcapi-features-4/1.0/conf/create-replace-delete": "test_create_replace_update_delete_a_case_with_etags",
    "ogcapi-features-4/1.0/conf/update": "test_create_replace_update_delete_a_case_with_etags",
    "ogcapi-features-4/1.0/conf/features": "test_bad_bodies_name_the_field_and_leave_nothing_written",
    "ogcapi-movingfeatures-1/1.0/conf/common": "test_the_collection_is_listed_and_declared",
    "ogcapi-movingfeatures-1/1.0/conf/mf-collection":
        "test_items_are_vehicles_with_fixes_filtered_by_bbox_and_datetime",
    "ogcapi-movingfeatures-1/1.0/conf/movingfeatures": "test_tgsequence_equals_the_stored_track",
    "ogcapi-processes-1/1.0/conf/core": "test_sync_locate_equals_the_locate_api",
    "ogcapi-processes-1/1.0/conf/ogc-process-description": "test_processes_are_listed_described_declared_and_linked",
    "ogcapi-processes-1/1.0/conf/json": "test_sync_locate_equals_the_locate_api",
    "ogcapi-processes-1/1.0/conf/job-list": "test_async_job_reports_progress_results_and_can_be_dismissed",
    "ogcapi-processes-1/1.0/conf/dismiss": "test_async_job_reports_progress_results_and_can_be_dismissed",
    "ogcapi-processes-1/1.0/conf/oas30": "test_part4_is_declared_in_conformance_and_openapi",
    "ogcapi-tiles-1/1.0/conf/core": "test_mvt_tile_holds_the_features_of_its_area",
    "ogcapi-tiles-1/1.0/conf/tileset": "test_tile_matrix_set_tilesets_and_tilejson",
    "ogcapi-tiles-1/1.0/conf/tilesets-list": "test_tile_matrix_set_tilesets_and_tilejson",
    "ogcapi-tiles-1/1.0/conf/geodata-tilesets": "test_tile_matrix_set_tilesets_and_tilejson",
    "ogcapi-tiles-1/1.0/conf/mvt": "test_mvt_tile_holds_the_features_of_its_area",
    "ogcapi-tiles-1/1.0/conf/oas30": "test_openapi_document_is_3_0_and_describes_the_items_parameters",
    "tms/2.0/conf/tilematrixset": "test_tile_matrix_set_tilesets_and_tilejson",
    "tms/2.0/conf/json-tilematrixset": "test_tile_matrix_set_tilesets_and_tilejson",
}


def test_every_declared_conformance_class_is_exercised(ogc: httpx.Client) -> None:
    declared = ogc.get("/ogc/conformance").json()["conformsTo"]
    short = {c.removeprefix("http://www.opengis.net/spec/") for c in declared}
    assert short == set(EXERCISED)
    import pathlib

    sources = "".join(p.read_text(encoding="utf-8") for p in pathlib.Path(__file__).parent.glob("test_ogc_*.py"))
    for test in set(EXERCISED.values()):
        assert f"def {test}(" in sources, test
    openapi_paths = ogc.get("/ogc/api").json()["paths"]
    assert "/ogc/collections/{collection_id}/tiles/{tms_id}/{z}/{y}/{x}" in openapi_paths
