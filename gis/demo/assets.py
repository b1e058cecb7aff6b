"""Components (部件), waste facilities (环卫设施) and work/responsibility grids of the demo district.

Components follow the 大类 mix of standards.md §4 exactly (scaled), with subclasses from
gis/data/categories.csv weighted by how common they are on real streets; most stand beside roads
(lamps, manhole covers, trees, signs), the rest inside unit grids. Each knows its unit grid because it is
placed in (or located into) a generated cell with the database's tie rule.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import shapely
from numpy.typing import NDArray

from gis import crs as gcrs
from gis.db.seed import read_categories
from gis.demo import names
from gis.demo.addresses import Addresses
from gis.demo.lattice import METRIC, District, union_cells
from gis.demo.locate import CellLocator, points_in_cells
from gis.demo.roads import Roads, along
from gis.demo.table import Table

#: 大类 counts of one district (standards.md §4); the extension subclasses (80–99) get EXTENSION in all.
MAJOR_COUNTS = {"01": 90_498, "02": 6_787, "03": 5_716, "04": 26_485, "05": 279}
EXTENSION = 8_897
#: Share of each 大类 standing beside roads (the rest lie anywhere inside unit grids).
ROADSIDE = {"01": 0.8, "02": 0.9, "03": 0.6, "04": 0.75, "05": 0.2}
#: How common each subclass is (relative within its 大类; unnamed ones weigh 1).
WEIGHTS = {
    "上水井盖": 12, "污水井盖": 12, "雨水井盖": 14, "雨水箅子": 16, "电力井盖": 8, "路灯井盖": 5, "通信井盖": 10,
    "燃气井盖": 5, "消防栓": 4, "电力设施": 3, "通信交接箱": 2, "路灯": 12, "地灯": 1, "景观灯": 2, "报刊亭": 0.3,
    "公用电话": 0.5, "邮筒": 0.3, "监控电子眼": 2, "停车场": 3, "公交站亭": 5, "过街天桥": 0.3, "地下通道": 0.2,
    "交通标志牌": 25, "交通信号灯": 10, "护栏": 15, "隔离墩": 8, "路名牌": 20, "非机动车停放点": 10, "公共厕所": 2,
    "垃圾箱": 50, "垃圾收集点": 5, "垃圾中转站": 0.3, "户外广告": 15, "广告牌匾": 20, "灯箱霓虹灯": 6,
    "公共厕所指示牌": 2, "古树名木": 0.5, "行道树": 60, "绿地": 10, "花坛": 8, "雕塑": 1, "街头坐椅": 8, "绿地护栏": 10,
    "重大危险源": 1, "工地": 3, "水域附属设施": 4, "监测站": 1,
}
DEPTS = {
    "01": ["宝山区水务局", "国网上海市电力公司宝山供电公司", "宝山区路灯管理所", "中国电信宝山分公司",
           "上海燃气宝山有限公司"],
    "02": ["宝山区建设和管理委员会", "宝山公安分局交警支队", "宝山区交通委员会"],
    "03": ["宝山区绿化和市容管理局", "宝山区城市管理行政执法局"],
    "04": ["宝山区绿化和市容管理局", "宝山区园林绿化管理所"],
    "05": ["宝山区应急管理局", "宝山区建设和管理委员会", "宝山区生态环境局"],
}
MAINTAINERS = ["上海宝山市政养护有限公司", "上海宝山环境卫生有限公司", "上海宝山园林绿化工程有限公司",
               "宝山区路政管理所"]
STATUS = (["完好", "破损", "丢失", "占用", "废弃"], [0.91, 0.05, 0.01, 0.02, 0.01])


def person(rng: np.random.Generator) -> str:
    s = names.SURNAMES[int(rng.integers(len(names.SURNAMES)))]
    g = "".join(names.GIVEN[int(i)] for i in rng.integers(len(names.GIVEN), size=int(rng.integers(1, 3))))
    return s + g


def _dates(rng: np.random.Generator, n: int, start: date, end: date) -> list[date]:
    days = rng.integers(0, (end - start).days, n)
    return [start + timedelta(days=int(x)) for x in days]


def roadside_points(d: District, r: Roads, loc: CellLocator, rng: np.random.Generator, n: int,
                    off_min: float = 3.0, off_max: float = 12.0) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """n points beside roads (either side), with their segment and cell; all inside the district."""
    xs, ys, segs, cells = [], [], [], []
    have = 0
    p = r.seg_len_m / r.seg_len_m.sum()
    while have < n:
        m = int((n - have) * 1.15) + 10
        seg = rng.choice(r.n, size=m, p=p)
        off = rng.uniform(off_min, off_max, m) * rng.choice([-1.0, 1.0], m)
        x, y = along(r.seg_ll[seg], rng.uniform(0.02, 0.98, m), off)
        cell = loc.cells(x, y)
        ok = cell >= 0
        xs.append(x[ok])
        ys.append(y[ok])
        segs.append(seg[ok])
        cells.append(cell[ok])
        have += int(ok.sum())
    return (np.concatenate(xs)[:n], np.concatenate(ys)[:n], np.concatenate(segs)[:n], np.concatenate(cells)[:n])


def build_components(d: District, r: Roads, loc: CellLocator) -> Table:
    rng = np.random.default_rng([d.seed, 5])
    cats = [c for c in read_categories() if c["kind"] == "component"]
    std = {m: [c for c in cats if c["major"] == m and int(c["minor"]) < 80] for m in MAJOR_COUNTS}
    ext = [c for c in cats if int(c["minor"]) >= 80]
    plan: list[tuple[dict, int]] = []
    for major, count in MAJOR_COUNTS.items():
        subs = std[major]
        w = np.array([WEIGHTS.get(c["name"], 1.0) for c in subs])
        plan += list(zip(subs, rng.multinomial(round(count * d.scale), w / w.sum()).tolist(), strict=True))
    w = np.array([{"01": 3, "02": 4, "03": 2.5, "04": 0.5}.get(c["major"], 1.0) for c in ext])
    plan += list(zip(ext, rng.multinomial(round(EXTENSION * d.scale), w / w.sum()).tolist(), strict=True))

    cols: dict[str, list] = {k: [] for k in ("id", "major", "minor", "name", "dept", "owner", "maintainer",
                                             "unit_grid_code", "status", "init_date", "change_date", "data_source",
                                             "location_desc", "currency", "scale_denom")}
    gx, gy = [], []
    river_row = int(d.ny * 0.45)
    river_cells = np.nonzero(d.cj == river_row)[0]
    for cat, n in plan:
        if n == 0:
            continue
        major, minor = cat["major"], cat["minor"]
        n_road = round(n * ROADSIDE[major])
        if cat["name"] in ("工地", "绿地", "古树名木", "重大危险源", "监测站", "停车场"):
            n_road = 0
        x1, y1, seg1, cell1 = roadside_points(d, r, loc, rng, n_road) if n_road else (np.zeros(0),) * 2 + (
            np.zeros(0, np.int64),) * 2
        pool = river_cells if cat["name"] == "水域附属设施" and len(river_cells) else np.arange(d.n_cells)
        cell2 = rng.choice(pool, size=n - n_road)
        x2, y2 = points_in_cells(d, rng, cell2, margin=0.03)
        x = np.concatenate([x1, x2])
        y = np.concatenate([y1, y2])
        cell = np.concatenate([cell1, cell2]).astype(np.int64)
        gx.append(x)
        gy.append(y)
        depts = DEPTS[major]
        dept = [depts[int(i)] for i in rng.integers(len(depts), size=n)]
        init = _dates(rng, n, date(2012, 1, 1), date(2024, 6, 30))
        changed = rng.random(n) < 0.3
        cols["id"] += [f"{names.DISTRICT_CODE}{major}{minor}{k:06d}" for k in range(1, n + 1)]
        cols["major"] += [major] * n
        cols["minor"] += [minor] * n
        cols["name"] += [cat["name"]] * n
        cols["dept"] += dept
        cols["owner"] += dept
        cols["maintainer"] += [MAINTAINERS[int(i)] for i in rng.integers(len(MAINTAINERS), size=n)]
        cols["unit_grid_code"] += [d.cell_code[c] for c in cell.tolist()]
        cols["status"] += rng.choice(STATUS[0], size=n, p=STATUS[1]).tolist()
        cols["init_date"] += init
        cols["change_date"] += [i + timedelta(days=int(rng.integers(30, 900))) if c else None
                                for i, c in zip(init, changed.tolist(), strict=True)]
        cols["data_source"] += ["城市部件普查（合成数据）"] * n
        desc = [f"{r.roads[int(r.seg_road[s])].name}（{r.seg_begin[s]}—{r.seg_end[s]}段）" for s in seg1.tolist()]
        desc += [f"{d.communities[int(d.cell_comm[c])]['name']}单元网格{d.cell_code[c]}内" for c in cell2.tolist()]
        cols["location_desc"] += desc
        cols["currency"] += ["2025"] * n
        cols["scale_denom"] += [500] * n
    cols["geom"] = shapely.points(np.concatenate(gx), np.concatenate(gy))
    return Table("components", cols)


# -- waste facilities --------------------------------------------------------------------------------

KIND_PREFIX = {
    "drop_point": "TF", "collection_point": "SJD", "collection_station": "SJZ", "compactor_station": "XYZ",
    "transfer_station": "ZZZ", "recyclables_point": "HS", "hazardous_store": "YH", "public_toilet": "GC",
    "kitchen_waste_plant": "SCL", "incinerator": "FS", "landfill": "TM", "disposal_terminal": "CZ",
}
OPERATORS = ["上海宝山环境卫生有限公司", "上海城投环境（集团）有限公司", "上海宝山再生资源有限公司",
             "上海老港固废综合开发有限公司"]


def build_facilities(d: District, r: Roads, loc: CellLocator, a: Addresses, start_id: int = 1) -> Table:
    rng = np.random.default_rng([d.seed, 6])
    s = d.scale
    rows: list[dict] = []

    def add(kind: str, name: str, x: float, y: float, cell: int, **kw) -> None:
        rows.append({"kind": kind, "name": name, "x": x, "y": y, "cell": cell, **kw})

    # Drop points (投放点 / 垃圾箱房) just inside compound gates; big compounds get a second one.
    n_drop = max(4, round(300 * s))
    comps = list(a.compounds)
    order = rng.permutation(len(comps)).tolist()
    picks = [comps[i] for i in order[: min(n_drop, len(comps))]]
    picks += [comps[i] for i in order[: max(0, n_drop - len(picks))]]
    second: set[str] = set()
    for comp in picks:
        again = comp.zone_id in second
        second.add(comp.zone_id)
        depth = 14.0 if not again else 60.0
        sideways = np.array([-comp.inward_m[1], comp.inward_m[0]]) * (12.0 if not again else -20.0)
        p = np.array(comp.gate_m) + np.array(comp.inward_m) * depth + sideways
        x, y = gcrs.transform([p[0]], [p[1]], METRIC, "EPSG:4490")
        if not shapely.contains_xy(comp.geom_ll, x[0], y[0]):
            x, y = [comp.gate_ll[0]], [comp.gate_ll[1]]
        road = r.roads[int(r.seg_road[comp.seg])].name
        add("drop_point", f"{comp.name}垃圾箱房{'2号' if again else ''}", float(x[0]), float(y[0]), -1,
            address=f"{road}{comp.lane or ''}{comp.name}", capacity_tpd=round(float(rng.uniform(0.3, 2.5)), 2),
            attrs={"weighing": bool(rng.random() < 0.4), "bins": ["湿垃圾", "干垃圾", "可回收物", "有害垃圾"],
                   "schedule": [{"start": "06:30", "end": "08:30"}, {"start": "18:00", "end": "20:00"}],
                   "households": int(rng.integers(150, 900)), "zone_id": comp.zone_id})

    def roadside(kind: str, n: int, namer, **kw) -> None:
        x, y, seg, cell = roadside_points(d, r, loc, rng, n, 8, 18)
        for k in range(n):
            road = r.roads[int(r.seg_road[seg[k]])].name
            extra = {key: (v(k) if callable(v) else v) for key, v in kw.items()}
            add(kind, namer(k, road), float(x[k]), float(y[k]), int(cell[k]), address=f"{road}旁", **extra)

    roadside("collection_point", max(2, round(40 * s)), lambda k, road: f"{road}垃圾收集点{k + 1}",
             attrs={"LX": 1}, capacity_tpd=lambda k: round(float(rng.uniform(1, 5)), 1))
    roadside("collection_station", max(1, round(12 * s)), lambda k, road: f"{road}垃圾收集站",
             attrs={"LX": 2}, capacity_tpd=lambda k: round(float(rng.uniform(10, 40)), 1))
    roadside("compactor_station", max(1, round(10 * s)), lambda k, road: f"{road}小压站",
             capacity_tpd=lambda k: round(float(rng.uniform(20, 60)), 1))
    roadside("recyclables_point", max(2, round(40 * s)), lambda k, road: f"{road}两网融合回收服务点",
             attrs={"accepts": ["纸类", "塑料", "金属", "玻璃", "织物"]})
    roadside("hazardous_store", max(1, round(10 * s)), lambda k, road: f"{road}有害垃圾暂存点")
    roadside("public_toilet", max(3, round(120 * s)), lambda k, road: f"{road}公共厕所",
             attrs=lambda k: {"LB": ["独立式", "附属式", "活动式"][int(rng.integers(3))],
                              "GGCSLX": int(rng.integers(1, 4)), "seats_m": int(rng.integers(2, 8)),
                              "seats_f": int(rng.integers(3, 10)), "accessible": bool(rng.random() < 0.7),
                              "open": "24小时" if rng.random() < 0.6 else "05:00-22:00"})

    # Transfer stations (one per few streets) and the disposal plants at the district's edge.
    n_transfer = max(1, round(3 * np.sqrt(s)))
    cents = np.array([st["geom"].centroid.coords[0] for st in d.streets])
    picks_t = rng.choice(len(d.streets), size=min(n_transfer, len(d.streets)), replace=False)
    nearest = np.argmin(((cents[:, None, :] - cents[picks_t][None]) ** 2).sum(-1), axis=1)
    for t, sidx in enumerate(picks_t.tolist()):
        cell = int(rng.choice(np.nonzero(d.cell_street == sidx)[0]))
        x, y = points_in_cells(d, rng, np.array([cell]), margin=0.3)
        covered = [d.streets[k]["geom"] for k in np.nonzero(nearest == t)[0].tolist()]
        cover = union_cells(np.array(covered, dtype=object)) if covered else None
        root = d.streets[sidx]["name"].removesuffix("街道").removesuffix("镇")
        add("transfer_station", f"宝山区{root}生活垃圾中转站", float(x[0]), float(y[0]), cell,
            capacity_tpd=float([300, 500, 800][t % 3]), attrs={"class": ["Ⅲ类", "Ⅱ类", "Ⅰ类"][t % 3]},
            coverage=cover)
    edge_cells = np.argsort(d.ci + (d.ny - d.cj))  # north-west first
    plants = [("kitchen_waste_plant", "宝山区湿垃圾资源化处理厂", 500.0),
              ("incinerator", "宝山再生能源利用中心", 3000.0),
              ("disposal_terminal", "宝山区建筑垃圾资源化利用处置场", 2000.0)]
    for k, (kind, name, cap) in enumerate(plants):
        cell = int(edge_cells[5 + 7 * k])
        x, y = points_in_cells(d, rng, np.array([cell]), margin=0.3)
        add(kind, name, float(x[0]), float(y[0]), cell, capacity_tpd=cap, coverage=d.district_geom,
            attrs={"service": "全区"})

    xs = np.array([row["x"] for row in rows])
    ys = np.array([row["y"] for row in rows])
    cells = loc.cells(xs, ys)
    counters: dict[str, int] = {}
    cols: dict[str, list] = {k: [] for k in ("id", "code", "name", "kind", "address", "district_code",
                                             "unit_grid_code", "capacity_tpd", "operator", "contact",
                                             "commissioned", "attrs")}
    cols["coverage"] = []
    for k, row in enumerate(rows):
        counters[row["kind"]] = counters.get(row["kind"], 0) + 1
        cols["id"].append(start_id + k)
        cols["code"].append(f"{names.DISTRICT_CODE}-{KIND_PREFIX[row['kind']]}-{counters[row['kind']]:04d}")
        cols["name"].append(row["name"])
        cols["kind"].append(row["kind"])
        cols["address"].append(row.get("address"))
        cols["district_code"].append(names.DISTRICT_CODE)
        cols["unit_grid_code"].append(d.cell_code[cells[k]] if cells[k] >= 0 else None)
        cols["capacity_tpd"].append(row.get("capacity_tpd"))
        cols["operator"].append(OPERATORS[int(rng.integers(len(OPERATORS)))])
        cols["contact"].append(f"{person(rng)} 021-{int(rng.integers(56000000, 56999999))}")
        cols["commissioned"].append(date(2010, 1, 1) + timedelta(days=int(rng.integers(0, 5000))))
        cols["attrs"].append(row.get("attrs") or {})
        cols["coverage"].append(row.get("coverage"))
    cols["geom"] = shapely.points(xs, ys)
    t = Table("waste_facilities", cols, geom_cols=("coverage", "geom"), serial="id")
    t.meta["cell"] = cells
    return t


# -- work / responsibility grids ---------------------------------------------------------------------


def build_work_grids(d: District, r: Roads) -> Table:
    rng = np.random.default_rng([d.seed, 7])
    cols: dict[str, list] = {k: [] for k in ("id", "code", "kind", "name", "street_code", "assignee", "team",
                                             "note", "geom")}

    def add(code: str, kind: str, name: str, street: int, geom, assignee: str | None, team: str | None) -> None:
        cols["id"].append(len(cols["id"]) + 1)
        cols["code"].append(code)
        cols["kind"].append(kind)
        cols["name"].append(name)
        cols["street_code"].append(d.streets[street]["code"])
        cols["assignee"].append(assignee)
        cols["team"].append(team)
        cols["note"].append(None)
        cols["geom"].append(geom)

    for c, comm in enumerate(d.communities):
        st = comm["street"]
        sname = d.streets[st]["name"]
        cells = np.nonzero(d.cell_comm == c)[0]
        add(f"{comm['code']}HW", "sanitation_patrol", f"{comm['name']}环卫巡查网格", st, comm["geom"], person(rng),
            f"{sname}环卫所")
        # Work grids: the community split in two along its longer axis.
        cx = shapely.get_coordinates(shapely.centroid(d.cell_ll[cells]))
        axis = 0 if np.ptp(cx[:, 0]) * 0.85 > np.ptp(cx[:, 1]) else 1
        half = cx[:, axis] <= np.median(cx[:, axis])
        for k, part in enumerate((cells[half], cells[~half]), start=1):
            if len(part):
                add(f"{comm['code']}G{k}", "work", f"{comm['name']}第{k}工作网格", st, union_cells(d.cell_ll[part]),
                    person(rng), f"{sname}城运中心")
        # Responsibility grids: one per block of the community, one supervisor each.
        blocks = np.unique(d.cell_block[cells])
        for k, b in enumerate(blocks.tolist(), start=1):
            part = cells[d.cell_block[cells] == b]
            add(f"{comm['code']}R{k:03d}", "responsibility", f"{comm['name']}第{k}责任网格", st,
                union_cells(d.cell_ll[part]), person(rng), f"{sname}监督员队伍")
    for s, st in enumerate(d.streets):
        cells = np.nonzero(d.cell_street == s)[0]
        root = st["name"].removesuffix("街道").removesuffix("镇")
        add(f"{st['code']}ZF", "enforcement_patrol", f"{st['name']}城管执法巡查网格", s, st["geom"], person(rng),
            f"宝山区城管执法局{root}中队")
        cx = shapely.get_coordinates(shapely.centroid(d.cell_ll[cells]))
        east = cx[:, 0] > np.median(cx[:, 0])
        for k, part in enumerate((cells[~east], cells[east]), start=1):
            if len(part):
                add(f"{st['code']}LH{k}", "greening_maintenance", f"{st['name']}绿化养护{'西东'[k - 1]}片区", s,
                    union_cells(d.cell_ll[part]), person(rng), "上海宝山园林绿化工程有限公司")
    # 市容环境卫生责任网格: a 30 m band along each trunk road (the frontage its shops answer for).
    for k, road in enumerate([x for x in r.roads if x.trunk], start=1):
        line = shapely.line_merge(shapely.union_all(r.seg_ll[road.segments]))
        band_m = gcrs.transform_geometry(line, "EPSG:4490", METRIC).buffer(30, cap_style="flat")
        band = gcrs.transform_geometry(band_m, METRIC, "EPSG:4490")
        band = shapely.make_valid(band) if not band.is_valid else band
        geom = band if isinstance(band, shapely.MultiPolygon) else shapely.MultiPolygon([band])
        street = int(np.bincount(r.seg_street[road.segments]).argmax())
        add(f"SR{k:03d}", "cityscape_responsibility", f"{road.name}市容环境卫生责任区", street, geom, None,
            "宝山区绿化和市容管理局")
    return Table("work_grids", cols, serial="id")
