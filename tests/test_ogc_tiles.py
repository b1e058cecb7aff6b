"""OGC API – Tiles: MVT tiles in WebMercatorQuad, tileset metadata, TileJSON, ETags and a tile cache
that a write invalidates."""

from __future__ import annotations

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from ogc_data import load

BASE = "/ogc/collections/components/tiles/WebMercatorQuad"


@pytest.fixture
def ogc(clean_db: str, http: httpx.Client) -> httpx.Client:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        load(conn)
    return http


def tile_of(lon: float, lat: float, z: int) -> morecantile.Tile:
    return morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)


def test_tile_matrix_set_tilesets_and_tilejson(ogc: httpx.Client) -> None:
    tms = ogc.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) >= 20
    assert ogc.get("/ogc/tileMatrixSets").json()["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
    sets = ogc.get("/ogc/collections/components/tiles").json()["tilesets"]
    assert sets[0]["dataType"] == "vector"
    meta = ogc.get(BASE).json()
    template = next(link for link in meta["links"] if link["rel"] == "item")
    assert template["href"].endswith("/{tileMatrix}/{tileRow}/{tileCol}")
    assert template["type"] == "application/vnd.mapbox-vector-tile"
    assert meta["layers"][0]["id"] == "components"
    tj = ogc.get(f"{BASE}/tilejson.json").json()
    assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/{z}/{y}/{x}")
    assert tj["bounds"] == pytest.approx([121.41, 31.31, 121.418, 31.318])
    assert tj["vector_layers"][0]["fields"]["major"] == "大类代码"


def test_mvt_tile_holds_the_features_of_its_area(ogc: httpx.Client) -> None:
    t = tile_of(121.411, 31.311, 15)
    r = ogc.get(f"{BASE}/{t.z}/{t.y}/{t.x}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(r.content)["components"]
    names = {f["properties"]["name"] for f in layer["features"]}
    assert "上水井盖00" in names
    assert all(f["properties"]["major_name"] in ("公用设施", "市容环境设施") for f in layer["features"])
    g = tile_of(121.41, 31.31, 13)
    grid = ogc.get(f"/ogc/collections/unit_grids/tiles/WebMercatorQuad/{g.z}/{g.y}/{g.x}")
    assert grid.status_code == 200
    assert mapbox_vector_tile.decode(grid.content)["unit_grids"]["features"][0]["geometry"]["type"] == "Polygon"


def test_etag_304_and_cache_invalidated_by_a_write(ogc: httpx.Client, db: psycopg.Connection) -> None:
    t = tile_of(121.411, 31.311, 16)
    url = f"{BASE}/{t.z}/{t.y}/{t.x}"
    first = ogc.get(url)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    assert ogc.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert ogc.get(url).content == first.content  # served from the cache
    db.execute("UPDATE components SET name = '已改名' WHERE id = '3101130101000001'")
    second = ogc.get(url)
    assert second.headers["etag"] != etag
    names = {f["properties"]["name"] for f in mapbox_vector_tile.decode(second.content)["components"]["features"]}
    assert "已改名" in names
    assert ogc.get(url, headers={"If-None-Match": etag}).status_code == 200


def test_empty_and_invalid_tiles(ogc: httpx.Client) -> None:
    t = tile_of(0.0, 0.0, 15)
    assert ogc.get(f"{BASE}/{t.z}/{t.y}/{t.x}").status_code == 204
    assert ogc.get(f"{BASE}/3/9/1").status_code == 404
    assert ogc.get(f"{BASE}/30/0/0").status_code == 404
    r = ogc.get("/ogc/collections/components/tiles/WorldCRS84Quad/1/0/0")
    assert r.status_code == 404 and "WebMercatorQuad" in r.json()["detail"]
    assert ogc.get("/ogc/collections/nope/tiles").status_code == 404


def _clusters(ogc: httpx.Client, t: morecantile.Tile, below: int = 15) -> list[dict]:
    r = ogc.get(f"{BASE}/{t.z}/{t.y}/{t.x}", params={"cluster": below})
    assert r.status_code == 200, r.text
    return [f["properties"] for f in mapbox_vector_tile.decode(r.content)["components"]["features"]]


def test_clustered_tiles_count_every_point_of_the_tile_by_class(ogc: httpx.Client, db: psycopg.Connection) -> None:
    """Below the asked zoom a tile holds clusters whose counts, per 大类 and per 大类-小类, add up to
    the points inside the tile (no buffer: each point in one tile); from that zoom on, points again."""
    t = tile_of(121.414, 31.314, 12)
    clusters = _clusters(ogc, t)
    assert clusters and all("id" not in p and "name" not in p for p in clusters)
    bounds = morecantile.tms.get("WebMercatorQuad").bounds(t)
    inside = ("FROM components WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4490)) "
              "AND kind = 'component'")
    box = (bounds.left, bounds.bottom, bounds.right, bounds.top)
    (total,), = db.execute(f"SELECT count(*) {inside}", box).fetchall()
    assert total > 0 and sum(p["point_count"] for p in clusters) == total
    for level, sql in (("major", "major"), ("minor", "major || '-' || minor")):
        expected = dict(db.execute(f"SELECT 'c:' || {sql}, count(*)::int {inside} GROUP BY 1", box).fetchall())
        got: dict[str, int] = {}
        for p in clusters:
            for k, n in p.items():
                if k.startswith("c:") and (k.count("-") == 1) == (level == "minor"):
                    got[k] = got.get(k, 0) + n
        assert got == expected, level
    assert all(p["point_count"] == sum(n for k, n in p.items() if k.startswith("c:") and "-" not in k)
               for p in clusters)
    # at or above the clusters' zoom the same query answers points
    z15 = tile_of(121.411, 31.311, 15)
    points = mapbox_vector_tile.decode(ogc.get(f"{BASE}/{z15.z}/{z15.y}/{z15.x}", params={"cluster": 15}).content)
    assert "上水井盖00" in {f["properties"].get("name") for f in points["components"]["features"]}
    # a write changes the clusters (the cache is versioned like any tile)
    db.execute("DELETE FROM components WHERE id = '3101130101000001'")
    after = _clusters(ogc, t)
    assert sum(p["point_count"] for p in after) == total - 1
    assert sum(p.get("c:01-01", 0) for p in after) == expected["c:01-01"] - 1


def test_cluster_is_refused_where_it_means_nothing(ogc: httpx.Client) -> None:
    t = tile_of(121.414, 31.314, 12)
    r = ogc.get(f"/ogc/collections/unit_grids/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}", params={"cluster": 15})
    assert r.status_code == 400 and "unit_grids" in r.json()["detail"] and "cluster" in r.json()["detail"]
    for bad in ("x", "0", "-3"):
        r = ogc.get(f"{BASE}/{t.z}/{t.y}/{t.x}", params={"cluster": bad})
        assert r.status_code == 400 and "cluster" in r.json()["detail"], bad
