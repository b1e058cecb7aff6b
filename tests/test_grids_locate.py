"""Locate: interiors, shared edges and vertices (smallest code wins), outside, GCJ-02 input, the
in-memory index against PostGIS, and an edited grid seen by the next call."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from grid_fixtures import box

from gis import crs as gcrs
from gis.errors import InvalidInput, UnknownCRS
from gis.grids import locate


def test_interior_point_full_hierarchy(grid_district: psycopg.Connection) -> None:
    r = locate.locate_point(grid_district, 121.405, 31.305)
    assert r["outside"] is False
    assert r["district"] == {"code": "310113", "name": "宝山区"}
    assert r["street"] == {"code": "310113003", "name": "吴淞街道"}
    assert r["community"] == {"code": "310113003001", "name": "南社区"}
    assert r["unit_grid"] == {"code": "310113003001001", "name": "单元网格001"}
    assert r["eval_grid"] == {"code": "310113003001", "name": "吴淞评价网格001", "area_class": "A"}
    assert [(w["kind"], w["code"]) for w in r["work_grids"]] == [("responsibility", "R001"),
                                                                  ("sanitation_patrol", "S01")]
    assert r["work_grids"][0]["assignee"] == "张三"


@pytest.mark.parametrize("x, y, unit", [
    (121.41, 31.305, "310113003001001"),   # edge between 001 and 002 of one community
    (121.41, 31.31, "310113003001001"),    # vertex shared by four grids
    (121.42, 31.305, "310113003001002"),   # edge between two streets
    (121.42, 31.31, "310113003001002"),    # vertex of three grids in two streets
    (121.43, 31.315, "310113004001001"),   # edge inside the east community
    (121.44, 31.32, "310113004001002"),    # outer corner of the district
])
def test_edges_and_vertices_resolve_to_smallest_code(grid_district: psycopg.Connection, x: float, y: float,
                                                     unit: str) -> None:
    r = locate.locate_point(grid_district, x, y)
    assert r["unit_grid"]["code"] == unit
    assert r["community"]["code"] == unit[:12] and r["street"]["code"] == unit[:9]
    assert locate.locate_in_db(grid_district, x, y)["unit_grid"] == unit


def test_outside(grid_district: psycopg.Connection) -> None:
    r = locate.locate_point(grid_district, 121.5, 31.5)
    assert r["outside"] is True
    assert r["unit_grid"] is None and r["district"] is None and r["work_grids"] == []


def test_inside_district_but_no_unit_grid(grid_district: psycopg.Connection) -> None:
    grid_district.execute("DELETE FROM unit_grids WHERE code = '310113004001002'")
    r = locate.locate_point(grid_district, 121.435, 31.305)
    assert r["outside"] is False and r["unit_grid"] is None
    assert r["community"]["code"] == "310113004001" and r["district"]["code"] == "310113"
    assert r["eval_grid"]["code"] == "310113004001"   # by geometry, as PostGIS says


def test_gcj02_input(grid_district: psycopg.Connection) -> None:
    wgs = (121.4085, 31.305)                     # 150 m west of the 001/002 edge
    gx, gy = gcrs.wgs84_to_gcj02([wgs[0]], [wgs[1]])
    assert gx[0] > 121.41                        # the GCJ-02 offset alone would cross the edge
    as_gcj = locate.locate_point(grid_district, float(gx[0]), float(gy[0]), "GCJ02")
    assert as_gcj["unit_grid"]["code"] == "310113003001001"
    as_wgs = locate.locate_point(grid_district, float(gx[0]), float(gy[0]))
    assert as_wgs["unit_grid"]["code"] == "310113003001002"


def test_projected_crs_input(grid_district: psycopg.Connection) -> None:
    x, y = gcrs.transform([121.435], [31.315], 4490, "EPSG:4549")
    r = locate.locate_point(grid_district, float(x[0]), float(y[0]), "EPSG:4549")
    assert r["unit_grid"]["code"] == "310113004001002"


def test_bad_input(grid_district: psycopg.Connection) -> None:
    with pytest.raises(UnknownCRS):
        locate.locate_point(grid_district, 121.4, 31.3, "EPSG:999999")
    with pytest.raises(InvalidInput, match="point 1"):
        locate.locate(grid_district, [121.4, 500.0], [31.3, 31.3])
    with pytest.raises(InvalidInput):
        locate.locate(grid_district, [121.4, float("nan")], [31.3, 31.3])


def test_bulk_matches_postgis(grid_district: psycopg.Connection) -> None:
    rng = np.random.default_rng(7)
    xs = np.round(rng.uniform(121.395, 121.445, 150), 3)   # rounding puts many points on edges and vertices
    ys = np.round(rng.uniform(31.295, 31.325, 150), 3)
    located = locate.locate(grid_district, xs, ys)
    records = located.records()
    for x, y, rec in zip(xs.tolist(), ys.tolist(), records, strict=True):
        ref = locate.locate_in_db(grid_district, x, y)
        got = {k: (rec[k] or {}).get("code") for k in ("unit_grid", "community", "street", "district", "eval_grid")}
        assert got == {k: ref[k] for k in got}, (x, y)
        assert [f"{w['kind']}:{w['code']}" for w in rec["work_grids"]] == ref["work_grids"], (x, y)
    # The streamed JSON says the same as the records.
    import orjson
    assert [orjson.loads(b) for b in located.json_lines()] == records
    assert orjson.loads(b"".join(located.encode(chunk=37))) == records
    assert [orjson.loads(ln) for ln in b"".join(located.encode(ndjson=True, chunk=37)).splitlines()] == records


def test_index_sees_an_edited_grid(grid_district: psycopg.Connection) -> None:
    assert locate.locate_point(grid_district, 121.405, 31.305)["unit_grid"]["code"] == "310113003001001"
    before = locate.cache.get(grid_district).version
    grid_district.execute("UPDATE unit_grids SET geom = %s WHERE code = '310113003001001'",
                          (box(121.40, 31.30, 121.401, 31.301),))
    grid_district.execute("UPDATE unit_grids SET geom = %s WHERE code = '310113003001002'",
                          (box(121.401, 31.30, 121.42, 31.31),))
    assert locate.locate_point(grid_district, 121.405, 31.305)["unit_grid"]["code"] == "310113003001002"
    assert locate.cache.get(grid_district).version > before


def test_index_is_reused_while_nothing_changes(grid_district: psycopg.Connection) -> None:
    first = locate.cache.get(grid_district)
    locate.locate_point(grid_district, 121.405, 31.305)
    assert locate.cache.get(grid_district) is first
