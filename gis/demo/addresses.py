"""Geocoding reference data: compounds (地片/区片), lanes (弄/支弄), doorplates (门/楼牌) and POIs.

Compounds sit inside road-bounded blocks with a gate on one road. A compound either has a lane
(`淞滨路100弄`, numbered from the road like any doorplate on that side, with plates `…100弄5号` inside and
sometimes 支弄) or building plates (`…小区3号楼`). On-street plates fill the remaining road frontage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from gis import crs as gcrs
from gis.demo import names
from gis.demo.lattice import METRIC, District, union_cells
from gis.demo.locate import CellLocator, points_in_cells
from gis.demo.roads import Roads, along, house_fraction, side_of

FULL_ZONES = 400
FULL_DOORPLATES = 30_000
FULL_POIS = 2_000
LANE_SHARE = 0.6
DATA_SOURCE = "citygrid demo (synthetic)"


@dataclass
class Compound:
    zone_id: str
    name: str
    cells: NDArray[np.int64]
    geom_ll: shapely.MultiPolygon
    geom_m: shapely.Geometry
    seg: int                       # entrance segment
    gate_ll: tuple[float, float]   # just inside the compound at its gate
    gate_m: tuple[float, float]
    inward_m: tuple[float, float]  # unit vector from the road into the compound
    community: int
    alias: list[str] = field(default_factory=list)
    old_name: list[str] = field(default_factory=list)
    lane: str | None = None        # "100弄" when the compound is a lane
    lane_num: int | None = None


@dataclass
class Plates:
    """Doorplate columns being collected (one entry per plate)."""

    add_name: list[str] = field(default_factory=list)
    road: list[str | None] = field(default_factory=list)
    zone: list[str | None] = field(default_factory=list)
    house_name: list[str] = field(default_factory=list)
    house_num: list[int | None] = field(default_factory=list)
    lane: list[str | None] = field(default_factory=list)
    building: list[str | None] = field(default_factory=list)
    street_id: list[int | None] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)   # street | lane | building (not stored; for tests/POIs)

    def add(self, **kw) -> None:
        for k, v in kw.items():
            getattr(self, k).append(v)


@dataclass
class Addresses:
    compounds: list[Compound]
    lanes: list[dict]          # extra street records: name, s, l, geom_ll, street index, road name, begin
    plates: Plates
    plate_cell: NDArray[np.int64]
    pois: dict[str, list]
    poi_cell: NDArray[np.int64]


def _to_ll(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    return gcrs.transform(x, y, METRIC, "EPSG:4490")


def _to_m(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    return gcrs.transform(x, y, "EPSG:4490", METRIC)


def _zone_name(rng: np.random.Generator, root: str, used: set[str]) -> str:
    for _ in range(50):
        name = root + names.ZONE_SUFFIXES[int(rng.integers(len(names.ZONE_SUFFIXES)))]
        if name not in used:
            used.add(name)
            return name
    name = f"{root}{len(used)}号小区"
    used.add(name)
    return name


def build_compounds(d: District, r: Roads, rng: np.random.Generator) -> list[Compound]:
    target = max(4, round(FULL_ZONES * d.scale))
    order = rng.permutation(len(d.blocks))
    out: list[Compound] = []
    used: set[str] = set()
    for b in order.tolist():
        if len(out) >= target:
            break
        x0, x1, y0, y1 = d.blocks[b].tolist()
        bw, bh = x1 - x0, y1 - y0
        side = ("S", "N", "W", "E")[int(rng.integers(4))]
        w = int(rng.integers(1, min(3, bw) + 1))
        h = int(rng.integers(1, min(3, bh) + 1))
        if w * h < 2 and bw * bh >= 2:
            w = min(2, bw) if bw >= 2 else w
            h = min(2, bh) if bw < 2 else h
        sx0 = x0 + int(rng.integers(0, bw - w + 1)) if side in "SN" else (x0 if side == "W" else x1 - w)
        sy0 = y0 + int(rng.integers(0, bh - h + 1)) if side in "WE" else (y0 if side == "S" else y1 - h)
        idx = d.cell_index[sx0:sx0 + w, sy0:sy0 + h].ravel()
        if (idx < 0).any():
            continue
        if side in "SN":
            line, pos = (y0 if side == "S" else y1), sx0 + w // 2
            key = ("h", line, pos)
            na, nb = d.node_m[pos, line], d.node_m[pos + 1, line]
        else:
            line, pos = (x0 if side == "W" else x1), sy0 + h // 2
            key = ("v", line, pos)
            na, nb = d.node_m[line, pos], d.node_m[line, pos + 1]
        if key not in r.edge_seg:
            continue
        inset = float(rng.uniform(12, 22))
        poly_m = union_cells(d.cell_m[idx]).buffer(-inset, join_style="mitre")
        if poly_m.is_empty or poly_m.area < 4000:
            continue
        mid = (na + nb) / 2
        centre = np.array(poly_m.centroid.coords[0])
        normal = np.array([-(nb - na)[1], (nb - na)[0]])
        normal /= np.linalg.norm(normal)
        if np.dot(centre - mid, normal) < 0:
            normal = -normal
        gate_m = mid + normal * (inset + 4)
        if not poly_m.contains(shapely.Point(gate_m)):
            continue
        geom_ll = gcrs.transform_geometry(poly_m, METRIC, "EPSG:4490")
        if not geom_ll.is_valid:
            geom_ll = shapely.make_valid(geom_ll)
        if isinstance(geom_ll, shapely.Polygon):
            geom_ll = shapely.MultiPolygon([geom_ll])
        if not isinstance(geom_ll, shapely.MultiPolygon):
            continue
        gx, gy = _to_ll(np.array([gate_m[0]]), np.array([gate_m[1]]))
        comm = int(d.cell_comm[idx[0]])
        street_code = d.streets[d.communities[comm]["street"]]["code"]
        root = names.COMMUNITY_ROOTS[street_code][int(rng.integers(len(names.COMMUNITY_ROOTS[street_code])))]
        name = _zone_name(rng, root, used)
        c = Compound(f"{names.DISTRICT_CODE}Z{len(out) + 1:05d}", name, idx, geom_ll, poly_m, r.edge_seg[key],
                     (float(gx[0]), float(gy[0])), (float(gate_m[0]), float(gate_m[1])),
                     (float(normal[0]), float(normal[1])), comm)
        if rng.random() < 0.15:
            c.alias = [name + "小区" if not name.endswith("小区") else name.removesuffix("小区")]
        if rng.random() < 0.06:
            c.old_name = [root + "新村" if not name.endswith("新村") else root + "里"]
        out.append(c)
    return out


def _lane_number(r: Roads, comp: Compound, used: set[tuple[int, int]]) -> int | None:
    seg = comp.seg
    line = r.seg_ll[seg]
    f = float(shapely.line_locate_point(line, shapely.Point(comp.gate_ll), normalized=True))
    s, l_ = int(r.seg_s[seg]), int(r.seg_l[seg])
    left = side_of(np.array([line]), np.array([comp.gate_ll[0]]), np.array([comp.gate_ll[1]]))[0] > 0
    n = s + round(f * (l_ - s))
    if (n % 2 == 1) != left:
        n += 1
    road = int(r.seg_road[seg])
    for delta in (0, 2, -2, 4, -4, 6, -6, 8, -8):
        m = n + delta
        if s < m < l_ and (road, m) not in used:
            used.add((road, m))
            return m
    return None


def build_addresses(d: District, r: Roads, loc: CellLocator) -> Addresses:
    rng = np.random.default_rng([d.seed, 4])
    compounds = build_compounds(d, r, rng)
    plates = Plates()
    lanes: list[dict] = []
    used: set[tuple[int, int]] = set()

    for comp in compounds:
        road = r.roads[int(r.seg_road[comp.seg])]
        n = _lane_number(r, comp, used) if rng.random() < LANE_SHARE else None
        if n is not None:
            comp.lane, comp.lane_num = f"{n}弄", n
            # The lane runs from the gate into the compound; plates alternate sides (odd left).
            depth = float(rng.uniform(0.55, 0.85)) * _depth(comp)
            p0 = np.array(comp.gate_m)
            p1 = p0 + np.array(comp.inward_m) * max(depth, 40.0)
            lx, ly = _to_ll(np.array([p0[0], p1[0]]), np.array([p0[1], p1[1]]))
            lane_line = shapely.LineString(np.column_stack([lx, ly]))
            m = max(2, int(max(depth, 40.0) / rng.uniform(10, 16)))
            k = np.arange(1, m + 1)
            frac = (k - 1) / max(m - 1, 1)
            off = np.where(k % 2 == 1, 1, -1) * rng.uniform(7, 10, m)
            px, py = along(np.full(m, lane_line, dtype=object), frac, off)
            inside = shapely.contains_xy(comp.geom_ll, px, py)
            for kk, x, y, ok in zip(k.tolist(), px.tolist(), py.tolist(), inside.tolist(), strict=True):
                if ok:
                    plates.add(add_name=f"{road.name}{n}弄{kk}号", road=road.name, zone=comp.name,
                               house_name=f"{n}弄{kk}号", house_num=n, lane=f"{n}弄", building=None,
                               street_id=comp.seg + 1, x=x, y=y, kind="lane")
            lanes.append({"name": f"{road.name}{n}弄", "s": 1, "l": m, "geom": lane_line, "road": road.name,
                          "street": int(d.cell_street[comp.cells[0]]), "zone": comp.name})
            # 支弄: branches off long lanes.
            if m >= 8 and rng.random() < 0.5:
                for b in range(1, int(rng.integers(1, 4)) + 1):
                    t = b / 4
                    base = p0 + (p1 - p0) * t
                    perp = np.array([-comp.inward_m[1], comp.inward_m[0]]) * (1 if b % 2 else -1)
                    q = int(rng.integers(3, 8))
                    dist = 12 + 11 * np.arange(q)
                    side = np.where(np.arange(1, q + 1) % 2 == 1, 1, -1)
                    bx = base[0] + perp[0] * dist + comp.inward_m[0] * 6 * side
                    by = base[1] + perp[1] * dist + comp.inward_m[1] * 6 * side
                    gx, gy = _to_ll(bx, by)
                    ok = shapely.contains_xy(comp.geom_ll, gx, gy)
                    for kk in range(q):
                        if ok[kk]:
                            plates.add(add_name=f"{road.name}{n}弄{b}支弄{kk + 1}号", road=road.name, zone=comp.name,
                                       house_name=f"{n}弄{b}支弄{kk + 1}号", house_num=n, lane=f"{n}弄{b}支弄",
                                       building=None, street_id=comp.seg + 1, x=float(gx[kk]), y=float(gy[kk]),
                                       kind="lane")
        else:
            # Building plates on a grid inside the compound.
            minx, miny, maxx, maxy = comp.geom_m.bounds
            step = float(rng.uniform(32, 48))
            gx, gy = np.meshgrid(np.arange(minx + step / 2, maxx, step), np.arange(maxy - step / 2, miny, -step))
            gx, gy = gx.ravel(), gy.ravel()
            keep = shapely.contains_xy(comp.geom_m, gx, gy)
            gx, gy = gx[keep], gy[keep]
            lx, ly = _to_ll(gx, gy)
            for kk, (x, y) in enumerate(zip(lx.tolist(), ly.tolist(), strict=True), start=1):
                plates.add(add_name=f"{comp.name}{kk}号楼", road=road.name, zone=comp.name, house_name=f"{kk}号楼",
                           house_num=None, lane=None, building=f"{kk}号楼", street_id=None, x=x, y=y,
                           kind="building")

    # On-street plates: every number of every segment is a candidate; keep as many as the target asks.
    seg_all = np.repeat(np.arange(r.n), r.seg_l - r.seg_s + 1)
    num_all = np.concatenate([np.arange(s, l_ + 1) for s, l_ in zip(r.seg_s.tolist(), r.seg_l.tolist(),
                                                                        strict=True)])
    frac = house_fraction(r, seg_all, num_all)
    road_all = r.seg_road[seg_all]
    lane_taken = np.array([(int(a), int(b)) in used for a, b in zip(road_all, num_all, strict=True)])
    cand = (frac > 0.04) & (frac < 0.96) & ~lane_taken
    seg_c, num_c = seg_all[cand], num_all[cand]
    off = rng.uniform(10, 20, len(seg_c)) * np.where(num_c % 2 == 1, 1, -1)
    px, py = along(r.seg_ll[seg_c], house_fraction(r, seg_c, num_c), off)
    cell = loc.cells(px, py)
    ok = np.nonzero(cell >= 0)[0]
    target = max(50, round(FULL_DOORPLATES * d.scale) - len(plates.add_name))
    pick = np.sort(rng.choice(ok, size=min(target, len(ok)), replace=False))
    for i in pick.tolist():
        road = r.roads[int(r.seg_road[seg_c[i]])]
        n = int(num_c[i])
        plates.add(add_name=f"{road.name}{n}号", road=road.name, zone=None, house_name=f"{n}号", house_num=n,
                   lane=None, building=None, street_id=int(seg_c[i]) + 1, x=float(px[i]), y=float(py[i]),
                   kind="street")
    plate_cell = loc.cells(np.array(plates.x), np.array(plates.y))
    pois, poi_cell = build_pois(d, r, loc, compounds, plates, plate_cell, rng)
    return Addresses(compounds, lanes, plates, plate_cell, pois, poi_cell)


def _depth(comp: Compound) -> float:
    """How far the compound reaches from its gate, along the inward direction."""
    coords = shapely.get_coordinates(comp.geom_m)
    return float(np.max((coords - np.array(comp.gate_m)) @ np.array(comp.inward_m)))


# -- POIs -------------------------------------------------------------------------------------------

POI_CATEGORIES = {
    "restaurant": "餐饮", "shop": "购物", "bank": "银行", "hotel": "住宿", "school": "学校", "kindergarten": "幼儿园",
    "hospital": "医院", "clinic": "社区卫生服务中心", "park": "公园", "market": "菜市场", "bus_station": "公交车站",
    "subway_station": "地铁站", "bridge": "桥梁", "government": "政府机构", "police": "派出所",
}
HOSPITALS = [
    "上海市第一人民医院宝山分院", "宝山区中西医结合医院", "宝山区仁和医院", "宝山区大场医院",
    "上海市宝山区罗店医院", "宝山区吴淞中心医院", "上海交通大学医学院附属第九人民医院北部院区",
    "宝山区精神卫生中心", "宝山区妇幼保健所",
]
PARKS = [
    "顾村公园", "炮台湾湿地森林公园", "共和公园", "友谊公园", "泗塘公园", "滨江公园", "庙行公园", "大场公园",
    "智慧湾公园", "吴淞口滨江绿地", "淞南公园", "杨行公园", "月浦公园", "美兰湖公园", "通河公园",
]


def build_pois(d: District, r: Roads, loc: CellLocator, compounds: list[Compound], plates: Plates,
               plate_cell: NDArray, rng: np.random.Generator) -> tuple[dict[str, list], NDArray]:
    s = d.scale
    street_plates = np.array([i for i, k in enumerate(plates.kind) if k == "street" and plate_cell[i] >= 0])
    px, py = np.array(plates.x), np.array(plates.y)
    cols: dict[str, list] = {k: [] for k in ("name", "category", "alias", "old_name", "floor", "add_name", "x", "y")}
    taken: set[int] = set()

    def add(name: str, cat: str, x: float, y: float, add_name: str | None = None, floor: str | None = None,
            alias: list[str] | None = None) -> None:
        cols["name"].append(name)
        cols["category"].append(cat)
        cols["alias"].append(alias or [])
        cols["old_name"].append([])
        cols["floor"].append(floor)
        cols["add_name"].append(add_name)
        cols["x"].append(x)
        cols["y"].append(y)

    def at_plate(i: int) -> tuple[float, float, str, str]:
        taken.add(i)
        # Shops stand a few metres behind their plate, on the same side.
        return px[i] + rng.normal(0, 2e-5), py[i] + rng.normal(0, 2e-5), plates.add_name[i], plates.road[i] or ""

    def free_plates(n: int) -> list[int]:
        avail = np.array([i for i in street_plates.tolist() if i not in taken])
        if len(avail) == 0:
            return []
        return rng.choice(avail, size=min(n, len(avail)), replace=False).tolist()

    def person() -> str:
        return names.SURNAMES[int(rng.integers(len(names.SURNAMES)))]

    # Restaurants: ~60 % in a few clusters (food streets), the rest scattered.
    n_rest = max(10, round(700 * s))
    n_clusters = max(2, round(6 * np.sqrt(s)))
    centres = free_plates(n_clusters)
    clustered = int(n_rest * 0.6)
    tree_pts = np.column_stack([px[street_plates], py[street_plates]])
    for c, ci in enumerate(centres):
        want = clustered // n_clusters
        dist = np.hypot(tree_pts[:, 0] - px[ci], tree_pts[:, 1] - py[ci])
        for i in street_plates[np.argsort(dist)].tolist():
            if want == 0:
                break
            if i in taken:
                continue
            x, y, addr, road = at_plate(i)
            add(_restaurant_name(rng, road, person), "restaurant", x, y, addr, "1F")
            want -= 1
        del c
    for i in free_plates(n_rest - len(cols["name"])):
        x, y, addr, road = at_plate(i)
        add(_restaurant_name(rng, road, person), "restaurant", x, y, addr, "1F")

    for i in free_plates(max(5, round(650 * s))):
        x, y, addr, road = at_plate(i)
        if rng.random() < 0.5:
            name = f"{names.SHOP_BRANDS[int(rng.integers(len(names.SHOP_BRANDS)))]}({road}店)"
        else:
            name = f"{person()}记{names.SHOP_KINDS[int(rng.integers(len(names.SHOP_KINDS)))]}"
        add(name, "shop", x, y, addr, "1F")
    for i in free_plates(max(2, round(60 * s))):
        x, y, addr, road = at_plate(i)
        add(f"{names.BANKS[int(rng.integers(len(names.BANKS)))]}{road}支行", "bank", x, y, addr, "1F")
    for i in free_plates(max(1, round(30 * s))):
        x, y, addr, road = at_plate(i)
        add(f"{names.HOTELS[int(rng.integers(len(names.HOTELS)))]}(宝山{road}店)", "hotel", x, y, addr)

    # Schools, kindergartens, clinics, markets, parks: inside cells / compounds.
    def in_cells(n: int) -> tuple[NDArray, NDArray, NDArray]:
        cells = rng.choice(d.n_cells, size=n, replace=n > d.n_cells)
        x, y = points_in_cells(d, rng, cells, margin=0.25)
        return x, y, cells

    comm_roots = [names.COMMUNITY_ROOTS[d.streets[c["street"]]["code"]] for c in d.communities]
    x, y, cells = in_cells(max(3, round(60 * s)))
    for k in range(len(x)):
        root = comm_roots[d.cell_comm[cells[k]]][int(rng.integers(10))]
        kind = ["小学", "中学", "实验小学", "中心小学", "初级中学", "高级中学", "外国语学校"][int(rng.integers(7))]
        add(f"上海市宝山区{root}{kind}", "school", float(x[k]), float(y[k]), alias=[f"{root}{kind}"])
    for comp in compounds[: max(2, round(40 * s))]:
        cx, cy = comp.geom_ll.representative_point().coords[0]
        add(f"{comp.name}幼儿园", "kindergarten", cx, cy)
    x, y, cells = in_cells(min(len(HOSPITALS), max(1, round(15 * s))))
    for k in range(len(x)):
        add(HOSPITALS[k], "hospital", float(x[k]), float(y[k]))
    for st in d.streets:
        cell = int(rng.choice(np.nonzero(d.cell_street == d.streets.index(st))[0]))
        cx, cy = points_in_cells(d, rng, np.array([cell]), margin=0.3)
        add(f"{st['name']}社区卫生服务中心", "clinic", float(cx[0]), float(cy[0]))
        cell = int(rng.choice(np.nonzero(d.cell_street == d.streets.index(st))[0]))
        cx, cy = points_in_cells(d, rng, np.array([cell]), margin=0.3)
        office = "人民政府" if st["name"].endswith("镇") else "办事处"
        add(f"{st['name']}{office}", "government", float(cx[0]), float(cy[0]))
        cell = int(rng.choice(np.nonzero(d.cell_street == d.streets.index(st))[0]))
        cx, cy = points_in_cells(d, rng, np.array([cell]), margin=0.3)
        add(f"宝山公安分局{st['name'].removesuffix('街道').removesuffix('镇')}派出所", "police", float(cx[0]),
            float(cy[0]))
    for c, comm in enumerate(d.communities):
        cell = int(rng.choice(np.nonzero(d.cell_comm == c)[0]))
        cx, cy = points_in_cells(d, rng, np.array([cell]), margin=0.3)
        add(comm["name"].removesuffix("社区") + "居民委员会", "government", float(cx[0]), float(cy[0]),
            alias=[comm["name"].removesuffix("社区") + "居委会"])
    x, y, cells = in_cells(max(2, round(40 * s)))
    for k in range(len(x)):
        root = comm_roots[d.cell_comm[cells[k]]][int(rng.integers(10))]
        add(f"{root}菜市场", "market", float(x[k]), float(y[k]))
    x, y, cells = in_cells(min(len(PARKS), max(1, round(15 * s))))
    for k in range(len(x)):
        add(PARKS[k], "park", float(x[k]), float(y[k]))

    # Bus stations near intersections, named "<road><crossing road>站"; subway stations at trunk roads.
    n_bus = max(4, round(300 * s))
    segs = rng.choice(r.n, size=min(n_bus, r.n), replace=False)
    at_end = rng.random(len(segs)) < 0.5
    frac = np.where(at_end, 0.92, 0.08)
    off = rng.choice([-9.0, 9.0], len(segs))
    bx, by = along(r.seg_ll[segs], frac, off)
    for k, sid in enumerate(segs.tolist()):
        road = r.roads[int(r.seg_road[sid])].name
        cross = r.seg_end[sid] if at_end[k] else r.seg_begin[sid]
        if cross == "区界":
            continue
        add(f"{road}{cross}站", "bus_station", float(bx[k]), float(by[k]), alias=[f"{road}{cross}(公交站)"])
    trunk_segs = [sid for sid in range(r.n) if r.roads[int(r.seg_road[sid])].trunk]
    n_sub = min(len(trunk_segs), max(1, round(15 * s)))
    for k, sid in enumerate(rng.choice(trunk_segs, size=n_sub, replace=False).tolist() if trunk_segs else []):
        road = r.roads[int(r.seg_road[sid])].name
        sx, sy = along(r.seg_ll[[sid]], np.array([0.5]), np.array([25.0]))
        line = names.SUBWAY_LINES[k % len(names.SUBWAY_LINES)]
        name = f"{road.removesuffix('路').removesuffix('大道')}站" if k % 3 else f"{r.seg_begin[sid]}站"
        add(name, "subway_station", float(sx[0]), float(sy[0]), alias=[f"地铁{line}{name}"])

    # Bridges where north–south roads cross the 蕰藻浜 (a lattice row across the middle of the district).
    river_row = int(d.ny * 0.45)
    for road in r.roads:
        if road.orient != "v" or not road.start <= river_row < road.end:
            continue
        sid = r.edge_seg[("v", road.line, river_row)]
        nodes = r.seg_nodes[sid]
        j = nodes % (d.ny + 1)
        k = int(np.searchsorted(j, river_row))
        if k + 1 >= len(nodes):
            continue
        a, b = d.node_ll.reshape(-1, 2)[nodes[k]], d.node_ll.reshape(-1, 2)[nodes[k + 1]]
        mid = (a + b) / 2
        add(f"{road.name}蕰藻浜桥", "bridge", float(mid[0] + 4e-5), float(mid[1]), alias=[f"{road.name}桥"])

    cell = loc.cells(np.array(cols["x"]), np.array(cols["y"]))
    keep = cell >= 0
    for k in cols:
        cols[k] = [v for v, ok in zip(cols[k], keep.tolist(), strict=True) if ok]
    return cols, cell[keep]


def _restaurant_name(rng: np.random.Generator, road: str, person) -> str:
    if rng.random() < 0.45:
        return f"{names.RESTAURANT_BRANDS[int(rng.integers(len(names.RESTAURANT_BRANDS)))]}({road}店)"
    return f"{person()}记{names.RESTAURANT_KINDS[int(rng.integers(len(names.RESTAURANT_KINDS)))]}"
