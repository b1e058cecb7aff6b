"""Forward matching on a hand-drawn world (tests/geocode_world.py) in a real PostGIS database."""

from __future__ import annotations

import math

import psycopg
import pytest
from geocode_world import LAT, SETBACK, ensure_world, plate_xy

from geocoder.index import IndexCache, ReferenceIndex
from geocoder.match import geocode


@pytest.fixture(scope="module")
def indexes() -> IndexCache:
    """The tests' own index cache (as the app holds one): one load per reference-data version."""
    return IndexCache()


@pytest.fixture
def world(database_url: str, db: psycopg.Connection, indexes: IndexCache) -> ReferenceIndex:
    ensure_world(database_url)
    return indexes.get(db)


def metres(index: ReferenceIndex, m, lon: float, lat: float) -> float:
    x, y = index.frame.to_xy(lon, lat)
    return math.hypot(m.x - float(x), m.y - float(y))


def best(index: ReferenceIndex, q: str):
    _, matches = geocode(index, q)
    assert matches, f"no match for {q}"
    return matches[0]


def test_exact_doorplate(world: ReferenceIndex) -> None:
    m = best(world, "淞滨路9号")
    assert (m.level, m.confidence, m.standard_address) == ("doorplate", 1.0, "淞滨路9号")
    assert metres(world, m, *plate_xy(9)) < 1


@pytest.mark.parametrize("q", ["上海市宝山区淞南镇淞滨路9号", "淞滨路９号", "淞滨路九号", "淞滨路 9 号。",
                               "宝山区淞滨路9号", "淞兴西路9号", "淞滨大道9号"])
def test_variants_of_one_plate(world: ReferenceIndex, q: str) -> None:
    m = best(world, q)
    assert m.level == "doorplate" and m.standard_address == "淞滨路9号"


@pytest.mark.parametrize("n", [7, 8, 15, 16, 30 + 1, 75, 76])
def test_interpolation_between_known_numbers_on_both_sides(world: ReferenceIndex, n: int) -> None:
    m = best(world, f"淞滨路{n}号")
    assert m.level == "interpolated"
    assert metres(world, m, *plate_xy(n)) < 10       # on the right side of the street, at the right place
    assert (m.y > world.frame.to_xy(0, LAT)[1]) == (n % 2 == 1)   # odd north (left), even south (right)


def test_interpolation_uses_the_segment_range_past_the_last_known_number(world: ReferenceIndex) -> None:
    # 长江路 has no plates at all: its 1–80 range spans 31.340 → 31.360.
    m = best(world, "长江路41号")
    assert m.level == "interpolated" and m.ref["method"] == "range"
    assert metres(world, m, 121.480, 31.340 + 0.020 * 40 / 79) < 20
    lo, hi = best(world, "长江路1号"), best(world, "长江路80号")   # range ends
    assert metres(world, lo, 121.480, 31.340) < 15 and metres(world, hi, 121.480, 31.360) < 15


def test_numbers_beyond_any_range_do_not_match(world: ReferenceIndex) -> None:
    assert geocode(world, "淞滨路500号")[1] == []
    assert geocode(world, "长江路999号")[1] == []


def test_lane_and_building_plates(world: ReferenceIndex) -> None:
    assert best(world, "淞滨路30弄5号").standard_address == "淞滨路30弄5号"
    assert best(world, "淞滨路三十弄五号").level == "doorplate"
    m = best(world, "淞滨路30弄")
    assert m.level == "doorplate" and m.standard_address == "淞滨路30弄"
    near = best(world, "淞滨路30弄3号")          # no plate of its own: the nearest in the lane
    assert near.level == "interpolated" and near.confidence < 1
    assert geocode(world, "淞滨路30弄90号")[1] == []
    b = best(world, "宝杨小区3号楼")
    assert (b.level, b.standard_address) == ("doorplate", "宝杨小区3号楼")
    assert best(world, "宝杨小区三幢").standard_address == "宝杨小区3号楼"


def test_zone_poi_street_region(world: ReferenceIndex) -> None:
    assert best(world, "宝杨小区").level == "zone"
    assert best(world, "宝杨新村").standard_address == "宝杨小区"     # alias
    missing = best(world, "宝杨小区99号楼")
    assert missing.level == "zone" and missing.confidence < best(world, "宝杨小区").confidence
    assert best(world, "沃尔玛(淞滨路店)").level == "poi"
    assert best(world, "沃尔玛").standard_address == "沃尔玛(淞滨路店)"   # short name
    assert best(world, "淞南镇人民政府").standard_address == "上海市宝山区淞南镇人民政府"
    assert best(world, "淞南公园").standard_address == "人民公园"         # old name
    assert best(world, "淞滨路").level == "street"
    r = best(world, "宝山区淞南镇")
    assert r.level == "region" and r.ref["code"] == "310113113"


def test_confidence_orders_the_levels(world: ReferenceIndex) -> None:
    conf = {q: best(world, q).confidence for q in
            ["淞滨路9号", "淞滨路7号", "长江路41号", "宝杨小区", "淞滨路", "淞南镇", "淞宾路9号"]}
    assert conf["淞滨路9号"] > conf["淞滨路7号"] > conf["长江路41号"] > conf["淞滨路"] > conf["淞南镇"]
    assert conf["淞滨路9号"] > conf["宝杨小区"] > conf["淞滨路"]
    assert conf["淞宾路9号"] < conf["淞滨路9号"]                    # fuzzy is less sure


@pytest.mark.parametrize("q", ["淞滨路与长江路交叉口", "淞滨路和长江路交叉口", "淞滨路长江路路口", "长江路淞滨路口",
                               "淞滨路/长江路十字路口"])
def test_intersections(world: ReferenceIndex, q: str) -> None:
    m = best(world, q)
    assert m.level == "intersection"
    assert metres(world, m, 121.480, LAT) < 5


def test_poi_and_street_junction(world: ReferenceIndex) -> None:
    m = best(world, "人民公园西大门与蕰川路丁字口")
    assert m.level == "intersection"
    assert metres(world, m, 121.500, 31.346) < 5


def test_streets_that_do_not_meet_are_no_intersection(world: ReferenceIndex) -> None:
    assert geocode(world, "泰和路与蕰川路交叉口")[1] == []


def test_directional_offsets_from_each_kind(world: ReferenceIndex) -> None:
    m = best(world, "淞滨路9号东50米")
    assert m.level == "offset" and m.standard_address == "淞滨路9号东50米"
    assert metres(world, m, *plate_xy(9)) == pytest.approx(50, abs=0.5)
    x0, _ = world.frame.to_xy(*plate_xy(9))
    assert m.x - float(x0) == pytest.approx(50, abs=0.5)
    poi = best(world, "人民公园西328米")
    assert poi.level == "offset" and metres(world, poi, 121.5020, 31.3460) == pytest.approx(328, abs=1)
    cross = best(world, "淞滨路与长江路交叉口北100米")
    assert cross.level == "offset" and metres(world, cross, 121.480, LAT) == pytest.approx(100, abs=1)
    assert cross.confidence < best(world, "淞滨路与长江路交叉口").confidence


def test_fuzzy_names(world: ReferenceIndex) -> None:
    for q in ["淞宾路9号", "淞滨9号", "淞滨滨路9号"]:             # wrong, missing, extra character
        m = best(world, q)
        assert m.standard_address == "淞滨路9号" and m.confidence < 1, q
    assert best(world, "沃尔码").standard_address == "沃尔玛(淞滨路店)"
    assert geocode(world, "松宾路9号")[1] == []                   # two edits: not a typo any more


def test_region_context_disambiguates_same_named_streets(world: ReferenceIndex) -> None:
    south = best(world, "淞南镇泰和路8号")
    north = best(world, "吴淞街道泰和路8号")
    assert south.ref["id"] == "T8S" and north.ref["id"] == "T8N"
    assert south.confidence == 1.0
    _, both = geocode(world, "泰和路8号")
    assert {m.ref["id"] for m in both[:2]} == {"T8S", "T8N"}
    assert all(m.confidence < 1.0 for m in both[:2])               # ambiguous without context
    assert best(world, "泰和路12号").ref["id"] == "T12N"            # the number decides


@pytest.mark.parametrize("q", ["火星路1号", "北京市海淀区淞滨路9号", "上海市浦东新区淞滨路9号", "杭州市淞滨路9号",
                               "不存在的地方", "12345", "", "号"])
def test_negatives_answer_nothing(world: ReferenceIndex, q: str) -> None:
    assert geocode(world, q)[1] == []


def test_index_follows_data_changes(world: ReferenceIndex, db: psycopg.Connection, indexes: IndexCache) -> None:
    assert geocode(world, "淞滨路7号")[1][0].level == "interpolated"
    lon, lat = plate_xy(7)
    db.execute("INSERT INTO doorplates (add_id, add_name, road_name, house_num, street_id, geom)"
               " VALUES ('P7', '淞滨路7号', '淞滨路', 7, 1, ST_SetSRID(ST_MakePoint(%s, %s), 4490))", (lon, lat))
    fresh = indexes.get(db)
    assert fresh is not world and fresh.version > world.version
    assert geocode(fresh, "淞滨路7号")[1][0].level == "doorplate"
    assert indexes.get(db) is fresh                                   # unchanged data: the same index
    db.execute("DELETE FROM doorplates WHERE add_id = 'P7'")
    assert geocode(indexes.get(db), "淞滨路7号")[1][0].level == "interpolated"


def test_held_back_plates_are_interpolated(db: psycopg.Connection, world: ReferenceIndex) -> None:
    held = ReferenceIndex.load(db, exclude_plates=frozenset({"P9"}))
    m = geocode(held, "淞滨路9号")[1][0]
    assert m.level == "interpolated" and metres(held, m, *plate_xy(9)) < 10
    assert abs(world.frame.to_xy(0, LAT + SETBACK)[1] - m.y) < 3
