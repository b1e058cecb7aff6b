"""The issue-13 families on a hand-drawn Jiangsu world (tests/geocode_families.py) in real PostGIS:
buildings in compounds, same-named streets told apart by region context, real-world noise, offsets from
intersections, colloquial POI names, rural and development-zone addresses — each with its confidence
ordering."""

from __future__ import annotations

import math

import psycopg
import pytest
from geocode_families import CROSS, ensure_families

from geocoder.index import IndexCache, ReferenceIndex
from geocoder.match import Match, geocode


@pytest.fixture(scope="module")
def indexes() -> IndexCache:
    return IndexCache()


@pytest.fixture
def world(database_url: str, db: psycopg.Connection, indexes: IndexCache) -> ReferenceIndex:
    ensure_families(database_url)
    return indexes.get(db)


def best(index: ReferenceIndex, q: str) -> Match:
    _, matches = geocode(index, q)
    assert matches, f"no match for {q!r}"
    return matches[0]


def metres(index: ReferenceIndex, m: Match, lon: float, lat: float) -> float:
    x, y = index.frame.to_xy(lon, lat)
    return math.hypot(m.x - float(x), m.y - float(y))


# ---- 1. buildings inside a compound -----------------------------------------------------------------


@pytest.mark.parametrize("q", ["金色家园3幢", "金色家园3号楼", "金色家园三栋", "金色小区3座", "大中镇金色家园3号楼"])
def test_building_plates_by_zone_name_and_alias(world: ReferenceIndex, q: str) -> None:
    m = best(world, q)
    assert (m.level, m.ref["id"], m.confidence) == ("doorplate", "B3", 1.0)


@pytest.mark.parametrize("q", ["阳光花苑2号楼", "阳光新村2栋", "阳光花苑2幢"])
def test_lane_plates_inside_the_compound_answer_its_buildings(world: ReferenceIndex, q: str) -> None:
    m = best(world, q)
    assert (m.level, m.ref["id"]) == ("doorplate", "L2")
    assert m.standard_address == "人民路25弄2号"


def test_building_confidence_ordering(world: ReferenceIndex) -> None:
    own = best(world, "金色家园3幢").confidence
    lane = best(world, "阳光花苑2号楼").confidence
    missing = best(world, "金色家园9幢")
    assert missing.level == "zone" and missing.standard_address == "金色家园"
    assert own > lane > best(world, "金色家园").confidence > missing.confidence


# ---- 2. the same street name in two towns -------------------------------------------------------------


@pytest.mark.parametrize(("q", "plate"), [("大中镇人民路88号", "D88"), ("新丰镇人民路88号", "X88"),
                                          ("大丰区大中镇人民路88号", "D88"), ("幸福社区人民路88号", "D88"),
                                          ("新华村人民路88号", "X88")])
def test_region_context_from_polygons_and_doorplates(world: ReferenceIndex, q: str, plate: str) -> None:
    m = best(world, q)
    assert (m.level, m.ref["id"], m.confidence) == ("doorplate", plate, 1.0)


def test_context_picks_the_towns_own_street_for_interpolation(world: ReferenceIndex) -> None:
    # 新丰镇's 人民路 is longer, listed first and reaches into 大中镇: 大中镇人民路87号 is still 大中镇's.
    m = best(world, "大中镇人民路87号")
    assert m.level == "interpolated" and m.x < world.frame.to_xy(120.445, 0)[0]


def test_context_confidence_ordering(world: ReferenceIndex) -> None:
    _, both = geocode(world, "人民路88号")
    assert {m.ref["id"] for m in both[:2]} == {"D88", "X88"}
    assert all(m.confidence < best(world, "大中镇人民路88号").confidence for m in both[:2])


# ---- 3. real-world noise -------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [
    "寄往大丰区大中镇人民路88号", "配送地址：大中镇，人民路88号", "单位地址:大中镇-人民路/88号",
    "现居大中镇人民路8 8号", "大中镇人民路No.88", "大中镇人民路88（近黄海路）",
    "江苏省盐城市大丰区大丰区大中镇人民路88号", "大中镇人民路88号对面",
    "大中镇\t人民路88号\n", "大中镇｜人民路88号门口", "盐城大丰区大中镇 人民路 88号", "大中镇人民路８８号",
])
def test_noise_around_an_address(world: ReferenceIndex, q: str) -> None:
    m = best(world, q)
    assert (m.level, m.ref["id"]) == ("doorplate", "D88")
    assert m.confidence == best(world, "大中镇人民路88号").confidence   # the same place, as sure


def test_missing_final_hao_in_a_lane(world: ReferenceIndex) -> None:
    assert best(world, "人民路25弄3").ref["id"] == "L3"


@pytest.mark.parametrize("q", ["东台市人民路88号", "北京市人民路88号", "寄往南京市鼓楼区人民路88号",
                               "配送地址：火星路1号"])
def test_noise_is_not_a_place_we_do_not_know(world: ReferenceIndex, q: str) -> None:
    assert geocode(world, q)[1] == []


# ---- 4. offsets from intersections and anchors ---------------------------------------------------------


@pytest.mark.parametrize(("q", "dx", "dy"), [
    ("人民路/黄海路路口往西约80米", -80, 0), ("人民路与黄海路交叉口北侧50米", 0, 50),
    ("黄海路人民路路口以东0.1公里", 100, 0), ("人民路和黄海路交叉口向南大约60m左右", 0, -60),
    ("人民路与黄海路交叉口东边30米", 30, 0), ("人民路与黄海路交叉口北面五十米", 0, 50),
])
def test_offsets_from_an_intersection(world: ReferenceIndex, q: str, dx: float, dy: float) -> None:
    m = best(world, q)
    assert m.level == "offset"
    x0, y0 = world.frame.to_xy(*CROSS)
    assert abs(m.x - float(x0) - dx) < 3 and abs(m.y - float(y0) - dy) < 3
    assert m.confidence < best(world, "人民路与黄海路交叉口").confidence


# ---- 5. short and colloquial POI names -----------------------------------------------------------------


@pytest.mark.parametrize(("q", "poi"), [
    ("二中", "P1"), ("大丰二中", "P1"), ("城东派出所", "P2"), ("便民服务站", "P3"), ("大中便民服务站", "P3"),
    ("黄海路公交车站", "P4"), ("黄海路站", "P4"), ("黄海路公交站", "P4"), ("大中中心小学", "P5"),
    ("新丰镇中心小学", "P6"),
])
def test_colloquial_poi_names(world: ReferenceIndex, q: str, poi: str) -> None:
    m = best(world, q)
    assert (m.level, m.ref["id"]) == ("poi", poi)


def test_poi_confidence_ordering_and_honesty(world: ReferenceIndex) -> None:
    full = best(world, "大丰区第二中学").confidence
    short = best(world, "第二中学").confidence
    abbreviated = best(world, "二中").confidence
    assert full > short > abbreviated
    _, tied = geocode(world, "中心小学")             # two equally good: say so
    assert {m.ref["id"] for m in tied[:2]} == {"P5", "P6"} and tied[0].confidence <= 0.6
    assert best(world, "大中中心小学").confidence > tied[0].confidence
    for q in ["第八中学", "八中", "城西派出所", "烈士陵园"]:
        assert geocode(world, q)[1] == [], q


# ---- 6. rural and development-zone addresses ------------------------------------------------------------


@pytest.mark.parametrize("q", ["大中镇海团村一组5号", "海团村1组5号", "大丰区大中镇海团村一组5", "海团村一组五号"])
def test_village_group_plates(world: ReferenceIndex, q: str) -> None:
    m = best(world, q)
    assert (m.level, m.ref["id"]) == ("doorplate", "H5")


def test_rural_confidence_ordering(world: ReferenceIndex) -> None:
    plate = best(world, "海团村一组5号")
    group = best(world, "小海镇海团村一组".replace("小海镇", "大中镇"))
    village = best(world, "海团村九组")                   # no such group: the village, less sure
    assert group.level == "zone" and metres(world, group, 120.411, 33.1405) < 20
    assert village.level == "region" and village.ref["code"] == "320904101201"
    assert plate.confidence > group.confidence > village.confidence


@pytest.mark.parametrize(("q", "plate"), [("开发区东风路18号", "K18"), ("大丰经济开发区东风路18号", "K18"),
                                          ("经济开发区东风路18号", "K18"), ("大丰开发区东风路18号", "K18"),
                                          ("新丰镇东风路18号", "F18")])
def test_development_zone_addresses(world: ReferenceIndex, q: str, plate: str) -> None:
    m = best(world, q)
    assert (m.level, m.ref["id"], m.confidence) == ("doorplate", plate, 1.0)
