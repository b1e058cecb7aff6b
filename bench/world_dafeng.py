"""A second, independent evaluation world for the geocoder: a Jiangsu district (大丰区 320904).

Written without the demo generator (gis/demo) on purpose: its own layout, naming style and noise model,
so that tuning the geocoder to one world does not tune it to the other. It writes the five
GB/T 30428.3 layers as GeoJSON with the standard property names (regions with 6/9/12/15-digit AddIDs,
zones, streets, doorplates, POIs) for `citygrid import`, and a query set (JSON lines) with truth.

Layout: six cells of 4 × 3 km in two rows; five towns (镇) and one development zone (经济开发区).
A town's western half is its built-up core: two communities (社区), a grid of 4 east–west and 3
north–south roads, two compounds (one with 幢/号楼 building plates carrying ZoneName/HouseName, one
whose buildings are lane plates `X路N弄M号` standing inside its polygon); the eastern half holds three
villages (村) of four groups (组) each, whose houses are numbered per group (`海团村一组5号`). Every town
has a 人民路 and shares other road and village names with other towns; the street layer carries no
region codes, so region context must come from doorplates and region polygons. POIs have official names
(`盐城市公安局大丰分局城东派出所`) and the queries use colloquial ones (`城东派出所`, `二中`).

Queries are written the way people write addresses: labels before the address, separators, spaces in
numbers, a missing 号, `No.`, brackets, repeated region names, trailing notes, full-width digits and
Chinese numerals, at rates set in `NOISE`. Positions of plates that exist on the ground but are not in the
exported doorplates layer are the truth of the `interpolated` kind.

    .venv/bin/python bench/world_dafeng.py OUT_DIR      # writes the layers and queries.jsonl
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DISTRICT = ("320904", "大丰区")
CITY = "盐城市"
PROVINCE = "江苏省"
LON0, LAT0 = 120.40, 33.10
CELL_W, CELL_H = 4000.0, 3000.0
SPACING = 20.0              # metres between house positions along a road side
PLATE_SHARE = 0.55          # share of house positions that have a plate in the exported layer

#: (code, name, short name) of the towns and the development zone, and their cell (column, row).
TOWNS = [
    ("320904101", "大中镇", "大中", (0, 0)), ("320904102", "新丰镇", "新丰", (1, 0)),
    ("320904103", "小海镇", "小海", (2, 0)), ("320904104", "西团镇", "西团", (0, 1)),
    ("320904105", "白驹镇", "白驹", (1, 1)),
]
DEVZONE = ("320904400", "大丰经济开发区", "开发区", (2, 1))
COMMON_ROADS = ["建设路", "幸福路", "文化路", "健康路", "工农路", "解放路"]
UNIQUE_ROADS = [
    "黄海路", "常新路", "龙城大道", "鸿远路", "富强街", "洋心西路", "通商路", "海丰路", "向阳路", "跃进路",
    "卫星路", "兴盛路", "振兴路", "新民路", "迎宾大道", "西园路", "南阳路", "东进路", "银杏路", "梅花路",
    "盐大路", "丰收大道", "金海路", "益民路", "富民路", "南翔路", "新港路", "海洋路", "沿河路", "中心街",
]
DEVZONE_ROADS = ["东风路", "开发大道", "创业路", "科技路", "实业路", "纬一路", "经二路", "港城大道"]
COMPOUNDS = ["金色家园", "阳光花苑", "锦绣名城", "翰林华府", "丰泽园", "紫薇花园", "东方明珠城", "盐丰新村",
             "康居小区", "世纪华庭", "香榭丽舍", "滨河湾"]
COMMUNITIES = ["幸福社区", "新华社区", "城东社区", "城西社区", "向阳社区", "团结社区", "永安社区", "北街社区",
               "南苑社区", "东方社区"]
VILLAGES_UNIQUE = ["海团村", "东灶村", "南团村", "恒北村", "双喜村", "龙窝村", "裕华村", "同心村", "仓头村",
                   "川南村", "沈灶村", "三龙村", "四岔村"]
VILLAGES_SHARED = ["新华村", "红旗村"]
CN_DIGITS = "零一二三四五六七八九"


def cn(n: int) -> str:
    """12 → 十二, 5 → 五: how group and building numbers are usually written."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    """Local metres → lon/lat (equirectangular about LON0/LAT0; exact enough within 15 km)."""
    return (round(LON0 + x / (111_320.0 * math.cos(math.radians(LAT0))), 7),
            round(LAT0 + y / 110_574.0, 7))


def ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [list(to_lonlat(x, y)) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]


def poly(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "MultiPolygon", "coordinates": [[ring(x0, y0, x1, y1)]]}


@dataclass
class Road:
    name: str
    town: str
    pts: list[tuple[float, float]]
    setback: float
    positions: dict[int, tuple[float, float]] = field(default_factory=dict)   # number → (x, y)

    def length(self) -> float:
        return sum(math.dist(a, b) for a, b in zip(self.pts, self.pts[1:], strict=False))

    def at(self, s: float, offset: float) -> tuple[float, float]:
        """The point s metres along the road, `offset` metres to its left (negative: right)."""
        for a, b in zip(self.pts, self.pts[1:], strict=False):
            seg = math.dist(a, b)
            if s <= seg:
                t = s / seg
                dx, dy = (b[0] - a[0]) / seg, (b[1] - a[1]) / seg
                return a[0] + t * (b[0] - a[0]) - dy * offset, a[1] + t * (b[1] - a[1]) + dx * offset
            s -= seg
        return self.pts[-1]


@dataclass
class World:
    regions: list[dict] = field(default_factory=list)
    streets: list[dict] = field(default_factory=list)
    zones: list[dict] = field(default_factory=list)
    plates: list[dict] = field(default_factory=list)
    pois: list[dict] = field(default_factory=list)
    queries: list[dict] = field(default_factory=list)


def feature(props: dict, geom: dict) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def point(x: float, y: float) -> dict:
    return {"type": "Point", "coordinates": list(to_lonlat(x, y))}


def build(seed: int = 13) -> tuple[World, dict]:
    """The layers and the raw truth (places the query writer draws from)."""
    rng = np.random.default_rng(seed)
    w = World()
    truth: dict = {"plates": [], "held": [], "roads": [], "crossings": [], "buildings": [], "lanes": [],
                   "groups": [], "pois": [], "zones": [], "regions": []}
    w.regions.append(feature({"AddName": DISTRICT[1], "AddID": DISTRICT[0], "Alias": "{大丰市}"},
                             poly(0, 0, 3 * CELL_W, 2 * CELL_H)))
    unique = list(rng.permutation(UNIQUE_ROADS))
    compounds = list(rng.permutation(COMPOUNDS))
    communities = list(rng.permutation(COMMUNITIES))
    villages = list(rng.permutation(VILLAGES_UNIQUE))
    plate_no = 0
    for t_idx, (code, town, short, (cx, cy)) in enumerate([*TOWNS, DEVZONE]):
        is_dev = code == DEVZONE[0]
        x0, y0 = cx * CELL_W, cy * CELL_H
        alias = "{大丰工业园区}" if is_dev else ""
        w.regions.append(feature({"AddName": town, "AddID": code, "Alias": alias},
                                 poly(x0, y0, x0 + CELL_W, y0 + CELL_H)))
        truth["regions"].append({"name": town, "code": code, "box": (x0, y0, x0 + CELL_W, y0 + CELL_H)})
        core_w = CELL_W if is_dev else CELL_W / 2
        # Communities of the core (north/south halves) with 2 × 2 unit grids each.
        units: list[tuple[str, str, str, tuple[float, float, float, float]]] = []
        for k in range(2):
            cname = (["创业社区", "科创社区"][k]) if is_dev else communities.pop()
            ccode = f"{code}{k + 1:03d}"
            box = (x0, y0 + k * CELL_H / 2, x0 + core_w, y0 + (k + 1) * CELL_H / 2)
            units.append((ccode, cname, "社区", box))
        if not is_dev:
            shared = VILLAGES_SHARED[t_idx % 2] if t_idx < 4 else None
            names = [shared] if shared else []
            while len(names) < 3:
                names.append(villages.pop())
            for k, vname in enumerate(names):
                box = (x0 + core_w, y0 + k * CELL_H / 3, x0 + CELL_W, y0 + (k + 1) * CELL_H / 3)
                units.append((f"{code}{201 + k:03d}", vname, "村", box))
        for ccode, cname, _, box in units:
            w.regions.append(feature({"AddName": cname, "AddID": ccode}, poly(*box)))
            truth["regions"].append({"name": cname, "code": ccode, "town": town, "box": box})
            bx0, by0, bx1, by1 = box
            mx, my = (bx0 + bx1) / 2, (by0 + by1) / 2
            quads = [(bx0, by0, mx, my), (mx, by0, bx1, my), (bx0, my, mx, by1), (mx, my, bx1, by1)]
            for q, qb in enumerate(quads):
                w.regions.append(feature({"AddName": f"{cname}{q + 1}号网格", "AddID": f"{ccode}{q + 1:03d}"},
                                         poly(*qb)))
        # Roads of the core.
        if is_dev:
            names = list(DEVZONE_ROADS)
            ew_y = [500.0, 1200.0, 1900.0, 2600.0]
            ns_x = [500.0, 1500.0, 2500.0, 3500.0]
        else:
            common = ["人民路", *rng.choice(COMMON_ROADS, size=2, replace=False).tolist()]
            names = common + [unique.pop() for _ in range(4)]
            if town == "新丰镇":
                names[-1] = "东风路"            # also a road of the development zone
            names = [names[i] for i in rng.permutation(len(names))]
            ew_y = [500.0, 1200.0, 1900.0, 2600.0]
            ns_x = [400.0, 1000.0, 1600.0]
        roads: list[Road] = []
        for i, y in enumerate(ew_y):
            bend = float(rng.uniform(-25, 25))
            pts = [(x0 + 100, y0 + y), (x0 + core_w / 2, y0 + y + bend), (x0 + core_w - 100, y0 + y)]
            roads.append(Road(names[i], town, pts, float(rng.uniform(10, 15))))
        for j, x in enumerate(ns_x):
            bend = float(rng.uniform(-25, 25))
            pts = [(x0 + x, y0 + 100), (x0 + x + bend, y0 + CELL_H / 2), (x0 + x, y0 + CELL_H - 100)]
            roads.append(Road(names[len(ew_y) + j], town, pts, float(rng.uniform(10, 15))))
        lane_numbers: set[tuple[str, int]] = set()
        # Compounds: blocks between roads, inset 35 m.
        blocks = [(0, 1, 0, 1), (2, 3, 1, 2)]
        for b, (yi, yj, xi, xj) in enumerate(blocks):
            zx0, zx1 = x0 + ns_x[xi] + 35, x0 + ns_x[xj] - 35
            zy0, zy1 = y0 + ew_y[yi] + 35, y0 + ew_y[yj] - 35
            zname = compounds.pop()
            alias = f"{{{zname[:2]}小区}}" if b == 0 and not zname.endswith("小区") else ""
            old = f"{{{zname[:2]}新村}}" if b == 1 and not zname.endswith("新村") else ""
            ccode = f"{code}{(1 if zy0 - y0 < CELL_H / 2 else 2):03d}"
            cname = next(u[1] for u in units if u[0] == ccode)
            w.zones.append(feature({"ZoneName": zname, "ZoneID": f"Z{code}{b}", "Alias": alias, "OldName": old,
                                    "SubDisName": town, "SubDisCode": code, "CommuName": cname,
                                    "CommuCode": ccode}, poly(zx0, zy0, zx1, zy1)))
            truth["zones"].append({"name": zname, "alias": alias.strip("{}"), "old": old.strip("{}"),
                                   "box": (zx0, zy0, zx1, zy1), "town": town})
            spots = [(zx0 + (zx1 - zx0) * (c + 0.5) / 4, zy0 + (zy1 - zy0) * (r + 0.5) / 3)
                     for r in range(3) for c in range(4)]
            if b == 0:
                word = ["幢", "号楼", "栋"][int(rng.integers(0, 3))]
                for n, (bx, by) in enumerate(spots, start=1):
                    plate_no += 1
                    w.plates.append(feature({
                        "AddName": f"{zname}{n}{word}", "AddID": f"D{plate_no:06d}", "ZoneName": zname,
                        "HouseName": f"{n}{word}", "SubDisName": town, "SubDisCode": code, "CommuName": cname,
                        "CommuCode": ccode}, point(bx, by)))
                    truth["buildings"].append({"zone": zname, "alias": alias.strip("{}"), "n": n, "xy": (bx, by),
                                               "town": town})
            else:
                road = roads[yi]
                lane = 2 * round((ns_x[xi] + ns_x[xj]) / 2 / SPACING) - 1   # an odd (north side) number
                lane_numbers.add((road.name, lane))
                for n, (bx, by) in enumerate(spots[:10], start=1):
                    plate_no += 1
                    w.plates.append(feature({
                        "AddName": f"{road.name}{lane}弄{n}号", "AddID": f"D{plate_no:06d}", "RoadName": road.name,
                        "HouseName": f"{lane}弄{n}号", "SubDisName": town, "SubDisCode": code,
                        "CommuName": cname, "CommuCode": ccode}, point(bx, by)))
                    truth["lanes"].append({"road": road.name, "lane": lane, "n": n, "zone": zname,
                                           "old": old.strip("{}"), "xy": (bx, by), "town": town})
        # Streets (two segments each) and their house positions.
        for r_idx, road in enumerate(roads):
            length = road.length()
            split = math.dist(road.pts[0], road.pts[1])
            count = int((length - 20) // SPACING) + 1
            seg_nums: list[list[int]] = [[], []]
            for k in range(count):
                s = 10 + k * SPACING
                for parity, side in ((1, 1.0), (0, -1.0)):
                    n = 2 * k + 1 if parity else 2 * k + 2
                    xy = road.at(s, side * road.setback)
                    road.positions[n] = xy
                    seg_nums[0 if s < split else 1].append(n)
            for sg in range(2):
                nums = seg_nums[sg]
                pts = road.pts[:2] if sg == 0 else road.pts[1:]
                w.streets.append(feature({
                    "StrName": road.name, "StrID": f"S{code}{r_idx}{sg}", "SHousenum": min(nums),
                    "LHousenum": max(nums), "Beginning": "", "Ending": ""},
                    {"type": "LineString", "coordinates": [list(to_lonlat(*p)) for p in pts]}))
            truth["roads"].append({"name": road.name, "town": town, "pts": road.pts})
            for n, (px, py) in sorted(road.positions.items()):
                if (road.name, n) in lane_numbers:
                    continue
                rec = {"road": road.name, "n": n, "xy": (px, py), "town": town, "code": code,
                       "commu": next(u for u in units if u[3][0] <= px <= u[3][2] and u[3][1] <= py <= u[3][3])}
                if rng.random() < PLATE_SHARE:
                    plate_no += 1
                    styled = f"{town}{road.name}{n}号" if rng.random() < 0.25 else f"{road.name}{n}号"
                    w.plates.append(feature({
                        "AddName": styled, "AddID": f"D{plate_no:06d}", "RoadName": road.name,
                        "HouseName": f"{n}号", "SubDisName": town, "SubDisCode": code,
                        "CommuName": rec["commu"][1], "CommuCode": rec["commu"][0]}, point(px, py)))
                    truth["plates"].append(rec)
                else:
                    truth["held"].append(rec)
        for a in roads[: len(ew_y)]:
            for b in roads[len(ew_y):]:
                ay = a.pts[0][1]
                bx = b.pts[0][0]
                # the crossing: the north–south road's x on the east–west road (bends are small and midway)
                truth["crossings"].append({"a": a.name, "b": b.name, "xy": _cross(a, b, ay, bx), "town": town})
        # Village groups: 4 per village, 6–9 houses each, 80 m or more apart.
        for ccode, vname, kind, box in units:
            if kind != "村":
                continue
            bx0, by0, bx1, by1 = box
            mx, my = (bx0 + bx1) / 2, (by0 + by1) / 2
            for g, (gx0, gy0, gx1, gy1) in enumerate([(bx0, by0, mx, my), (mx, by0, bx1, my), (bx0, my, mx, by1),
                                                       (mx, my, bx1, by1)], start=1):
                houses: list[tuple[float, float]] = []
                want = int(rng.integers(6, 10))
                tries = 0
                while len(houses) < want and tries < 500:
                    tries += 1
                    hx, hy = float(rng.uniform(gx0 + 60, gx1 - 60)), float(rng.uniform(gy0 + 60, gy1 - 60))
                    if all(math.dist((hx, hy), h) >= 80 for h in houses):
                        houses.append((hx, hy))
                zone_name = f"{vname}{cn(g)}组"
                for n, (hx, hy) in enumerate(houses, start=1):
                    plate_no += 1
                    w.plates.append(feature({
                        "AddName": f"{vname}{cn(g)}组{n}号", "AddID": f"D{plate_no:06d}", "ZoneName": zone_name,
                        "HouseName": f"{n}号", "SubDisName": town, "SubDisCode": code, "CommuName": vname,
                        "CommuCode": ccode}, point(hx, hy)))
                    truth["groups"].append({"village": vname, "group": g, "n": n, "xy": (hx, hy), "town": town,
                                            "box": (gx0, gy0, gx1, gy1)})
        # POIs of the town (official names; the queries use colloquial ones).
        spots = [p for p in truth["plates"] if p["town"] == town]
        order = rng.permutation(len(spots))
        official: list[tuple[str, list[str]]]
        if is_dev:
            official = [("大丰经济开发区管理委员会", ["开发区管委会", "开发区管委"]),
                        ("大丰经济开发区便民综合服务站", ["开发区便民服务站"])]
        else:
            official = [
                (f"大丰区{town}人民政府", [f"{town}政府", f"{short}镇政府"]),
                (f"盐城市公安局大丰分局{short}派出所", [f"{short}派出所"]),
                (f"大丰区{town}中心小学", [f"{short}中心小学", f"{town}小学"]),
                (f"大丰区{town}卫生院", [f"{short}卫生院"]),
                (f"{town}便民综合服务站", [f"{short}便民服务站"]),
                (f"{road_for(spots, order, 5)}公交站", [f"{road_for(spots, order, 5)}站",
                                                       f"{road_for(spots, order, 5)}公交车站"]),
            ]
        for k, (name, colloquial) in enumerate(official):
            sp = spots[int(order[k])]
            px, py = sp["xy"][0] + 4, sp["xy"][1] + 4
            w.pois.append(feature({"POIName": name, "POIID": f"P{code}{k:02d}", "AddName": f"{sp['road']}{sp['n']}号"},
                                  point(px, py)))
            truth["pois"].append({"name": name, "colloquial": colloquial, "xy": (px, py), "town": town})
    # District-level POIs, placed at random plates.
    district = [
        ("大丰区第一中学", ["大丰一中", "一中"]), ("大丰区第二中学", ["大丰二中", "二中"]),
        ("大丰区第三中学", ["三中"]), ("大丰区人民医院", ["人民医院", "大丰人民医院"]),
        ("大丰区中医院", ["中医院"]), ("盐城市公安局大丰分局城东派出所", ["城东派出所"]),
        ("大丰汽车客运站", ["汽车站", "大丰客运站"]), ("大润发(大丰店)", ["大润发"]),
        ("江苏省大丰高级中学", ["大丰高级中学", "大丰高中"]), ("大丰区图书馆", ["图书馆"]),
    ]
    order = rng.permutation(len(truth["plates"]))
    for k, (name, colloquial) in enumerate(district):
        sp = truth["plates"][int(order[k])]
        px, py = sp["xy"][0] - 4, sp["xy"][1] + 4
        w.pois.append(feature({"POIName": name, "POIID": f"PD{k:02d}", "AddName": f"{sp['road']}{sp['n']}号"},
                              point(px, py)))
        truth["pois"].append({"name": name, "colloquial": colloquial, "xy": (px, py), "town": None})
    return w, truth


def road_for(spots: list[dict], order: np.ndarray, k: int) -> str:
    return spots[int(order[k])]["road"]


def _cross(a: Road, b: Road, ay: float, bx: float) -> tuple[float, float]:
    """Where an east–west and a north–south road of the grid cross (solved on their segments)."""
    for p1, p2 in zip(a.pts, a.pts[1:], strict=False):
        for q1, q2 in zip(b.pts, b.pts[1:], strict=False):
            d = (p2[0] - p1[0]) * (q2[1] - q1[1]) - (p2[1] - p1[1]) * (q2[0] - q1[0])
            if abs(d) < 1e-9:
                continue
            t = ((q1[0] - p1[0]) * (q2[1] - q1[1]) - (q1[1] - p1[1]) * (q2[0] - q1[0])) / d
            u = ((q1[0] - p1[0]) * (p2[1] - p1[1]) - (q1[1] - p1[1]) * (p2[0] - p1[0])) / d
            if 0 <= t <= 1 and 0 <= u <= 1:
                return p1[0] + t * (p2[0] - p1[0]), p1[1] + t * (p2[1] - p1[1])
    return bx, ay


# ---- how people write addresses -------------------------------------------------------------------

#: Probability of each kind of noise, per query (independent draws).
NOISE = {
    "label": 0.18, "region_prefix": 0.35, "repeat_region": 0.04, "separator": 0.12, "number_space": 0.05,
    "no_hao": 0.10, "no_dot": 0.03, "bracket_note": 0.05, "trailing_note": 0.07, "fullwidth": 0.05,
    "cn_numeral": 0.05,
}
LABELS = ["寄往", "配送地址：", "单位地址：", "现居", "家住", "收货地址:", "地址：", "住址 ", "发往", "工作单位：",
          "联系地址 ", "现住址：", "户籍地址:", "送至", "投诉地点："]
PREFIXES = [f"{PROVINCE}{CITY}{DISTRICT[1]}", f"{CITY}{DISTRICT[1]}", DISTRICT[1], "江苏盐城大丰区", "盐城大丰区"]
SEPARATORS = ["，", ",", "-", "/", "｜", "\t", "\u3000", " ", "\n"]
TRAILING = ["对面", "旁边", "门口", "附近", "东侧", "北边"]
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass
class Q:
    kind: str
    parts: list[str]             # region parts, then the place, then the number etc.
    truth: dict | None           # {"point": (x, y)} | {"box": …} | {"line": pts}; None for negatives
    tol: float = 30.0
    numbered: bool = False       # the last part ends with a house number (号 may be dropped)
    prefixable: bool = True      # a 江苏省盐城市大丰区 prefix may be written before it
    noise: list[str] = field(default_factory=list)
    ambiguous: bool = False


def _cn_number(n: int) -> str:
    if n >= 1000:
        return "".join(CN_DIGITS[int(d)] for d in str(n))
    if n < 100:
        return cn(n)
    h, rest = divmod(n, 100)
    return CN_DIGITS[h] + "百" + ("" if rest == 0 else ("零" + CN_DIGITS[rest] if rest < 10 else
                                                        ("一" + cn(rest) if rest < 20 else cn(rest))))


def write(q: Q, rng: np.random.Generator) -> str:
    """Renders a query with noise drawn at the NOISE rates (the drawn kinds are recorded on q)."""
    parts = list(q.parts)
    used: list[str] = []

    def hit(name: str) -> bool:
        if rng.random() < NOISE[name]:
            used.append(name)
            return True
        return False

    if q.numbered and parts:
        last = parts[-1]
        digits = [c for c in last if c.isdigit()]
        if digits and last.endswith("号"):
            if hit("no_hao"):
                last = last[:-1]
            elif hit("cn_numeral"):
                head = last.rstrip("0123456789号")
                num = int(last[len(head):-1])
                last = head + _cn_number(num) + "号"
            elif hit("number_space") and len(digits) >= 2:
                i = len(last) - 1 - len(digits) + 1
                last = last[:i] + " " + last[i:]
            elif hit("no_dot"):
                head = last.rstrip("0123456789号")
                last = head + "No." + last[len(head):-1]
        parts[-1] = last
    if q.prefixable and hit("region_prefix"):
        parts.insert(0, PREFIXES[int(rng.integers(0, len(PREFIXES)))])
        if hit("repeat_region"):
            parts.insert(1, DISTRICT[1])
    sep = ""
    if len(parts) > 1 and hit("separator"):
        sep = SEPARATORS[int(rng.integers(0, len(SEPARATORS)))]
    text = sep.join(parts)
    if hit("fullwidth"):
        text = text.translate(_FULL)
    if q.numbered and hit("bracket_note"):
        text += f"（近{['菜场', '学校', '公交站', '路口', '桥边'][int(rng.integers(0, 5))]}）"
    elif q.numbered and hit("trailing_note"):
        text += TRAILING[int(rng.integers(0, len(TRAILING)))]
    if hit("label"):
        text = LABELS[int(rng.integers(0, len(LABELS)))] + text
    q.noise = used
    return text


def queries(truth: dict, seed: int = 31, per_kind: int = 120) -> list[dict]:
    """The query set: kinds labelled, truth as lon/lat geometry (GeoJSON), tolerance in metres."""
    rng = np.random.default_rng(seed)
    road_towns: dict[str, set[str]] = {}
    for r in truth["roads"]:
        road_towns.setdefault(r["name"], set()).add(r["town"])
    village_towns: dict[str, set[str]] = {}
    for g in truth["groups"]:
        village_towns.setdefault(g["village"], set()).add(g["town"])
    out: list[Q] = []

    def pick(items: list, n: int = per_kind) -> list:
        """n items; a small set is drawn up to three times (each draw gets its own noise)."""
        if not items:
            return []
        size = min(n, 3 * len(items))
        return [items[int(i)] for i in rng.choice(len(items), size=size, replace=size > len(items))]

    def town_for(name: str, town: str | None, towns: dict[str, set[str]]) -> list[str]:
        """The town part: always for names found in several towns, else now and then."""
        if town and (len(towns.get(name, ())) > 1 or rng.random() < 0.3):
            return [town]
        return []

    unique_plates = [p for p in truth["plates"] if len(road_towns[p["road"]]) == 1]
    dup_plates = [p for p in truth["plates"] if len(road_towns[p["road"]]) > 1]
    for p in pick(unique_plates):
        out.append(Q("doorplate", [*town_for(p["road"], p["town"], road_towns), f"{p['road']}{p['n']}号"],
                     {"point": p["xy"]}, numbered=True))
    for p in pick(dup_plates):
        town = [p["town"]] if rng.random() < 0.8 else [p["commu"][1]]
        out.append(Q("context", [*town, f"{p['road']}{p['n']}号"], {"point": p["xy"]}, numbered=True))
    held = [h for h in truth["held"] if len(road_towns[h["road"]]) == 1 or rng.random() < 1]
    for h in pick(held):
        out.append(Q("interpolated", [*town_for(h["road"], h["town"], road_towns), f"{h['road']}{h['n']}号"],
                     {"point": h["xy"]}, tol=60.0, numbered=True))
    for b in pick(truth["buildings"]):
        name = b["alias"] if b["alias"] and rng.random() < 0.3 else b["zone"]
        word = ["号楼", "幢", "栋", "座"][int(rng.integers(0, 4))]
        out.append(Q("building", [*([b["town"]] if rng.random() < 0.3 else []), f"{name}{b['n']}{word}"],
                     {"point": b["xy"]}))
    for ln in pick(truth["lanes"]):
        if rng.random() < 0.5:
            name = ln["old"] if ln["old"] and rng.random() < 0.3 else ln["zone"]
            word = ["号楼", "幢", "栋"][int(rng.integers(0, 3))]
            out.append(Q("building", [f"{name}{ln['n']}{word}"], {"point": ln["xy"]}))
        else:
            out.append(Q("lane", [*town_for(ln["road"], ln["town"], road_towns),
                                  f"{ln['road']}{ln['lane']}弄{ln['n']}号"], {"point": ln["xy"]}, numbered=True))
    for g in pick(truth["groups"]):
        town = [g["town"]] if len(village_towns[g["village"]]) > 1 or rng.random() < 0.6 else []
        group = cn(g["group"]) if rng.random() < 0.7 else str(g["group"])
        if rng.random() < 0.8:
            out.append(Q("rural", [*town, f"{g['village']}{group}组{g['n']}号"], {"point": g["xy"]}, numbered=True))
        else:
            out.append(Q("rural", [*town, g["village"], f"{group}组"], {"box": g["box"]}))
    dev = [p for p in truth["plates"] if p["code"] == DEVZONE[0]]
    for p in pick(dev):
        prefixes = ["开发区", "大丰经济开发区", "经济开发区", "大丰开发区", "工业园区", "大丰工业园区"]
        prefix = prefixes[int(rng.integers(0, len(prefixes)))]
        out.append(Q("devzone", [prefix, f"{p['road']}{p['n']}号"], {"point": p["xy"]}, numbered=True))
    for z in pick(truth["zones"]):
        out.append(Q("zone", [*([z["town"]] if rng.random() < 0.3 else []), z["name"]], {"box": z["box"]}))
    forms = ["{a}与{b}交叉口", "{a}{b}路口", "{a}/{b}路口", "{a}和{b}交汇处", "{a}、{b}十字路口", "{a}{b}交叉口"]
    for c in pick(truth["crossings"]):
        form = forms[int(rng.integers(0, len(forms)))]
        text = form.format(a=c["a"], b=c["b"])
        if "{b}路口" in form and c["b"].endswith("路"):
            text = text.replace("路路口", "路口")
        dup = len(road_towns[c["a"]]) > 1 and len(road_towns[c["b"]]) > 1
        out.append(Q("intersection", [*([c["town"]] if dup or rng.random() < 0.3 else []), text],
                     {"point": c["xy"]}))
    dirs = {"东": (1, 0), "西": (-1, 0), "南": (0, -1), "北": (0, 1)}
    wordings = ["以{d}", "{d}侧", "往{d}", "向{d}", "{d}边", "{d}面", "{d}"]
    for c in pick(truth["crossings"], per_kind // 2) + pick(truth["pois"], per_kind // 2):
        d = list(dirs)[int(rng.integers(0, 4))]
        dist = int(rng.integers(3, 40)) * 10
        approx = ["约", "大约", ""][int(rng.integers(0, 3))]
        unit = ["米", "m", "米左右"][int(rng.integers(0, 3))]
        if dist >= 300 and rng.random() < 0.3:
            dist_text, unit = f"{dist / 1000:g}", "公里"
        else:
            dist_text = str(dist)
        way = wordings[int(rng.integers(0, len(wordings)))].format(d=d)
        if "a" in c:
            dup = len(road_towns[c["a"]]) > 1 and len(road_towns[c["b"]]) > 1
            anchor = ([c["town"]] if dup else []) + [f"{c['a']}与{c['b']}交叉口" if rng.random() < 0.5
                                                     else f"{c['a']}/{c['b']}路口"]
        else:
            name = c["colloquial"][0] if c["colloquial"] and rng.random() < 0.4 else c["name"]
            anchor = [name]
        ux, uy = dirs[d]
        x, y = c["xy"]
        out.append(Q("offset", [*anchor[:-1], anchor[-1] + way + approx + dist_text + unit],
                     {"point": (x + ux * dist, y + uy * dist)}))
    for p in pick(truth["pois"]):
        out.append(Q("poi_full", [p["name"]], {"point": p["xy"]}))
    coll = [(p, c) for p in truth["pois"] for c in p["colloquial"]]
    names_seen: dict[str, int] = {}
    for _, c in coll:
        names_seen[c] = names_seen.get(c, 0) + 1
    for p, c in pick([x for x in coll if names_seen[x[1]] == 1]):
        out.append(Q("poi_short", [c], {"point": p["xy"]}))
    for r in pick([r for r in truth["roads"] if len(road_towns[r["name"]]) == 1]):
        out.append(Q("street", [r["name"]], {"line": r["pts"]}))
    for r in pick([r for r in truth["roads"] if len(road_towns[r["name"]]) > 1]):
        out.append(Q("street", [r["town"], r["name"]], {"line": r["pts"]}))
    region_names: dict[str, int] = {}
    for r in truth["regions"]:
        region_names[r["name"]] = region_names.get(r["name"], 0) + 1
    for r in pick([r for r in truth["regions"] if "town" in r]):
        named = [r["town"], r["name"]] if region_names[r["name"]] > 1 or rng.random() < 0.5 else [r["name"]]
        out.append(Q("region", named, {"box": r["box"]}))
    # Negatives.
    invented = ["鑫磊路", "淼焱街", "犇骉大道", "晶品路", "峥嵘西路", "沁玥路", "垚鹏街", "霏岚路"]
    for _ in range(per_kind):
        out.append(Q("unknown_road", [f"{invented[int(rng.integers(0, len(invented)))]}{int(rng.integers(1, 300))}号"],
                     None, numbered=True))
    tops: dict[tuple[str, str], int] = {}
    for p in truth["plates"] + truth["held"]:
        key = (p["road"], p["town"])
        tops[key] = max(tops.get(key, 0), p["n"])
    for (road, town), top in [list(tops.items())[int(i)] for i in rng.integers(0, len(tops), size=per_kind)]:
        out.append(Q("number_beyond", [town, f"{road}{top + int(rng.integers(200, 900))}号"], None, numbered=True))
    others = ["南京市鼓楼区", "江苏省南通市崇川区", "盐城市亭湖区", "上海市宝山区", "苏州市姑苏区", "杭州市西湖区",
              "东台市"]
    common = ["人民路", "建设路", "解放路", "文化路", "黄海路"]
    for _ in range(per_kind):
        out.append(Q("other_city", [others[int(rng.integers(0, len(others)))],
                                    f"{common[int(rng.integers(0, len(common)))]}{int(rng.integers(1, 120))}号"],
                     None, numbered=True, prefixable=False))
    for name in ["第八中学", "八中", "城西派出所", "大丰区第五人民医院", "烈士陵园", "大丰区体育馆", "七中",
                 "南门菜市场"] * 5:
        out.append(Q("unknown_poi", [name], None))
    # Honesty: a colloquial name several POIs fit equally (every town's 中心小学) must not be answered
    # with confidence.
    for _ in range(per_kind // 4):
        out.append(Q("poi_ambiguous", ["中心小学" if rng.random() < 0.5 else "卫生院"], None, ambiguous=True))
    rows = []
    for q in out:
        text = write(q, rng)
        rows.append({"kind": q.kind, "query": text, "noise": q.noise, "tolerance_m": q.tol,
                     "ambiguous": q.ambiguous, "truth": _truth_geojson(q.truth)})
    return rows


def _truth_geojson(t: dict | None) -> dict | None:
    if t is None:
        return None
    if "point" in t:
        return point(*t["point"])
    if "box" in t:
        return poly(*t["box"])
    return {"type": "LineString", "coordinates": [list(to_lonlat(*p)) for p in t["line"]]}


LAYER_FILES = {"regions": "regions.geojson", "streets": "streets.geojson", "zones": "zones.geojson",
               "doorplates": "doorplates.geojson", "pois": "pois.geojson"}


def export(out_dir: Path, seed: int = 13, query_seed: int = 31, per_kind: int = 120) -> dict[str, Path]:
    """Writes the five layers (GeoJSON, RFC 7946 lon/lat) and queries.jsonl; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    w, truth = build(seed)
    layers = {"regions": w.regions, "streets": w.streets, "zones": w.zones, "doorplates": w.plates, "pois": w.pois}
    paths: dict[str, Path] = {}
    for layer, feats in layers.items():
        path = out_dir / LAYER_FILES[layer]
        path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False))
        paths[layer] = path
    qpath = out_dir / "queries.jsonl"
    qpath.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in queries(truth, query_seed, per_kind)) + "\n")
    paths["queries"] = qpath
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "var/world_dafeng")
    for name, p in export(target).items():
        print(f"{name}: {p}")
