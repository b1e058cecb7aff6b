"""普查成果 against the hand-made district, areas checked with an independent geodesic computation;
and the responsibility check (跨网格 / 脱岗)."""

from __future__ import annotations

import psycopg
import pytest
from grid_fixtures import UNITS
from pyproj import Geod

from gis.errors import InvalidInput, NotFound
from gis.grids.census import census
from gis.grids.responsibility import check_responsibility

GEOD = Geod(ellps="GRS80")


def box_area(x0: float, y0: float, x1: float, y1: float) -> float:
    area, _ = GEOD.polygon_area_perimeter([x0, x1, x1, x0], [y0, y0, y1, y1])
    return abs(area)



def test_district_figures(grid_district_with_components: psycopg.Connection) -> None:
    (d,) = census(grid_district_with_components, "district")
    assert d["code"] == "310113" and d["name"] == "宝山区"
    assert d["area_m2"] == pytest.approx(box_area(121.40, 31.30, 121.44, 31.32), rel=1e-4)
    assert d["unit_grids"]["count"] == 6
    assert d["unit_grids"]["area_m2"] == pytest.approx(sum(box_area(*b) for b in UNITS.values()), rel=1e-4)
    assert d["responsibility_grids"]["count"] == 2 and d["supervisors"] == 2
    assert d["responsibility_grids"]["area_m2"] == pytest.approx(
        box_area(121.40, 31.30, 121.41, 31.31) + box_area(121.42, 31.30, 121.43, 31.31), rel=1e-4)
    km2 = d["area_m2"] / 1e6
    assert d["components"]["count"] == 4
    assert d["components"]["density_per_km2"] == pytest.approx(4 / km2, rel=1e-3)
    assert d["components"]["by_major"]["01"] == {"name": "公用设施", "count": 2,
                                                 "density_per_km2": pytest.approx(2 / km2, rel=1e-3)}
    assert set(d["components"]["by_major"]) == {"01", "02", "04"}


def test_street_and_community_figures(grid_district_with_components: psycopg.Connection) -> None:
    streets = {r["code"]: r for r in census(grid_district_with_components, "street")}
    assert streets["310113003"]["unit_grids"]["count"] == 4 and streets["310113004"]["unit_grids"]["count"] == 2
    assert streets["310113003"]["components"]["count"] == 3 and streets["310113004"]["components"]["count"] == 1
    assert streets["310113003"]["supervisors"] == 1 and streets["310113004"]["supervisors"] == 1
    comms = {r["code"]: r for r in census(grid_district_with_components, "community", "310113003")}
    assert list(comms) == ["310113003001", "310113003002"]
    assert comms["310113003001"]["components"]["by_major"]["01"]["count"] == 2
    assert comms["310113003002"]["responsibility_grids"]["count"] == 0
    assert comms["310113003002"]["area_m2"] == pytest.approx(box_area(121.40, 31.31, 121.42, 31.32), rel=1e-4)
    with pytest.raises(InvalidInput):
        census(grid_district_with_components, "province")


def test_responsibility(grid_district_with_components: psycopg.Connection) -> None:
    inside = check_responsibility(grid_district_with_components, 121.405, 31.305, person="张三")
    assert inside["inside"] is True and inside["distance_m"] == 0 and inside["alert"] is None
    out = check_responsibility(grid_district_with_components, 121.415, 31.305, person="张三", purpose="position")
    assert out["inside"] is False and out["alert"] == "off_post" and out["nearest_grid"] == "R001"
    # 0.005° of longitude at 31.305°N from the grid's east edge.
    _, _, dist = GEOD.inv(121.41, 31.305, 121.415, 31.305)
    assert out["distance_m"] == pytest.approx(dist, rel=2e-3)
    team = check_responsibility(grid_district_with_components, 121.425, 31.305, team="T2")
    assert team["inside"] is True and team["grids"][0]["assignee"] == "李四"
    report = check_responsibility(grid_district_with_components, 121.425, 31.305, person="张三")
    assert report["alert"] == "cross_grid"
    with pytest.raises(NotFound, match="王五"):
        check_responsibility(grid_district_with_components, 121.405, 31.305, person="王五")
    with pytest.raises(InvalidInput):
        check_responsibility(grid_district_with_components, 121.405, 31.305)
