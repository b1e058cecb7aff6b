"""The in-memory reference index: regions, roads (named, connected street segments with their house
number ranges), zones, doorplates and POIs, loaded from PostGIS into metric numpy/shapely structures.

Matching a query is then dictionary look-ups and a few vector operations, with no SQL on the hot path.
The index is cached per database and rebuilt when the reference data change: triggers bump a counter
in `geocoder_ref_version` (migration 0003) and each request reads that one row.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import psycopg
import shapely
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from geocoder.abbrev import PoiAbbreviations, fold_station
from geocoder.normalise import name_key
from geocoder.segment import OTHER_PLACES, own_places, parse, strip_regions
from gis.db import degraded
from gis.metric import LocalFrame as Frame

_BRACKET = re.compile(r"[(（]")
#: Segments of one name closer than this (m) belong to the same road; farther ones are another road.
ROAD_JOIN_M = 150.0
#: Default distance (m) of a plate from the centre line when a street has no plates to learn it from.
DEFAULT_SETBACK_M = 12.0
#: Type words of development zones and parks (longest first): 大丰经济开发区 is also written 开发区,
#: 经济开发区 and 大丰开发区; 大丰工业园区 also 工业园区.
ZONE_TYPES = ("经济技术开发区", "高新技术产业开发区", "经济开发区", "高新区", "开发区", "工业园区", "产业园区",
              "工业园", "园区")
#: Last characters of street names: a region stem ending so would shadow the street (友谊路街道 → 友谊路).
_STREET_END = set("路街道巷弄里桥条")
#: Numerals: a one-edit fuzzy match may not change one (第八中学 is not 第三中学, 12号 not 13号).
_NUMERAL = set("0123456789零一二三四五六七八九十百两")
#: A plate within this distance (m) of a compound polygon stands in it (lane plates as buildings).
IN_ZONE_M = 5.0


@dataclass
class Region:
    code: str
    level: str
    name: str
    geom: shapely.Geometry            # metric
    x: float
    y: float


@dataclass
class Road:
    idx: int
    name: str
    segs: list[int]
    geom: shapely.Geometry            # metric (Multi)LineString of its segments
    x: float
    y: float
    street_codes: set[str] = field(default_factory=set)
    setback: float = DEFAULT_SETBACK_M
    #: region code → share of the road in it (0–1): from region polygons (length inside), the street's own
    #: SubDisCode, and its doorplates' SubDisCode/CommuCode, whichever the data carry.
    regions: dict[str, float] = field(default_factory=dict)


@dataclass
class Segment:
    road: int
    s_housenum: int | None
    l_housenum: int | None
    line: shapely.Geometry            # metric LineString, in digitised direction


@dataclass
class Zone:
    idx: int
    zone_id: str
    name: str
    geom: shapely.Geometry
    x: float
    y: float
    regions: dict[str, float] = field(default_factory=dict)
    virtual: bool = False             # made from doorplates' ZoneName (村民小组, a compound not in the layer)


@dataclass
class Poi:
    idx: int
    poi_id: str
    name: str
    category: str | None
    x: float
    y: float
    regions: dict[str, float] = field(default_factory=dict)


@dataclass
class Plate:
    idx: int
    add_id: str
    add_name: str
    x: float
    y: float
    road: int | None
    zone: int | None
    lane: int | None
    sublane: int | None
    number: int | None
    number_sub: int | None
    building: int | None
    seg: int | None
    regions: dict[str, float] = field(default_factory=dict)


def _names(name: str, *arrays: list[str] | None) -> set[str]:
    """The comparison keys of a name, its aliases and old names (`{a/b}` items split too)."""
    keys = {name_key(name)}
    for arr in arrays:
        for item in arr or ():
            for part in str(item).strip("{}").split("/"):
                if part.strip():
                    keys.add(name_key(part))
    keys.discard("")
    return keys


class ReferenceIndex:
    """Everything the matcher needs, in memory. Build with `ReferenceIndex.load(conn)`."""

    def __init__(self, version: int | None = None) -> None:
        self.version = version
        self.frame = Frame(121.45, 31.3)
        self.regions: list[Region] = []
        self.region_keys: dict[str, list[int]] = defaultdict(list)
        self.own_cities: tuple[str, ...] = ()
        self.roads: list[Road] = []
        self.road_keys: dict[str, list[int]] = defaultdict(list)
        self.segments: list[Segment] = []
        self.zones: list[Zone] = []
        self.zone_keys: dict[str, list[int]] = defaultdict(list)
        self.pois: list[Poi] = []
        self.poi_keys: dict[str, list[int]] = defaultdict(list)
        self.poi_short_keys: dict[str, list[int]] = defaultdict(list)
        self.plates: list[Plate] = []
        self.plate_by_key: dict[tuple, int] = {}
        #: (road, parity) → (sorted street numbers, plate indexes) of plates on the street line itself.
        self.street_numbers: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        #: (road, lane, sublane) → (sorted numbers, plate indexes) of plates inside a lane.
        self.lane_numbers: dict[tuple[int, int, int | None], tuple[np.ndarray, np.ndarray]] = {}
        self.excluded: frozenset[str] = frozenset()
        self.plates_by_seg: dict[int, list[int]] = defaultdict(list)
        self.fit_cache: dict[tuple[int, int], tuple[float, float, float] | None] = {}
        self._fuzzy_roads: list[str] = []
        self._fuzzy_places: list[str] = []
        #: (which, length) → the fuzzy keys within one character of that length, in their list's order.
        self._fuzzy_near: dict[tuple[str, int], list[str]] = {}
        self.plate_tree: shapely.STRtree | None = None
        self.plate_points: np.ndarray = np.empty(0, dtype=object)
        self.seg_tree: shapely.STRtree | None = None
        self.region_tree: shapely.STRtree | None = None
        #: Region polygons and unit grids (区域 at every level) for region context: code, geometry, tree.
        self.area_codes: list[str] = []
        self.area_geoms: np.ndarray = np.empty(0, dtype=object)
        self.area_tree: shapely.STRtree | None = None
        self.region_by_code: dict[str, int] = {}
        #: (compound, number) → a lane plate standing inside the compound (人民路25弄3号 for 金色家园3号楼).
        self.zone_lane_plates: dict[tuple[int, int], int] = {}
        self.abbrev = PoiAbbreviations()
        #: First two characters of every known name → the lengths of such names (finds the first
        #: recognisable part of a query; what comes before it is noise).
        self.lead: dict[str, set[int]] = defaultdict(set)
        self._lead_keys: set[str] = set()

    # ---- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, conn: psycopg.Connection, exclude_plates: frozenset[str] = frozenset()) -> ReferenceIndex:
        index = cls(current_version(conn))
        index.excluded = exclude_plates
        row = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) c FROM ("
            " SELECT geom FROM streets UNION ALL SELECT geom FROM admin_areas"
            " UNION ALL SELECT geom FROM doorplates) g) q"
        ).fetchone()
        if row and row[0] is not None:
            index.frame = Frame(float(row[0]), float(row[1]))
        index._load_regions(conn)
        index._load_roads(conn)
        index._load_zones(conn)
        index._load_pois(conn)
        index._load_plates(conn, exclude_plates)
        index._finish()
        return index

    def _metric(self, wkbs: list[bytes]) -> np.ndarray:
        if not wkbs:
            return np.empty(0, dtype=object)
        return self.frame.geoms_to_xy(shapely.from_wkb(wkbs))

    def _load_regions(self, conn: psycopg.Connection) -> None:
        rows = conn.execute(
            "SELECT code, level, name, alias, old_name, ST_AsBinary(geom) FROM admin_areas ORDER BY code"
        ).fetchall()
        geoms = self._metric([r[5] for r in rows])
        reps = shapely.point_on_surface(geoms) if len(rows) else []
        provinces = set()
        for i, (code, level, name, alias, old, _) in enumerate(rows):
            reg = Region(code, level, name, geoms[i], float(shapely.get_x(reps[i])), float(shapely.get_y(reps[i])))
            self.regions.append(reg)
            keys = _names(name, alias, old)
            # 大丰区 → 大丰, 小海镇 → 小海: the bare place name people put before a colloquial POI name
            # (小海派出所, 大丰二中); a longer known name starting the same way is never cut (blockers).
            for k in list(keys):
                for suffix in ("街道", "区", "县", "镇", "乡"):
                    stem = k[: -len(suffix)]
                    if level in ("district", "street") and k.endswith(suffix) and len(stem) >= 2 and (
                            stem[-1] not in _STREET_END):   # 友谊路街道 → not 友谊路 (a street)
                        keys.add(stem)
            if level in ("street", "community"):
                # 淞南镇 / 淞南街道 / 海江社区 / 海江居委会 / 海团村村委会: the usual spellings of one place.
                for k in list(keys):
                    for suffix in ("街道办事处", "街道", "镇", "乡", "社区", "居委会", "村委会", "居民委员会"):
                        if k.endswith(suffix) and len(k) > len(suffix) + 1:
                            stem = k[: -len(suffix)]
                            if level == "street":
                                keys.update({stem + "街道", stem + "镇"} if suffix != "乡" else set())
                            else:
                                keys.update({stem + "社区", stem + "居委会", stem + "居委"})
            keys |= _zone_type_keys(keys)
            for k in keys:
                self.region_keys[k].append(i)
            self.region_by_code[code] = i
            provinces.add(code[:6])
        self.own_cities = own_places(provinces)
        self.region_tree = shapely.STRtree(geoms) if len(rows) else None
        grids = conn.execute("SELECT code, ST_AsBinary(geom) FROM unit_grids ORDER BY code").fetchall()
        self.area_codes = [r[0] for r in rows] + [g[0] for g in grids]
        self.area_geoms = np.concatenate([geoms, self._metric([g[1] for g in grids])]) if grids else geoms
        if len(self.area_codes):
            self.area_tree = shapely.STRtree(self.area_geoms)

    def _point_regions(self, xs: np.ndarray, ys: np.ndarray) -> list[dict[str, float]]:
        """Region codes (with their ancestors) of the polygons and unit grids holding each point."""
        out: list[dict[str, float]] = [{} for _ in range(len(xs))]
        if self.area_tree is None or not len(xs):
            return out
        pts, areas = self.area_tree.query(shapely.points(xs, ys), predicate="within")
        if not len(pts):
            return out
        # Regions nest: the deepest area holding a point names all the others (its code's ancestors).
        depth = np.array([len(c) for c in self.area_codes])[areas]
        order = np.lexsort((depth, pts))
        last = np.r_[pts[order][1:] != pts[order][:-1], True]
        cache: dict[int, dict[str, float]] = {}
        for i, a in zip(pts[order][last].tolist(), areas[order][last].tolist(), strict=True):
            if a not in cache:
                cache[a] = {c: 1.0 for c in _ancestors(self.area_codes[a])}
            out[i] = dict(cache[a])
        return out

    def _line_regions(self, lines: list[shapely.Geometry]) -> list[dict[str, float]]:
        """Region codes of each line with the share of its length inside that region (vectorised)."""
        out: list[dict[str, float]] = [{} for _ in lines]
        if self.area_tree is None or not lines:
            return out
        geoms = np.array(lines, dtype=object)
        li, ai = self.area_tree.query(geoms, predicate="intersects")
        if not len(li):
            return out
        inside = shapely.length(shapely.intersection(geoms[li], self.area_geoms[ai]))
        total = shapely.length(geoms[li])
        for i, a, share in zip(li.tolist(), ai.tolist(), (inside / np.maximum(total, 1e-9)).tolist(), strict=True):
            for c in _ancestors(self.area_codes[a]):
                out[i][c] = max(out[i].get(c, 0.0), share)
        return out

    def _load_roads(self, conn: psycopg.Connection) -> None:
        rows = conn.execute(
            "SELECT id, name, alias, old_name, s_housenum, l_housenum, street_code, ST_AsBinary(geom)"
            " FROM streets ORDER BY name, id"
        ).fetchall()
        lines = self._metric([r[7] for r in rows])
        self._seg_ids: dict[int, int] = {}
        by_name: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            by_name[r[1]].append(i)
        for name, members in by_name.items():
            # Union-find over segments of one name that touch or nearly touch: one road each.
            parent = {m: m for m in members}
            if len(members) > 1:
                geoms = lines[members]
                tree = shapely.STRtree(geoms)
                left, right = tree.query(geoms, predicate="dwithin", distance=ROAD_JOIN_M)
                for a, b in zip(left, right, strict=True):
                    ra, rb = _find(parent, members[a]), _find(parent, members[b])
                    if ra != rb:
                        parent[ra] = rb
            groups: dict[int, list[int]] = defaultdict(list)
            for m in members:
                groups[_find(parent, m)].append(m)
            for group in groups.values():
                ridx = len(self.roads)
                geom = shapely.line_merge(shapely.multilinestrings(list(lines[group])))
                longest = max(shapely.get_parts(geom), key=lambda g: g.length)
                mid = longest.interpolate(0.5, normalized=True)
                road = Road(ridx, name, [], geom, mid.x, mid.y)
                keys: set[str] = set()
                for m in group:
                    sid, _, alias, old, s_num, l_num, street_code, _ = rows[m]
                    seg_idx = len(self.segments)
                    self.segments.append(Segment(ridx, s_num, l_num, lines[m]))
                    self._seg_ids[sid] = seg_idx
                    road.segs.append(seg_idx)
                    if street_code:
                        road.street_codes.add(street_code)
                    keys |= _names(name, alias, old)
                self.roads.append(road)
                for k in keys:
                    self.road_keys[k].append(ridx)
        if self.segments:
            self.seg_tree = shapely.STRtree([s.line for s in self.segments])
        for road, shares in zip(self.roads, self._line_regions([r.geom for r in self.roads]), strict=True):
            road.regions = shares
            if len(road.street_codes) == 1:   # the street layer's own SubDisCode, when it has one
                for c in _ancestors(next(iter(road.street_codes))):
                    road.regions.setdefault(c, 1.0)

    def _load_zones(self, conn: psycopg.Connection) -> None:
        rows = conn.execute(
            "SELECT zone_id, name, alias, old_name, ST_AsBinary(geom) FROM zones ORDER BY zone_id"
        ).fetchall()
        geoms = self._metric([r[4] for r in rows])
        reps = shapely.point_on_surface(geoms) if len(rows) else []
        xs = shapely.get_x(reps) if len(rows) else np.empty(0)
        ys = shapely.get_y(reps) if len(rows) else np.empty(0)
        codes = self._point_regions(np.asarray(xs), np.asarray(ys))
        for i, (zid, name, alias, old, _) in enumerate(rows):
            self.zones.append(Zone(i, zid, name, geoms[i], float(reps[i].x), float(reps[i].y), codes[i]))
            for k in _names(name, alias, old):
                self.zone_keys[k].append(i)

    def _load_pois(self, conn: psycopg.Connection) -> None:
        rows = conn.execute(
            "SELECT poi_id, name, alias, old_name, category, ST_X(geom), ST_Y(geom) FROM pois ORDER BY poi_id"
        ).fetchall()
        if not rows:
            return
        xs, ys = self.frame.to_xy([r[5] for r in rows], [r[6] for r in rows])
        codes = self._point_regions(xs, ys)
        for i, (pid, name, alias, old, category, _, _) in enumerate(rows):
            self.pois.append(Poi(i, pid, name, category, float(xs[i]), float(ys[i]), codes[i]))
            keys = _names(name, alias, old)
            for k in keys:
                self.poi_keys[k].append(i)
            shorts = {name_key(_BRACKET.split(n)[0]) for n in [name, *(alias or [])] if _BRACKET.search(n)}
            all_shorts: set[str] = set()
            for k in keys | shorts:
                all_shorts |= self._short_names(k) | ({k} if k in shorts else set())
            for k in keys:
                all_shorts |= {v for v in self.abbrev.add(i, k, all_shorts) if v == fold_station(k)}
            for short in all_shorts:
                if short not in keys:
                    self.poi_short_keys[short].append(i)

    def _short_names(self, key: str) -> set[str]:
        """上海市宝山区淞南镇人民政府 → 淞南镇人民政府, 人民政府; 沃尔玛(淞滨路店) → 沃尔玛淞滨路店, 沃尔玛."""
        out: set[str] = set()
        _, _, rest = strip_regions(key, self.region_keys, self.own_cities)
        if rest and rest != key and len(rest) >= 2:
            out.add(rest)
        return out

    def _load_plates(self, conn: psycopg.Connection, exclude: frozenset[str]) -> None:
        rows = conn.execute(
            "SELECT add_id, add_name, road_name, zone_name, house_num, lane, building, street_id,"
            " ST_X(geom), ST_Y(geom), subdis_name, subdis_code, commu_name, commu_code"
            " FROM doorplates ORDER BY add_id"
        ).fetchall()
        rows = [r for r in rows if r[0] not in exclude]
        if not rows:
            return
        xs, ys = self.frame.to_xy([r[8] for r in rows], [r[9] for r in rows])
        codes = self._point_regions(xs, ys)
        for i, r in enumerate(rows):
            for c in (r[11], r[13]):
                if c:
                    for a in _ancestors(c):
                        codes[i].setdefault(a, 1.0)
        self._names_from_plates(rows, xs, ys)
        self._virtual_zones(rows, xs, ys)
        for i, (add_id, add_name, road_name, zone_name, house_num, lane, building, street_id, *_) in enumerate(rows):
            p = parse(add_name, self.region_keys, self.own_cities)
            seg = self._seg_ids.get(street_id) if street_id is not None else None
            x, y = float(xs[i]), float(ys[i])
            road = zone = None
            base = p.base
            if seg is not None and (not base or base in self.road_keys or not road_name):
                road = self.segments[seg].road
            if road is None and base in self.road_keys:
                road = self._nearest(self.road_keys[base], x, y, self.roads)
            if road is None and road_name and name_key(road_name) in self.road_keys:
                road = self._nearest(self.road_keys[name_key(road_name)], x, y, self.roads)
            if base in self.zone_keys:
                zone = self._nearest(self.zone_keys[base], x, y, self.zones)
                road = None if not p.has_number else road
            elif zone_name and name_key(zone_name) in self.zone_keys and road is None:
                zone = self._nearest(self.zone_keys[name_key(zone_name)], x, y, self.zones)
            parsed_any = p.has_number or p.building is not None
            number = p.number if parsed_any else house_num
            if road is not None and seg is None:    # no street_id (an imported layer): the nearest segment
                seg = min(self.roads[road].segs, key=lambda k: self.segments[k].line.distance(shapely.Point(x, y)))
            plate = Plate(len(self.plates), add_id, add_name, x, y, road, zone,
                          p.lane if p.lane is not None else _int(lane), p.sublane, number, p.number_sub,
                          p.building if p.building is not None else _int(building), seg, codes[i])
            self.plates.append(plate)
            for key in self._plate_keys(plate):
                self.plate_by_key.setdefault(key, plate.idx)

    def _names_from_plates(self, rows: list[tuple], xs: np.ndarray, ys: np.ndarray) -> None:
        """Region names the doorplates carry (SubDisName/CommuName with their codes): a name the regions
        layer lacks becomes an alias of the region with that code, or a region of its own (the hull of its
        plates) when the layer has no such code either."""
        found: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            for name, code in ((r[10], r[11]), (r[12], r[13])):
                if name and code:
                    found[(name, code)].append(i)
        for (name, code), members in found.items():
            key = name_key(name)
            known = self.region_keys.get(key, [])
            if any(self.regions[k].code == code for k in known):
                continue
            if code in self.region_by_code:
                self.region_keys[key].append(self.region_by_code[code])
                continue
            pts = shapely.multipoints(np.column_stack([xs[members], ys[members]]))
            geom = shapely.buffer(shapely.convex_hull(pts), 50.0)
            rep = shapely.point_on_surface(geom)
            level = "street" if len(code) == 9 else "community"
            self.region_by_code[code] = len(self.regions)
            self.region_keys[key].append(len(self.regions))
            self.regions.append(Region(code, level, name, geom, float(rep.x), float(rep.y)))

    def _virtual_zones(self, rows: list[tuple], xs: np.ndarray, ys: np.ndarray) -> None:
        """A ZoneName the zones layer does not hold (村民小组 海团村一组, an unmapped compound) becomes a
        zone made of its plates (their hull), one per community/street it occurs in."""
        found: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            if r[3]:
                key = name_key(r[3])
                if key and key not in self.zone_keys:
                    found[(key, r[13] or r[11] or "")].append(i)
        for (key, _), members in found.items():
            pts = shapely.multipoints(np.column_stack([xs[members], ys[members]]))
            geom = shapely.buffer(shapely.convex_hull(pts), 25.0)
            cx, cy = float(np.mean(xs[members])), float(np.mean(ys[members]))
            idx = len(self.zones)
            name = rows[members[0]][3]
            codes = self._point_regions(np.array([cx]), np.array([cy]))[0]
            for i in members:
                for c in (rows[i][11], rows[i][13]):
                    if c:
                        for a in _ancestors(c):
                            codes.setdefault(a, 1.0)
            self.zones.append(Zone(idx, f"virtual:{key}", name, geom, cx, cy, codes, virtual=True))
            self.zone_keys[key].append(idx)

    @staticmethod
    def _plate_keys(p: Plate) -> list[tuple]:
        keys = []
        parts = (p.lane, p.sublane, p.number, p.number_sub, p.building)
        if p.road is not None:
            keys.append(("road", p.road, *parts))
        if p.zone is not None:
            keys.append(("zone", p.zone, *parts))
        return keys

    @staticmethod
    def _nearest(candidates: list[int], x: float, y: float, items: list) -> int:
        if len(candidates) == 1:
            return candidates[0]
        pt = shapely.Point(x, y)
        return min(candidates, key=lambda c: items[c].geom.distance(pt))

    def _finish(self) -> None:
        street: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        lanes: dict[tuple[int, int, int | None], list[tuple[int, int]]] = defaultdict(list)
        offsets: dict[int, list[float]] = defaultdict(list)
        for p in self.plates:
            if p.seg is not None:
                self.plates_by_seg[p.seg].append(p.idx)
            if p.road is None:
                continue
            if p.lane is None and p.number is not None and p.number_sub is None and p.building is None:
                street[(p.road, p.number % 2)].append((p.number, p.idx))
            elif p.lane is not None and p.sublane is None and p.number is None and p.building is None:
                street[(p.road, p.lane % 2)].append((p.lane, p.idx))
            elif p.lane is not None and p.number is not None:
                lanes[(p.road, p.lane, p.sublane)].append((p.number, p.idx))
            if p.seg is not None and len(offsets[p.road]) < 200:
                offsets[p.road].append(self.segments[p.seg].line.distance(shapely.Point(p.x, p.y)))
        for key, items in street.items():
            items.sort()
            self.street_numbers[key] = (np.array([n for n, _ in items]), np.array([i for _, i in items]))
        for key, items in lanes.items():
            items.sort()
            self.lane_numbers[key] = (np.array([n for n, _ in items]), np.array([i for _, i in items]))
        for road, offs in offsets.items():
            self.roads[road].setback = float(np.median(offs))
        self._compound_lanes()
        self._road_codes_from_plates()
        self._fuzzy_roads = list(self.road_keys)
        self._fuzzy_places = list({*self.zone_keys, *self.poi_keys, *self.poi_short_keys})
        self._fuzzy_near = {}
        self._lead_keys = {*self.road_keys, *self.zone_keys, *self.poi_keys, *self.poi_short_keys, *self.region_keys,
                           *self.own_cities, *OTHER_PLACES}
        for k in self._lead_keys:
            if len(k) >= 2:
                self.lead[k[:2]].add(len(k))
        if self.plates:
            self.plate_points = shapely.points([p.x for p in self.plates], [p.y for p in self.plates])
            self.plate_tree = shapely.STRtree(self.plate_points)

    def _compound_lanes(self) -> None:
        """Lane plates (X路N弄M号) standing inside a compound's polygon are its buildings M."""
        real = [z for z in self.zones if not z.virtual]
        cand = [p for p in self.plates if p.lane is not None and p.number is not None and p.building is None]
        if not real or not cand:
            return
        tree = shapely.STRtree([z.geom for z in real])
        pts = shapely.points([p.x for p in cand], [p.y for p in cand])
        pi, zi = tree.query(pts, predicate="dwithin", distance=IN_ZONE_M)
        for a, b in zip(pi.tolist(), zi.tolist(), strict=True):
            plate = cand[a]
            self.zone_lane_plates.setdefault((real[b].idx, plate.number), plate.idx)

    def _road_codes_from_plates(self) -> None:
        """A road's region shares from its doorplates' codes where polygons said nothing about them."""
        counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        totals: dict[int, int] = defaultdict(int)
        for p in self.plates:
            if p.road is None:
                continue
            totals[p.road] += 1
            for c in p.regions:
                counts[p.road][c] += 1
        for road, cs in counts.items():
            regions = self.roads[road].regions
            for c, n in cs.items():
                regions.setdefault(c, n / totals[road])

    def first_known(self, text: str) -> int:
        """Where the first recognisable address part (a known region, street, zone or POI name, or
        another place) starts in `text`; -1 if none does."""
        lead, keys = self.lead, self._lead_keys
        for i in range(len(text) - 1):
            lengths = lead.get(text[i:i + 2])
            if lengths and any(text[i:i + n] in keys for n in lengths):
                return i
        return -1

    # ---- look-ups ------------------------------------------------------------------------------

    def fuzzy_roads(self, key: str) -> list[str]:
        """Road keys one edit (wrong, missing or extra character) away from `key`."""
        return _one_edit(key, _near_length(self._fuzzy_near, self._fuzzy_roads, len(key), "roads"))

    def fuzzy_places(self, key: str) -> list[str]:
        return _one_edit(key, _near_length(self._fuzzy_near, self._fuzzy_places, len(key), "places"))

    def known(self, key: str) -> bool:
        return (key in self.road_keys or key in self.zone_keys or key in self.poi_keys
                or key in self.poi_short_keys)

    @property
    def blockers(self) -> _Blockers:
        return _Blockers(self)


class _Blockers:
    """A mapping-like view: is this key a street, zone or POI name (so not a region prefix)?"""

    def __init__(self, index: ReferenceIndex) -> None:
        self._index = index

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._index.known(key)

    def __getitem__(self, key: str) -> object:
        return True


def _find(parent: dict[int, int], a: int) -> int:
    """Union-find root, with path halving."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def _near_length(cache: dict[tuple[str, int], list[str]], keys: list[str], n: int, which: str) -> list[str]:
    """The keys at most one character longer or shorter than n — the only ones one edit can reach — in their
    original order (rapidfuzz ranks equal distances by position, so the answer is that of the whole list).
    Built once per length; a search then reads a fraction of the keys (most of a batch's CPU went here)."""
    near = cache.get((which, n))
    if near is None:
        near = cache[(which, n)] = [k for k in keys if abs(len(k) - n) <= 1]
    return near


def _one_edit(key: str, choices: list[str]) -> list[str]:
    if len(key) < 3 or not choices:
        return []
    hits = process.extract(key, choices, scorer=Levenshtein.distance, score_cutoff=1, limit=8)
    return [h[0] for h in hits if h[1] <= 1 and len(h[0]) >= 3 and not _numeral_edit(key, h[0])]


def _numeral_edit(a: str, b: str) -> bool:
    """True when the one edit between a and b touches a numeral (第八中学 vs 第三中学: another place)."""
    ops = Levenshtein.editops(a, b)
    for op in ops:
        if (op.src_pos < len(a) and a[op.src_pos] in _NUMERAL and op.tag != "insert") or (
                op.tag != "delete" and op.dest_pos < len(b) and b[op.dest_pos] in _NUMERAL):
            return True
    return False


def _ancestors(code: str) -> list[str]:
    """A region code and the codes above it (320904101001 → 320904, 320904101, 320904101001)."""
    return [code[:n] for n in (6, 9, 12, 15) if n <= len(code)]


def _zone_type_keys(keys: set[str]) -> set[str]:
    """大丰经济开发区 → 经济开发区, 开发区, 大丰开发区 (the place name and the type word, each alone)."""
    out: set[str] = set()
    for k in keys:
        for t in ZONE_TYPES:
            if k.endswith(t) and len(k) > len(t):
                place = k[: -len(t)]
                for t2 in ZONE_TYPES:
                    if t.endswith(t2):
                        out.add(t2)
                        for stem in (place, place.removesuffix("经济"), place.removesuffix("高新")):
                            if len(stem) >= 2:
                                out.add(stem + t2)
                break
    return out - keys


def _int(value: object) -> int | None:
    if value is None:
        return None
    digits = "".join(c for c in str(value) if c.isdigit())
    return int(digits) if digits else None


# ---- cache ---------------------------------------------------------------------------------------

def current_version(conn: psycopg.Connection) -> int:
    """The change counter of the reference tables (one indexed row; a stats-based guess on a
    database migrated before 0003 had its trigger)."""
    try:
        row = conn.execute("SELECT version FROM geocoder_ref_version WHERE id = 1").fetchone()
        return int(row[0]) if row else 0
    except psycopg.errors.UndefinedTable:
        if not conn.autocommit:
            conn.rollback()
        row = conn.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables"
            " WHERE relname IN ('admin_areas', 'streets', 'zones', 'doorplates', 'pois')"
        ).fetchone()
        return -int(row[0])


def _db_key(conn: psycopg.Connection) -> str:
    info = conn.info
    return f"{info.host}:{info.port}/{info.dbname}"


class IndexCache:
    """One reference index per database, rebuilt when the reference data change. The app holds one
    on `app.state.services`; a command holds its own for its run, a Dask worker one per worker process
    (geocoder/batchjobs.py) — never the module.

    With no connection (database unreachable), or when the version check fails, the last index
    confirmed against the database answers, and the answer is noted as possibly stale
    (gis/db/degraded.py).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indexes: dict[str, ReferenceIndex] = {}
        self._confirmed: degraded.LastConfirmed[ReferenceIndex] = degraded.LastConfirmed("address index")

    def get(self, conn: psycopg.Connection | None) -> ReferenceIndex:
        """The index of this connection's database, rebuilt if the reference data changed since."""
        return self._confirmed.get(conn, self._current)

    def last(self) -> ReferenceIndex:
        """The last confirmed index, noted as maybe stale; DatabaseUnavailable when there is none."""
        return self._confirmed.last()

    def _current(self, conn: psycopg.Connection) -> ReferenceIndex:
        key = _db_key(conn)
        version = current_version(conn)
        index = self._indexes.get(key)
        if index is not None and index.version == version:
            return index
        with self._lock:
            index = self._indexes.get(key)
            if index is None or index.version != version:
                index = ReferenceIndex.load(conn)
                self._indexes[key] = index
        return index

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()
            self._confirmed.forget()
