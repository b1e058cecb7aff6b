"""The OGC hot paths: the direct dispatch answers exactly what the FastAPI routes answer (errors too),
district-zoom tiles carry only the summary properties, and tiles are gzipped for clients that accept it."""

from __future__ import annotations

import gzip

import httpx
import mapbox_vector_tile
import morecantile
import orjson
import psycopg
import pytest
from ogc_data import load

#: An Accept header that wants JSON but names HTML: it makes the request take the normal FastAPI route.
NORMAL_ROUTE = {"Accept": "application/geo+json, text/html;q=0.1"}
TILES = "/ogc/collections/components/tiles/WebMercatorQuad"


@pytest.fixture
def ogc(clean_db: str, http: httpx.Client) -> httpx.Client:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        load(conn)
    return http


def _without_timestamp(body: bytes) -> dict:
    doc = orjson.loads(body)
    doc.pop("timeStamp", None)
    return doc


@pytest.mark.parametrize("path", [
    "/ogc/collections/components/items/3101130101000001",
    "/ogc/collections/components/items/3101130101000001?crs=http://www.opengis.net/def/crs/EPSG/0/4549",
    "/ogc/collections/work_grids/items?limit=1",
    "/ogc/collections/components/items?limit=4&major=03&sortby=-name",
])
def test_fast_path_answers_like_the_route(ogc: httpx.Client, path: str) -> None:
    fast, normal = ogc.get(path), ogc.get(path, headers=NORMAL_ROUTE)
    assert fast.status_code == normal.status_code == 200
    assert fast.headers["content-type"] == normal.headers["content-type"] == "application/geo+json"
    assert fast.headers["content-crs"] == normal.headers["content-crs"]
    assert _without_timestamp(fast.content) == _without_timestamp(normal.content)
    assert orjson.loads(fast.content)["type"] in ("Feature", "FeatureCollection")


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/ogc/collections/nope/items/1", 404, "not_found"),
    ("/ogc/collections/components/items/3101139999999999", 404, "not_found"),
    ("/ogc/collections/work_grids/items/abc", 404, "not_found"),
    ("/ogc/collections/components/items?limit=0", 400, "invalid_input"),
    ("/ogc/collections/components/items?colour=red", 400, "invalid_input"),
    ("/ogc/collections/components/items/3101130101000001?bbox=1,2,3,4", 400, "invalid_input"),
    ("/ogc/collections/components/tiles/WorldCRS84Quad/1/0/0", 404, "not_found"),
])
def test_fast_path_errors_are_the_routes_errors(ogc: httpx.Client, path: str, status: int, code: str) -> None:
    fast, normal = ogc.get(path), ogc.get(path, headers=NORMAL_ROUTE)
    assert fast.status_code == normal.status_code == status
    assert fast.json() == normal.json()
    assert fast.json()["error"] == code and fast.json()["detail"]


def test_fast_path_requests_are_measured_under_their_route(ogc: httpx.Client) -> None:
    ogc.get("/ogc/collections/components/items/3101130101000002")
    metrics = ogc.get("/metrics").text
    assert 'route="/ogc/collections/{collection_id}/items/{feature_id}"' in metrics
    assert ogc.get("/ogc/collections/components/items/3101130101000002").headers["x-request-id"]


def _tile(lon: float, lat: float, z: int) -> str:
    t = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
    return f"{TILES}/{t.z}/{t.y}/{t.x}"


def _features(content: bytes) -> list[dict]:
    return mapbox_vector_tile.decode(content)["components"]["features"]


def test_district_zoom_tiles_carry_only_the_summary_properties(ogc: httpx.Client) -> None:
    low = _features(ogc.get(_tile(121.411, 31.311, 13)).content)
    assert len(low) >= 20
    assert all(set(f["properties"]) == {"major", "minor"} for f in low)
    assert {f["properties"]["major"] for f in low} == {"01", "03"}
    detail = _features(ogc.get(_tile(121.411, 31.311, 14)).content)
    assert len(detail) >= 20
    assert {"id", "name", "major_name", "minor", "status"} <= set(detail[0]["properties"])


def test_tiles_are_gzipped_for_clients_that_accept_it(ogc: httpx.Client) -> None:
    url = _tile(121.411, 31.311, 15)
    plain = ogc.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    with httpx.stream("GET", str(ogc.base_url.join(url)), headers={"Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
        zipped_headers = r.headers
    assert zipped_headers["content-encoding"] == "gzip" and "Accept-Encoding" in zipped_headers["vary"]
    assert gzip.decompress(raw) == plain.content and len(raw) < len(plain.content)
    assert zipped_headers["etag"] != plain.headers["etag"]
    for etag in (plain.headers["etag"], zipped_headers["etag"]):
        assert ogc.get(url, headers={"If-None-Match": etag}).status_code == 304
    refused = ogc.get(url, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers and refused.content == plain.content


@pytest.mark.parametrize("path", ["/ogc/collections/components/items?limit=50",
                                  "/ogc/collections/components/items?limit=50&f=json&sortby=name"])
def test_pages_of_features_are_gzipped_for_clients_that_accept_it(ogc: httpx.Client, path: str) -> None:
    """On the fast path and the normal route alike; `gzip;q=0` is a refusal, not an acceptance."""
    url = str(ogc.base_url.join(path))
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers and len(plain.content) > 4096
    with httpx.stream("GET", url, headers={"Accept-Encoding": "br;q=0.5, gzip"}) as r:
        raw = b"".join(r.iter_raw())
        headers = r.headers
    assert headers["content-encoding"] == "gzip" and len(raw) * 4 < len(plain.content)
    assert _without_timestamp(gzip.decompress(raw)) == _without_timestamp(plain.content)
    refused = httpx.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers


def test_small_answers_are_not_compressed(ogc: httpx.Client) -> None:
    r = ogc.get("/ogc/collections/components/items/3101130101000001", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "content-encoding" not in r.headers


def test_writes_on_the_fast_path_answer_errors_with_the_apps_handlers(ogc: httpx.Client, api_keys: dict) -> None:
    """Part 4 writes with a key skip FastAPI's routing (api/ogc/fastpath.py) and cannot be re-run, so
    their errors are shaped here by the app's exception handlers: the same answers as the routes give."""
    from http_auth import auth

    geo = {"Content-Type": "application/geo+json"}
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.405, 31.305]},
             "properties": {"major": "01", "minor": "01", "reported_at": "2026-04-01T09:00:00+08:00"}}
    items = "/ogc/collections/cases/items"
    # an unknown key: the same 401 as on a read, which takes the normal route (it sends a credential)
    bad = {"X-API-Key": "no-such-key"}
    fast, normal = ogc.post(items, json=point, headers={**bad, **geo}), ogc.get(items, headers=bad)
    assert fast.status_code == normal.status_code == 401 and fast.json() == normal.json()
    key = auth(api_keys["inspector"])
    cases = [
        (ogc.post("/ogc/collections/nope/items", json=point, headers={**key, **geo}), 404, "not_found"),
        (ogc.post("/ogc/collections/streets/items", json=point, headers={**key, **geo}), 405, "method_not_allowed"),
        (ogc.post(items, content=b"x", headers={**key, "Content-Type": "text/plain"}), 415, None),
        (ogc.post(items, json={**point, "properties": {**point["properties"], "major": "99"}}, headers={**key, **geo}),
         400, "invalid_feature"),
        (ogc.put(f"{items}/999999", json=point, headers={**key, **geo}), 404, "not_found"),
        (ogc.delete(f"{items}/999999", headers=key), 404, "not_found"),
        (ogc.post("/ogc/collections/waste_facilities/items", json=point, headers={**key, **geo}), 403, "forbidden"),
    ]
    for r, status, code in cases:
        assert r.status_code == status, r.text
        body = r.json()
        assert body["detail"] and (code is None or body["error"] == code), body
        assert r.headers["x-request-id"]
    created = ogc.post(items, json=point, headers={**key, **geo})
    assert created.status_code == 201 and created.headers["location"].startswith(str(ogc.base_url))
    metrics = ogc.get("/metrics").text
    assert 'method="POST",route="/ogc/collections/{collection_id}/items",status="201"' in metrics
    assert 'method="DELETE",route="/ogc/collections/{collection_id}/items/{feature_id}",status="404"' in metrics
