"""The grid and code endpoints through a real HTTP server: codes, locate (one, bulk JSON/NDJSON),
sampling with roles, responsibility, census, and the versioned layers (ETag, 304, since=N)."""

from __future__ import annotations

import httpx
import numpy as np
import orjson
import psycopg
from grid_fixtures import box

from gis import crs as gcrs


def test_codes_endpoint(grid_district: psycopg.Connection, http: httpx.Client) -> None:
    r = http.get("/api/codes/310113003001001")
    assert r.status_code == 200
    body = r.json()
    assert body["kind"] == "unit_grid" and body["exists"] is True and body["ambiguous"] is False
    assert [s["label"] for s in body["segments"]][:3] == ["宝山区", "吴淞街道", "南社区"]
    both = http.get("/api/codes/310113003001").json()
    assert both["ambiguous"] is True and [i["kind"] for i in both["interpretations"]] == ["community", "eval_grid"]
    bad = http.get("/api/codes/310113999001005")
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid_code"
    assert bad.json()["detail"] == "street segment 999 of 310113999001005 does not exist"
    assert http.get("/api/codes/31011x").status_code == 422


def test_locate_get(grid_district: psycopg.Connection, http: httpx.Client) -> None:
    r = http.get("/api/grids/locate", params={"lon": 121.41, "lat": 31.31})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"district", "street", "community", "unit_grid", "eval_grid", "work_grids"}
    assert body["unit_grid"]["code"] == "310113003001001"
    gx, gy = gcrs.wgs84_to_gcj02([121.4085], [31.305])
    gcj = http.get("/api/grids/locate", params={"lon": gx[0], "lat": gy[0], "crs": "GCJ02"}).json()
    assert gcj["unit_grid"]["code"] == "310113003001001"
    assert http.get("/api/grids/locate", params={"lon": 121.6, "lat": 31.6}).json()["outside"] is True
    bad = http.get("/api/grids/locate", params={"lon": 121.4, "lat": 31.3, "crs": "EPSG:0"})
    assert bad.status_code == 400 and bad.json()["error"] == "unknown_crs"


def test_locate_post_json_array_in_order(grid_district: psycopg.Connection, http: httpx.Client) -> None:
    pts = [[121.435, 31.315], [121.405, 31.305], [121.6, 31.6], {"lon": 121.415, "lat": 31.315}]
    r = http.post("/api/grids/locate", content=orjson.dumps(pts), headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    got = r.json()
    assert [g["unit_grid"]["code"] if g["unit_grid"] else None for g in got] == [
        "310113004001002", "310113003001001", None, "310113003002002"]
    assert got[2]["outside"] is True


def test_locate_post_many_and_ndjson(grid_district: psycopg.Connection, http: httpx.Client) -> None:
    rng = np.random.default_rng(3)
    xs, ys = rng.uniform(121.40, 121.44, 30_000), rng.uniform(31.30, 31.32, 30_000)
    body = {"crs": "EPSG:4490", "points": np.column_stack([xs, ys]).tolist()}
    r = http.post("/api/grids/locate", content=orjson.dumps(body))
    got = r.json()
    assert len(got) == 30_000
    expect_first = "310113004001" if xs[0] >= 121.42 else ("310113003001" if ys[0] < 31.31 else "310113003002")
    assert got[0]["community"]["code"] == expect_first
    lines = b"\n".join(orjson.dumps([x, y]) for x, y in zip(xs[:500].tolist(), ys[:500].tolist(), strict=True))
    nd = http.post("/api/grids/locate", content=lines, headers={"content-type": "application/x-ndjson"})
    assert nd.headers["content-type"].startswith("application/x-ndjson")
    answers = [orjson.loads(ln) for ln in nd.content.splitlines()]
    assert [a["unit_grid"]["code"] for a in answers] == [g["unit_grid"]["code"] for g in got[:500]]


def test_locate_post_bad_input(grid_district: psycopg.Connection, http: httpx.Client) -> None:
    r = http.post("/api/grids/locate", content=b'[[121.4, 31.3], ["a", 1]]')
    assert r.status_code == 400 and "point 1" in r.json()["detail"]
    r = http.post("/api/grids/locate", content=b"[121.4, 31.3")
    assert r.status_code == 400
    too_many = b"[" + b",".join([b"[121.4,31.3]"] * 100_001) + b"]"
    r = http.post("/api/grids/locate", content=too_many)
    assert r.status_code == 413 and "100001 points" in r.json()["detail"]


def test_sample_needs_inspector(grid_district: psycopg.Connection, http: httpx.Client,
                                api_keys: dict[str, str]) -> None:
    grid_district.execute("DELETE FROM unit_grids")
    grid_district.execute("DELETE FROM eval_grids")
    for k, cls in enumerate("AAABBCCC", 1):
        x = 121.40 + k * 0.001
        grid_district.execute("INSERT INTO eval_grids (code, street_code, area_class, geom) VALUES (%s, %s, %s, %s)",
                              (f"310113003{k:03d}", "310113003", cls, box(x, 31.30, x + 0.001, 31.301)))
    payload = {"city_class": 1, "seed": 99}
    assert http.post("/api/eval-grids/sample", json=payload).status_code == 401
    assert http.post("/api/eval-grids/sample", json=payload,
                     headers={"X-API-Key": api_keys["viewer"]}).status_code == 403
    r = http.post("/api/eval-grids/sample", json=payload, headers={"X-API-Key": api_keys["inspector"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(g["area_class"] for g in body["grids"]) == list("AAABBCCC")
    assert body["actor"] == "test-inspector" and body["seed"] == 99
    again = http.post("/api/eval-grids/sample", json=payload, headers={"X-API-Key": api_keys["admin"]}).json()
    assert [g["code"] for g in again["grids"]] == [g["code"] for g in body["grids"]]
    short = http.post("/api/eval-grids/sample", json={"city_class": 1, "seed": 1},
                      headers={"X-API-Key": api_keys["inspector"]})
    assert short.status_code == 200
    grid_district.execute("UPDATE eval_grids SET area_class = 'A' WHERE area_class = 'C'")
    short = http.post("/api/eval-grids/sample", json={"city_class": 2, "seed": 1},
                      headers={"X-API-Key": api_keys["inspector"]})
    assert short.status_code == 400 and "cannot draw 2 C (only 0 available)" in short.json()["detail"]
    draws = http.get("/api/eval-grids/draws", headers={"X-API-Key": api_keys["inspector"]}).json()["draws"]
    assert [d["seed"] for d in draws] == [1, 99, 99]


def test_responsibility_and_census(grid_district: psycopg.Connection, http: httpx.Client) -> None:
    r = http.get("/api/grids/responsibility", params={"lon": 121.415, "lat": 31.305, "person": "张三"}).json()
    assert r["inside"] is False and r["alert"] == "cross_grid" and r["distance_m"] > 400
    c = http.get("/api/grids/census", params={"level": "street"}).json()
    assert [a["code"] for a in c["areas"]] == ["310113003", "310113004"]
    assert http.get("/api/grids/census", params={"level": "city"}).status_code == 422


def test_layer_etag_and_changes_since(grid_district: psycopg.Connection, http: httpx.Client) -> None:
    full = http.get("/api/grids/unit")
    assert full.status_code == 200
    etag = full.headers["etag"]
    fc = full.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 6
    version = fc["version"]
    assert http.get("/api/grids/unit", headers={"If-None-Match": etag}).status_code == 304
    # No change: an empty answer since the current version.
    same = http.get("/api/grids/unit", params={"since": version}).json()
    assert same["upserted"] == [] and same["deleted"] == [] and same["reset"] is False
    # One edit, one delete, one insert.
    grid_district.execute("UPDATE unit_grids SET name = '改名' WHERE code = '310113003001001'")
    grid_district.execute("DELETE FROM unit_grids WHERE code = '310113004001002'")
    grid_district.execute("INSERT INTO unit_grids (code, community_code, geom) VALUES ('310113004001003', "
                          "'310113004001', %s)", (box(121.43, 31.30, 121.44, 31.32),))
    assert http.get("/api/grids/unit", headers={"If-None-Match": etag}).status_code == 200
    changes = http.get("/api/grids/unit", params={"since": version})
    body = changes.json()
    assert sorted(f["id"] for f in body["upserted"]) == ["310113003001001", "310113004001003"]
    assert body["deleted"] == ["310113004001002"]
    assert next(f for f in body["upserted"] if f["id"] == "310113003001001")["properties"]["name"] == "改名"
    assert body["version"] > version and changes.headers["etag"] == f'"unit-{body["version"]}"'
    # Other layers keep their versions.
    eval_tag = http.get("/api/grids/eval").headers["etag"]
    assert http.get("/api/grids/eval", headers={"If-None-Match": eval_tag}).status_code == 304
    # A truncate since then means: take everything again.
    grid_district.execute("TRUNCATE work_grids")
    work = http.get("/api/grids/work", params={"since": 0}).json()
    assert work["reset"] is True and work["upserted"] == []
    assert http.get("/api/grids/bogus").status_code == 422
