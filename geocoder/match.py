"""Forward matching: a query → candidates, best first, each with a match level and a confidence.

Order of preference (issue 4): doorplate exact → interpolated along the street → lane/building inside
a lane or compound → zone → POI (full, then short names) → intersection → directional offset from any
of these → street → region. Names that match nothing exactly are tried with one edit (wrong, missing
or extra character) at a lower confidence; region names in the query filter same-named places. A
query whose place or number is unknown gives no candidate at all, never the nearest guess.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import shapely

from geocoder.abbrev import fold_station
from geocoder.index import ReferenceIndex
from geocoder.interpolate import along_street, within_lane
from geocoder.metric import DIRECTIONS
from geocoder.normalise import name_key
from geocoder.segment import Parsed, parse

#: Confidence of each kind of answer before penalties (fuzzy name, ambiguity, context mismatch).
CONFIDENCE = {
    "doorplate": 1.0, "doorplate_alt": 0.9, "lane_near": 0.6, "lane": 0.7, "zone_building_missing": 0.45,
    "zone": 0.8, "poi": 0.9, "poi_short": 0.8, "intersection": 0.85, "street": 0.5, "region": 0.3,
}
FUZZY = 0.85         # one edit in a street/zone/POI name
AMBIGUOUS = 0.75     # several places fit equally well
OFF_CONTEXT = 0.7    # the place is not inside the region the query names
OFFSET = 0.9         # a direction and distance from the anchor
#: Answers farther apart than this (m) are different places.
DISTINCT_M = 50.0
#: Two streets "meet" when their centre lines come this close (m).
MEET_M = 40.0
#: A POI or zone is "at" a street within this distance (人民公园西大门与飞达路丁字口).
NEAR_STREET_M = 300.0
#: A place is inside a named region when within this distance (m) of it.
IN_REGION_M = 100.0

_PLACE_END = re.compile(r"(省|市|区|县|旗|镇|乡|村|街道)$")
_GROUP_END = re.compile(r"\d+组$")
#: Abbreviated POI names (geocoder/abbrev.py): confidence = ABBREV_BASE + ABBREV_SPAN × score/100, at most
#: 0.75, below an exact short name (0.8).
ABBREV_BASE, ABBREV_SPAN = 0.45, 0.3
#: A region's share of a place (length of a street inside it …) that counts as "in" it.
IN_SHARE = 0.3
_SPLIT = re.compile(r"与|和|跟|同|及|、|/|交")
_GATE = re.compile(r"(东|南|西|北|东南|东北|西南|西北)?(大门|侧门|正门|后门|门口|门|入口|出口|出入口)$")
_ROAD_END = ("路", "街", "道", "巷", "弄", "里", "桥", "线", "浜", "港", "公路", "大道", "胡同", "条")


@dataclass
class Anchor:
    """A resolved place the query names: a road, zone, POI or region, with a confidence factor."""

    kind: str
    idx: int
    factor: float = 1.0
    short: bool = False
    conf: float | None = None         # its own confidence (an abbreviated POI name), else by kind


@dataclass
class Match:
    level: str
    confidence: float
    x: float                          # metric frame of the index
    y: float
    standard_address: str
    ref: dict[str, object] = field(default_factory=dict)


def geocode(index: ReferenceIndex, query: str, limit: int = 5) -> tuple[Parsed, list[Match]]:
    """Parse and match one query: (its segments, candidates best first, at most `limit`).

    When nothing matches, whatever precedes the first recognisable address part (a known region, street,
    zone or POI name, or another place) is taken for noise — 寄往, 配送地址：, 现居 … — and the rest is
    tried; not when that prefix itself looks like a place (ends in 省/市/区/县/镇/乡/村/街道: somewhere we do
    not know, so no answer rather than a guess)."""
    p = parse(query, index.region_keys, index.own_cities, index.blockers)
    matches = _geocode_parsed(index, p, limit)
    if not matches and p.text:
        i = index.first_known(p.text)
        if i > 0 and not _PLACE_END.search(p.text[:i]):
            q = parse(p.text[i:], index.region_keys, index.own_cities, index.blockers)
            found = _geocode_parsed(index, q, limit)
            if found:
                q.raw = query
                q.notes.insert(0, p.text[:i])
                return q, found
    return p, matches


def _geocode_parsed(index: ReferenceIndex, p: Parsed, limit: int) -> list[Match]:
    if p.foreign or not p.text:
        return []
    context = _context(index, p)
    matches: list[Match] = []
    if not p.base:
        if context and not p.has_number and p.building is None:
            inner = context[-1]
            f = 1.0 if len(inner) == 1 else AMBIGUOUS
            matches = [Match("region", round(CONFIDENCE["region"] * f, 3), index.regions[r].x, index.regions[r].y,
                             _region_address(index, [*context[:-1], [r]]), {"kind": "region",
                                                                            "code": index.regions[r].code})
                       for r in inner]
    else:
        matches = _match_base(index, p, context)
    if matches and p.direction and p.distance_m is not None:
        ux, uy = DIRECTIONS[p.direction]
        dist = p.distance_m
        text = f"{p.direction}{dist:g}米"
        matches = [Match("offset", round(m.confidence * OFFSET, 3), m.x + ux * dist, m.y + uy * dist,
                         m.standard_address + text, {**m.ref, "anchor_level": m.level}) for m in matches]
    matches.sort(key=lambda m: -m.confidence)
    return matches[:limit]


def _context(index: ReferenceIndex, p: Parsed) -> list[list[int]]:
    """Our regions the query names, outermost first: per name, the regions it may mean. A name several
    regions carry (新华村 in two towns) is narrowed to those inside the regions named before it."""
    out: list[list[int]] = []
    for name in p.regions:
        found = list(dict.fromkeys(index.region_keys.get(name, ())))
        if not found:
            continue
        if out:
            outer = [index.regions[i].code for i in out[-1]]
            inside = [i for i in found if any(index.regions[i].code.startswith(c) for c in outer)]
            found = inside or found
        out.append(found)
        p.region_codes.extend(index.regions[i].code for i in found)
    return out


def _region_address(index: ReferenceIndex, context: list[list[int]]) -> str:
    return "".join(index.regions[ids[0]].name for ids in context)


def _match_base(index: ReferenceIndex, p: Parsed, context: list[list[int]]) -> list[Match]:
    base = p.base
    if p.junction:
        return _intersection(index, p, context)
    anchors = _resolve(index, base, context, p, exact_only=True)
    if not anchors:
        found = _intersection(index, p, context)
        if found:
            return found
        anchors = _resolve(index, base, context, p)
    if not anchors:
        return []
    out: list[Match] = []
    for a in anchors:
        out.extend(_locate(index, a, p))
    if len(out) > 1:
        best = max(m.confidence for m in out)
        top = [m for m in out if m.confidence >= best - 1e-9]
        if any(math.hypot(m.x - top[0].x, m.y - top[0].y) > DISTINCT_M for m in top[1:]):
            for m in top:  # equally good answers in different places: say that we are unsure
                m.confidence = round(m.confidence * AMBIGUOUS, 3)
    return out


# ---- resolving the place name ------------------------------------------------------------------


def _resolve(index: ReferenceIndex, base: str, context: list[list[int]], p: Parsed,
             exact_only: bool = False) -> list[Anchor]:
    """Place names → anchors: exact (name, alias, old name; with a bracketed part of the query such as
    a branch name put back), then road + zone/POI compounds, then a gate/side word cut off, then fuzzy
    (one edit) unless `exact_only`; filtered by the named regions."""
    anchors: list[Anchor] = []
    for note in p.brackets:
        anchors = _exact(index, base + note)
        if anchors:
            break
    for k in range(len(p.regions)):   # 大丰区第二中学: a full name that starts with region names
        if anchors:
            break
        full = "".join(p.regions[k:]) + base
        anchors = [Anchor("poi", i) for i in index.poi_keys.get(full, ())]
    if not anchors:
        anchors = _exact(index, base)
    if not anchors:
        anchors = _compound(index, base)
    if not anchors:
        m = _GATE.search(base)
        if m and m.start() >= 2:
            anchors = _exact(index, base[: m.start()])
            if anchors:
                p.notes.append(m.group(0))
    if not anchors and not p.has_number and p.building is None and not base.endswith(_ROAD_END):
        anchors = _abbreviated(index, base, p)
    if not anchors:
        m = _GROUP_END.search(base)   # 海团村3组 with no such group known: the village
        if m and m.start() >= 2:
            anchors = [a for a in _exact(index, base[: m.start()]) if a.kind == "region"]
    if not anchors and not exact_only:
        anchors = _fuzzy(index, base)
    return _in_context(index, anchors, context)


def _abbreviated(index: ReferenceIndex, base: str, p: Parsed) -> list[Anchor]:
    """POIs whose name `base` abbreviates (二中, 城东派出所, 便民服务站); ties keep equal confidence. The
    region word cut off before it is tried with it too (西团派出所: 西团 is a town, and part of the name)."""
    found = index.abbrev.lookup(base)
    if p.regions:
        with_region = index.abbrev.lookup(p.regions[-1] + base)
        if with_region and (not found or with_region[0][1] > found[0][1]):
            found = with_region
    return [Anchor("poi", i, short=True, conf=round(ABBREV_BASE + ABBREV_SPAN * score / 100, 3))
            for i, score in found[:8]]


def _current_first(ids: list[int], items: list, key: str) -> list[int]:
    """A place whose current name is `key` wins over places that had it as an alias or old name."""
    if len(ids) < 2:
        return list(ids)
    current = [i for i in ids if name_key(items[i].name) == key]
    return current or list(ids)


def _exact(index: ReferenceIndex, key: str) -> list[Anchor]:
    out = [Anchor("road", i) for i in _current_first(index.road_keys.get(key, []), index.roads, key)]
    out += [Anchor("zone", i) for i in _current_first(index.zone_keys.get(key, []), index.zones, key)]
    out += [Anchor("poi", i) for i in _current_first(index.poi_keys.get(key, []), index.pois, key)]
    if not out:
        out += [Anchor("poi", i, short=True) for i in index.poi_short_keys.get(key, ())]
    if not out:
        folded = fold_station(key)
        if folded != key:
            out += [Anchor("poi", i, short=True) for i in index.poi_short_keys.get(folded, ())]
    if not out:
        out += [Anchor("region", i) for i in index.region_keys.get(key, ())]
    return out


def _compound(index: ReferenceIndex, base: str) -> list[Anchor]:
    """淞滨路宝杨小区 / 宝杨小区沃尔玛: a street or zone, then the zone or POI inside it."""
    for cut in range(len(base) - 2, 1, -1):
        head, tail = base[:cut], base[cut:]
        if head in index.road_keys or head in index.zone_keys:
            found = [a for a in _exact(index, tail) if a.kind in ("zone", "poi")]
            if found:
                near = _near_place(index, found, [Anchor("road", i) for i in index.road_keys.get(head, ())]
                                   + [Anchor("zone", i) for i in index.zone_keys.get(head, ())])
                return near or found
    return []


def _near_place(index: ReferenceIndex, found: list[Anchor], heads: list[Anchor]) -> list[Anchor]:
    geoms = [_geom(index, h) for h in heads]
    return [a for a in found
            if any(shapely.distance(_geom(index, a), g) <= NEAR_STREET_M for g in geoms)]


def _fuzzy(index: ReferenceIndex, base: str) -> list[Anchor]:
    out: list[Anchor] = []
    if not base.endswith(_ROAD_END):  # 淞滨9号: the street-type word left out
        for suffix in ("路", "街", "大道", "公路"):
            out += [Anchor("road", i, FUZZY) for i in index.road_keys.get(base + suffix, ())]
        if out:
            return out
    for key in index.fuzzy_roads(base):
        if _same_kind_ending(base, key):
            out += [Anchor("road", i, FUZZY) for i in index.road_keys[key]]
    for key in index.fuzzy_places(base):
        out += [Anchor("zone", i, FUZZY) for i in index.zone_keys.get(key, ())]
        out += [Anchor("poi", i, FUZZY) for i in index.poi_keys.get(key, ())]
        if key not in index.poi_keys:
            out += [Anchor("poi", i, FUZZY, short=True) for i in index.poi_short_keys.get(key, ())]
    return out


def _same_kind_ending(query: str, key: str) -> bool:
    """A one-edit road match keeps at least two characters of the name in common at each end or
    shares the street-type word: 淞宾路 ~ 淞滨路, but 长江路 is not 长江."""
    return len(query) >= 3 and (query[-1] == key[-1] or query[:2] == key[:2])


def _in_context(index: ReferenceIndex, anchors: list[Anchor], context: list[list[int]]) -> list[Anchor]:
    """The anchors inside the innermost region the query names, judged by the share of each place in it
    (a street's length inside the region polygons and unit grids, its doorplates' SubDisCode/CommuCode,
    the street layer's own code), so a 人民路 that merely touches the town is not taken for the town's
    own. None inside: all of them, less sure."""
    if not context or not anchors:
        return anchors
    codes = [index.regions[i].code for i in context[-1]]
    shares = [_share(index, a, codes, context[-1]) for a in anchors]
    best = max(shares)
    if best > 0:
        keep = [a for a, sh in zip(anchors, shares, strict=True) if sh >= min(IN_SHARE, best) and sh >= 0.5 * best]
        if keep:
            return keep
    for a in anchors:
        a.factor *= OFF_CONTEXT
    return anchors


def _share(index: ReferenceIndex, a: Anchor, codes: list[str], regions: list[int]) -> float:
    if a.kind == "region":
        code = index.regions[a.idx].code
        return 1.0 if any(code.startswith(c) or c.startswith(code) for c in codes) else 0.0
    item = index.roads[a.idx] if a.kind == "road" else index.zones[a.idx] if a.kind == "zone" else index.pois[a.idx]
    share = max((item.regions.get(c, 0.0) for c in codes), default=0.0)
    if share == 0.0 and a.kind != "road":   # a region known only by name and hull (from doorplates)
        g = _geom(index, a)
        if any(shapely.distance(g, index.regions[r].geom) <= IN_REGION_M for r in regions):
            share = 0.5
    return share


def _geom(index: ReferenceIndex, a: Anchor) -> shapely.Geometry:
    if a.kind == "road":
        return index.roads[a.idx].geom
    if a.kind == "zone":
        return index.zones[a.idx].geom
    if a.kind == "poi":
        poi = index.pois[a.idx]
        return shapely.Point(poi.x, poi.y)
    return index.regions[a.idx].geom


# ---- locating an anchor with the numbers of the query ------------------------------------------


def _plate_match(index: ReferenceIndex, idx: int, conf: float) -> Match:
    plate = index.plates[idx]
    return Match("doorplate", round(conf, 3), plate.x, plate.y, plate.add_name,
                 {"kind": "doorplate", "id": plate.add_id})


def _locate(index: ReferenceIndex, a: Anchor, p: Parsed) -> list[Match]:
    if a.kind == "road":
        return _locate_road(index, a, p)
    if a.kind == "zone":
        return _locate_zone(index, a, p)
    if a.kind == "poi":
        poi = index.pois[a.idx]
        conf = (a.conf if a.conf is not None else CONFIDENCE["poi_short" if a.short else "poi"]) * a.factor
        return [Match("poi", round(conf, 3), poi.x, poi.y, poi.name, {"kind": "poi", "id": poi.poi_id})]
    if p.has_number or p.building is not None:
        return []
    r = index.regions[a.idx]
    return [Match("region", round(CONFIDENCE["region"] * a.factor, 3), r.x, r.y, r.name,
                  {"kind": "region", "code": r.code})]


def _locate_road(index: ReferenceIndex, a: Anchor, p: Parsed) -> list[Match]:
    road = index.roads[a.idx]
    f = a.factor
    if not p.has_number and p.building is None:
        return [Match("street", round(CONFIDENCE["street"] * f, 3), road.x, road.y, road.name,
                      {"kind": "street", "name": road.name})]
    parts = (p.lane, p.sublane, p.number, p.number_sub, p.building)
    hit = index.plate_by_key.get(("road", a.idx, *parts))
    if hit is not None:
        return [_plate_match(index, hit, CONFIDENCE["doorplate"] * f)]
    if p.lane is None and p.number is not None and p.building is None:
        # 100号 written for the lane 100弄 (or the other way round): the same place on the street.
        alt = index.plate_by_key.get(("road", a.idx, p.number, None, None, None, None))
        if alt is not None:
            return [_plate_match(index, alt, CONFIDENCE["doorplate_alt"] * f)]
    if p.lane is not None and p.number is None and p.building is None and p.sublane is None:
        alt = index.plate_by_key.get(("road", a.idx, None, None, p.lane, None, None))
        if alt is not None:
            return [_plate_match(index, alt, CONFIDENCE["doorplate_alt"] * f)]
    if p.lane is not None:
        return _inside_lane(index, a, p)
    if p.building is not None and p.number is not None:
        hit = index.plate_by_key.get(("road", a.idx, None, None, p.number, None, None))
        if hit is not None:
            return [_plate_match(index, hit, CONFIDENCE["lane_near"] * f)]
    if p.number is None:
        return []
    found = along_street(index, a.idx, p.number)
    if found is None:
        return []
    return [Match("interpolated", round(found.confidence * f, 3), found.x, found.y, f"{road.name}{p.number}号",
                  {"kind": "interpolated", "method": found.method, "street": road.name})]


def _inside_lane(index: ReferenceIndex, a: Anchor, p: Parsed) -> list[Match]:
    """淞滨路100弄5号 without its own plate: interpolated inside the lane; 淞滨路100弄 alone: its entrance
    plate, else the gate of the lane's 街巷 record, else its number's position on the street."""
    road = index.roads[a.idx]
    f = a.factor
    lane_text = f"{road.name}{p.lane}弄" + (f"{p.sublane}支弄" if p.sublane is not None else "")
    if p.number is not None:
        found = within_lane(index, a.idx, p.lane, p.sublane, p.number)
        if found is None:
            return []
        return [Match("interpolated", round(found.confidence * f, 3), found.x, found.y, f"{lane_text}{p.number}号",
                      {"kind": "interpolated", "method": found.method, "street": road.name})]
    if p.building is not None:
        return []
    entrance = index.plate_by_key.get(("road", a.idx, p.lane, p.sublane, None, None, None))
    if entrance is None and p.sublane is None:
        entrance = index.plate_by_key.get(("road", a.idx, None, None, p.lane, None, None))
    if entrance is not None:
        return [_plate_match(index, entrance, CONFIDENCE["doorplate_alt"] * f)]
    for lane_road in index.road_keys.get(lane_text, ()):
        seg = index.segments[index.roads[lane_road].segs[0]]
        x, y = seg.line.coords[0]
        return [Match("street", round(CONFIDENCE["lane"] * f, 3), x, y, lane_text,
                      {"kind": "street", "name": lane_text})]
    if p.sublane is None:
        found = along_street(index, a.idx, p.lane)
        if found is not None:
            return [Match("interpolated", round(found.confidence * f, 3), found.x, found.y, lane_text,
                          {"kind": "interpolated", "method": found.method, "street": road.name})]
    return []


def _locate_zone(index: ReferenceIndex, a: Anchor, p: Parsed) -> list[Match]:
    zone = index.zones[a.idx]
    f = a.factor
    if p.has_number or p.building is not None:
        parts = (p.lane, p.sublane, p.number, p.number_sub, p.building)
        hit = index.plate_by_key.get(("zone", a.idx, *parts))
        if hit is None and p.building is None and p.number is not None and p.lane is None:
            hit = index.plate_by_key.get(("zone", a.idx, None, None, None, None, p.number))  # 3号 for 3号楼
        if hit is None and p.building is not None and p.number is None and p.lane is None:
            hit = index.plate_by_key.get(("zone", a.idx, None, None, p.building, None, None))
        if hit is not None:
            return [_plate_match(index, hit, CONFIDENCE["doorplate"] * f)]
        n = p.building if p.building is not None else p.number
        lane_plate = index.zone_lane_plates.get((a.idx, n)) if p.lane is None and n is not None else None
        if lane_plate is not None:   # 金色家园3号楼 = the lane plate 人民路25弄3号 standing in the compound
            return [_plate_match(index, lane_plate, CONFIDENCE["doorplate_alt"] * f)]
        return [Match("zone", round(CONFIDENCE["zone_building_missing"] * f, 3), zone.x, zone.y, zone.name,
                      {"kind": "zone", "id": zone.zone_id, "missing": "building"})]
    return [Match("zone", round(CONFIDENCE["zone"] * f, 3), zone.x, zone.y, zone.name,
                  {"kind": "zone", "id": zone.zone_id})]


# ---- intersections ---------------------------------------------------------------------------------


def _intersection(index: ReferenceIndex, p: Parsed, context: list[list[int]]) -> list[Match]:
    """A路与B路交叉口, A路B路路口, 人民公园西大门与飞达路丁字口: where the two meet."""
    splits = _splits(index, p.base, p.junction)
    for fuzzy in (False, True):  # exact names first: fuzzy look-ups over every split are the slow part
        best: tuple[float, Match] | None = None
        for a_text, b_text in splits:
            a_side = _side(index, a_text, context, fuzzy)
            b_side = _side(index, b_text, context, fuzzy) if a_side else []
            for a in a_side:
                for b in b_side:
                    met = _meet(index, a, b)
                    if met is not None and (best is None or (-met[1].confidence, met[0])
                                            < (-best[1].confidence, best[0])):
                        best = met
        if best is not None:
            return [best[1]]
    return []


def _splits(index: ReferenceIndex, base: str, junction: str | None) -> list[tuple[str, str]]:
    texts = [base]
    if junction == "路口":
        texts = [base[:-1], base[:-2]]
    out: list[tuple[str, str]] = []
    for text in texts:
        for m in _SPLIT.finditer(text):
            if m.start() >= 2 and len(text) - m.end() >= 2:
                out.append((text[: m.start()], text[m.end():]))
        for cut in range(2, len(text) - 1):
            head, tail = text[:cut], text[cut:]
            if head in index.road_keys and (tail in index.road_keys or tail.endswith(_ROAD_END)):
                out.append((head, tail))
        for cut in range(2, len(text) - 1):
            head, tail = text[:cut], text[cut:]
            if head.endswith(_ROAD_END) and tail.endswith(_ROAD_END) and (head, tail) not in out:
                out.append((head, tail))
    return out


def _side(index: ReferenceIndex, text: str, context: list[list[int]], fuzzy: bool) -> list[Anchor]:
    anchors = _exact(index, text)
    if not anchors:
        m = _GATE.search(text)
        if m and m.start() >= 2:
            anchors = _exact(index, text[: m.start()])
    if not anchors and fuzzy:
        anchors = _fuzzy(index, text)
    return [a for a in _in_context(index, anchors, context) if a.kind in ("road", "poi", "zone")]


def _meet(index: ReferenceIndex, a: Anchor, b: Anchor) -> tuple[float, Match] | None:
    if a.kind != "road" and b.kind != "road":
        return None
    if a.kind != "road":
        a, b = b, a
    ga, gb = _geom(index, a), _geom(index, b)
    pa, pb = _nearest_points(ga, gb)
    dist = pa.distance(pb)
    limit = MEET_M if b.kind == "road" else NEAR_STREET_M
    if dist > limit:
        return None
    x, y = ((pa.x + pb.x) / 2, (pa.y + pb.y) / 2) if b.kind == "road" else (pa.x, pa.y)
    name_a = index.roads[a.idx].name
    name_b = index.roads[b.idx].name if b.kind == "road" else _name(index, b)
    conf = CONFIDENCE["intersection"] * a.factor * b.factor
    return dist, Match("intersection", round(conf, 3), x, y, f"{name_a}与{name_b}交叉口",
                       {"kind": "intersection", "streets": [name_a, name_b]})


def _nearest_points(ga: shapely.Geometry, gb: shapely.Geometry) -> tuple[shapely.Point, shapely.Point]:
    line = shapely.shortest_line(ga, gb)
    a, b = shapely.get_point(line, 0), shapely.get_point(line, 1)
    return a, b


def _name(index: ReferenceIndex, a: Anchor) -> str:
    if a.kind == "zone":
        return index.zones[a.idx].name
    if a.kind == "poi":
        return index.pois[a.idx].name
    return index.regions[a.idx].name
