"""Normalisation and segmentation of address text (no database: the region names are given)."""

from __future__ import annotations

import pytest

from geocoder.normalise import cn_to_int, normalise
from geocoder.segment import parse

REGIONS = {"宝山区": 0, "淞南镇": 1, "淞南街道": 1, "海团村": 2}
CITIES = ("上海市", "上海")


@pytest.mark.parametrize("text, value", [
    ("一百二十三", 123), ("二十八", 28), ("十", 10), ("十五", 15), ("一二三", 123), ("两千零五", 2005),
    ("三百零一", 301), ("九", 9),
])
def test_chinese_numerals(text: str, value: int) -> None:
    assert cn_to_int(text) == value


@pytest.mark.parametrize("raw, expected", [
    ("淞滨路１２３号", "淞滨路123号"),                    # full-width digits
    ("ＡＢＣ大厦", "ABC大厦"),                           # full-width letters
    ("淞滨路一百二十三号", "淞滨路123号"),               # numeral before 号
    ("淞滨路二十八弄", "淞滨路28弄"),                    # before 弄
    ("淞滨路28弄三支弄五号", "淞滨路28弄3支弄5号"),      # 支弄
    ("宝杨小区三号楼", "宝杨小区3号楼"),                 # 号楼
    ("宝杨小区五幢", "宝杨小区5幢"), ("宝杨小区七栋", "宝杨小区7栋"), ("宝杨小区3号楼六零二室", "宝杨小区3号楼602室"),
    ("淞滨路 12 号，", "淞滨路12号"),                     # spacing and punctuation
    ("淞滨路、长江路（交叉口）", "淞滨路长江路(交叉口)"),
    ("淞滨路与长江路十字路口", "淞滨路与长江路交叉口"),  # junction variants
    ("淞滨路与长江路交叉路口", "淞滨路与长江路交叉口"), ("淞滨路与长江路交汇处", "淞滨路与长江路交叉口"),
    ("人民公园与飞达路丁字路口", "人民公园与飞达路丁字口"),
    ("一二八纪念路5号", "一二八纪念路5号"),             # numerals inside a name stay
    ("三门路", "三门路"), ("淞南八村", "淞南八村"),
    ("淞滨路5号西五十米", "淞滨路5号西50米"),
])
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_region_parts_are_cut_and_named() -> None:
    p = parse("上海市宝山区淞南镇淞滨路100号", REGIONS, CITIES)
    assert p.regions == ["上海市", "宝山区", "淞南镇"]
    assert (p.base, p.number, p.foreign) == ("淞滨路", 100, None)


def test_other_cities_and_districts_are_foreign() -> None:
    assert parse("北京市海淀区中关村大街1号", REGIONS, CITIES).foreign == "北京市"
    assert parse("杭州西湖区文三路1号", REGIONS, CITIES).foreign == "杭州"
    assert parse("上海市浦东新区世纪大道1号", REGIONS, CITIES).foreign == "浦东新区"
    assert parse("宝杨小区3号楼", REGIONS, CITIES).foreign is None  # 小区 is not a district


@pytest.mark.parametrize("raw, parts", [
    ("淞滨路100号", {"base": "淞滨路", "number": 100}),
    ("淞滨路100-2号", {"base": "淞滨路", "number": 100, "number_sub": 2}),
    ("淞滨路100弄", {"base": "淞滨路", "lane": 100}),
    ("淞滨路100弄5号", {"base": "淞滨路", "lane": 100, "number": 5}),
    ("淞滨路100弄3支弄5号", {"base": "淞滨路", "lane": 100, "sublane": 3, "number": 5}),
    ("宝杨小区3号楼", {"base": "宝杨小区", "building": 3}),
    ("宝杨小区3幢2单元602室", {"base": "宝杨小区", "building": 3, "unit": 2, "room": 602}),
    ("淞滨路100号3号楼", {"base": "淞滨路", "number": 100, "building": 3}),
    ("淞滨路100", {"base": "淞滨路", "number": 100}),
    ("沃尔玛东50米", {"base": "沃尔玛", "direction": "东", "distance_m": 50.0}),
    ("淞滨路100号西北约1.5公里", {"base": "淞滨路", "number": 100, "direction": "西北", "distance_m": 1500.0}),
    ("人民公园附近", {"base": "人民公园", "notes": ["附近"]}),
    ("淞滨路100号(靠近地铁站)", {"base": "淞滨路", "number": 100, "brackets": ["靠近地铁站"]}),
    ("淞滨路与长江路交叉口", {"base": "淞滨路与长江路", "junction": "交叉口"}),
    ("淞滨路长江路路口", {"base": "淞滨路长江路路口", "junction": "路口"}),
    ("海团村一组", {"regions": ["海团村"], "base": "海团村1组"}),   # a group is a place of its own
])
def test_segment_kinds(raw: str, parts: dict) -> None:
    got = parse(raw, REGIONS, CITIES).as_dict()
    for key, value in parts.items():
        assert got.get(key) == value, (key, got)
