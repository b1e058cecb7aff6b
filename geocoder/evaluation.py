"""The evaluation set: queries with known truth, built from the reference data of a database (the demo
district), with realistic noise for each kind of query, and negatives that must not match.

Kinds: doorplate, interpolated (plates held back from the index for the run), lane, building, zone,
poi_full, poi_short, intersection, offset, street, region, context (same-named streets told apart by
the region named), typo, region_prefix, fullwidth, cn_numeral; negatives: unknown_road, number_beyond,
other_city. A hit is an answer within `tolerance` metres of the truth (a point, or the street/zone/
region geometry); any answer to a negative is a false positive.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from geocoder.index import ReferenceIndex
from geocoder.match import geocode
from geocoder.metric import DIRECTIONS

HIT_M = 50.0
HIT_INTERPOLATED_M = 60.0
NEGATIVE_KINDS = ("unknown_road", "number_beyond", "other_city")
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")
_CN = "零一二三四五六七八九"
_OTHER_CITIES = ["北京市海淀区", "杭州市西湖区", "南京市鼓楼区", "广州市天河区", "苏州市姑苏区", "江苏省南通市崇川区"]
_OTHER_ROADS = ["中关村大街", "文三路", "中山北路", "天河路", "人民路", "学院路", "解放东路", "建国路"]
_INVENT = "鑫磊淼焱垚犇骉晶品森鹏翔宇昊瀚泽澜沁玥珂琪璇霖霏岚峥嵘崧峦"


@dataclass
class Query:
    kind: str
    text: str
    truth: shapely.Geometry | None        # metric; None for negatives
    tolerance: float = HIT_M


@dataclass
class Outcome:
    kind: str
    total: int = 0
    hits: int = 0
    answered: int = 0
    misses: list[tuple[str, str]] = field(default_factory=list)


def cn_number(n: int) -> str:
    """123 → 一百二十三 (the way people say house numbers)."""
    if n < 10:
        return _CN[n]
    if n < 20:
        return "十" + (_CN[n % 10] if n % 10 else "")
    if n < 100:
        return _CN[n // 10] + "十" + (_CN[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        tail = "" if rest == 0 else ("零" + _CN[rest] if rest < 10 else
                                     ("一" + cn_number(rest) if rest < 20 else cn_number(rest)))
        return _CN[n // 100] + "百" + tail
    return "".join(_CN[int(d)] for d in str(n))


def typo(rng: np.random.Generator, name: str, taken: set[str]) -> str | None:
    """One wrong, missing or extra character in the name part (not the street-type word)."""
    core = len(name) - 1
    if core < 2:
        return None
    for _ in range(10):
        i = int(rng.integers(0, core))
        op = rng.integers(0, 3)
        if op == 0:
            out = name[:i] + _INVENT[int(rng.integers(0, len(_INVENT)))] + name[i + 1:]
        elif op == 1 and core >= 3:
            out = name[:i] + name[i + 1:]
        else:
            out = name[:i] + name[i] + name[i:]
        if out not in taken and out != name:
            return out
    return None


def build(index: ReferenceIndex, per_kind: int = 300, seed: int = 4, holdout: int | None = None
          ) -> tuple[list[Query], frozenset[str]]:
    """The queries and the ids of the plates to hold back (build the index without them for the run)."""
    rng = np.random.default_rng(seed)
    qs: list[Query] = []
    road_names = {r.name for r in index.roads}
    all_names = set(index.road_keys) | set(index.zone_keys) | set(index.poi_keys) | set(index.region_keys)
    street_plates = [p for p in index.plates if p.road is not None and p.lane is None and p.number is not None
                     and p.building is None and p.number_sub is None]
    lane_plates = [p for p in index.plates if p.road is not None and p.lane is not None and p.number is not None]
    building_plates = [p for p in index.plates if p.zone is not None and p.building is not None]

    def pick(items: list, n: int) -> list:
        if not items:
            return []
        idx = rng.choice(len(items), size=min(n, len(items)), replace=False)
        return [items[int(i)] for i in idx]

    def pt(p) -> shapely.Point:
        return shapely.Point(p.x, p.y)

    # Held-back plates: inner numbers of their street (known neighbours on the same side exist).
    inner = []
    for p in street_plates:
        nums = index.street_numbers.get((p.road, p.number % 2))
        if nums is not None and len(nums[0]) >= 3 and nums[0][0] < p.number < nums[0][-1]:
            inner.append(p)
    held = pick(inner, holdout or per_kind)
    held_ids = frozenset(p.add_id for p in held)
    qs += [Query("interpolated", p.add_name, pt(p), HIT_INTERPOLATED_M) for p in held]
    usable = [p for p in street_plates if p.add_id not in held_ids]

    qs += [Query("doorplate", p.add_name, pt(p)) for p in pick(usable, per_kind)]
    qs += [Query("lane", p.add_name, pt(p)) for p in pick(lane_plates, per_kind)]
    qs += [Query("building", p.add_name, pt(p)) for p in pick(building_plates, per_kind)]
    for z in pick(index.zones, per_kind):
        qs.append(Query("zone", z.name, z.geom))
    pois_unique = [p for p in index.pois if len(index.poi_keys.get(_key(p.name), ())) == 1]
    qs += [Query("poi_full", p.name, shapely.Point(p.x, p.y)) for p in pick(pois_unique, per_kind)]
    shorts = [(k, v[0]) for k, v in index.poi_short_keys.items()
              if len(v) == 1 and k not in index.poi_keys and k not in index.road_keys and k not in index.zone_keys]
    for k, i in pick(shorts, per_kind):
        qs.append(Query("poi_short", k, shapely.Point(index.pois[i].x, index.pois[i].y)))
    qs += _intersections(index, rng, per_kind)
    for p in pick(usable, per_kind // 2) + pick(index.pois, per_kind // 2):
        name = p.add_name if hasattr(p, "add_name") else p.name
        if not hasattr(p, "add_name") and len(index.poi_keys.get(_key(name), ())) != 1:
            continue
        d = list(DIRECTIONS)[int(rng.integers(0, 8))]
        dist = int(rng.integers(2, 60)) * 10
        ux, uy = DIRECTIONS[d]
        qs.append(Query("offset", f"{name}{d}{dist}米", shapely.Point(p.x + ux * dist, p.y + uy * dist)))
    roads = [r for r in index.roads if "弄" not in r.name and len(index.road_keys.get(_key(r.name), ())) == 1]
    qs += [Query("street", r.name, r.geom) for r in pick(roads, per_kind)]
    regions = [r for r in index.regions if r.level in ("street", "community")]
    for r in pick(regions, per_kind):
        parent = next((x for x in index.regions if x.code == r.code[:9] and r.level == "community"), None)
        text = (parent.name + r.name) if parent is not None and rng.random() < 0.5 else r.name
        qs.append(Query("region", text, r.geom))
    qs += _context(index, rng, per_kind)
    for p in pick(usable, per_kind):
        road = index.roads[p.road]
        bad = typo(rng, road.name, all_names)
        if bad:
            qs.append(Query("typo", p.add_name.replace(road.name, bad, 1), pt(p)))
    for p in pick(usable, per_kind):
        prefix = _region_prefix(index, p, rng)
        qs.append(Query("region_prefix", prefix + p.add_name, pt(p)))
    for p in pick(usable + lane_plates, per_kind):
        qs.append(Query("fullwidth", p.add_name.translate(_FULL), pt(p)))
    for p in pick(usable, per_kind):
        road = index.roads[p.road].name
        qs.append(Query("cn_numeral", f"{road}{cn_number(p.number)}号", pt(p)))
    # Negatives.
    for _ in range(per_kind):
        name = _invented_road(rng, all_names)
        qs.append(Query("unknown_road", f"{name}{int(rng.integers(1, 400))}号", None))
    for r in pick(roads, per_kind):
        top = max((index.segments[s].l_housenum or 0) for s in r.segs)
        qs.append(Query("number_beyond", f"{r.name}{top + int(rng.integers(200, 2000))}号", None))
    for _ in range(per_kind):
        city = _OTHER_CITIES[int(rng.integers(0, len(_OTHER_CITIES)))]
        road = (_OTHER_ROADS + sorted(road_names))[int(rng.integers(0, len(_OTHER_ROADS) + len(road_names)))]
        qs.append(Query("other_city", f"{city}{road}{int(rng.integers(1, 300))}号", None))
    return qs, held_ids


def _key(name: str) -> str:
    from geocoder.normalise import name_key

    return name_key(name)


def _region_prefix(index: ReferenceIndex, p, rng: np.random.Generator) -> str:
    """上海市宝山区淞南镇 (or part of it) for the region the plate lies in."""
    pt = shapely.Point(p.x, p.y)
    hits = [r for r in index.regions if r.level in ("district", "street") and r.geom.intersects(pt)]
    hits.sort(key=lambda r: len(r.code))
    parts = ["上海市"] + [r.name for r in hits]
    start = int(rng.integers(0, len(parts)))
    return "".join(parts[start:])


def _invented_road(rng: np.random.Generator, taken: set[str]) -> str:
    names = list(taken)
    while True:
        root = "".join(_INVENT[int(i)] for i in rng.integers(0, len(_INVENT), size=2))
        name = root + ("路", "街", "大道")[int(rng.integers(0, 3))]
        near = process.extractOne(name, names, scorer=Levenshtein.distance)
        if near is None or near[1] >= 2:
            return name


def _intersections(index: ReferenceIndex, rng: np.random.Generator, n: int) -> list[Query]:
    """Pairs of differently named streets that cross (truth: their crossing point)."""
    roads = [r for r in index.roads if "弄" not in r.name and len(index.road_keys.get(_key(r.name), ())) == 1]
    geoms = [r.geom for r in roads]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = [(a, b) for a, b in zip(left.tolist(), right.tolist(), strict=True) if a < b
             and roads[a].name != roads[b].name]
    out: list[Query] = []
    forms = ["{a}与{b}交叉口", "{a}和{b}路口", "{a}{b}路口", "{a}/{b}十字路口", "{a}与{b}交叉路口"]
    for i in rng.permutation(len(pairs))[:n]:
        a, b = roads[pairs[i][0]], roads[pairs[i][1]]
        cross = shapely.intersection(a.geom, b.geom)
        if cross.is_empty:
            continue
        form = forms[int(rng.integers(0, len(forms)))]
        if form == "{a}{b}路口" and not b.name.endswith("路"):
            form = "{a}与{b}交叉口"
        text = form.format(a=a.name, b=b.name)
        if form == "{a}{b}路口":
            text = a.name + b.name + "口"  # 淞滨路长江路口: the 路 of 路口 is the street's own
        out.append(Query("intersection", text, cross))
    return out


def _context(index: ReferenceIndex, rng: np.random.Generator, n: int) -> list[Query]:
    """Plates on streets whose name exists in more than one place, with the town/street named."""
    out: list[Query] = []
    dup = {k for k, v in index.road_keys.items() if len(v) > 1}
    plates = [p for p in index.plates if p.road is not None and index.roads[p.road].name in dup
              and p.lane is None and p.building is None and p.number is not None]
    for i in rng.permutation(len(plates))[:n]:
        p = plates[int(i)]
        pt = shapely.Point(p.x, p.y)
        town = next((r for r in index.regions if r.level == "street" and r.geom.intersects(pt)), None)
        if town is not None:
            out.append(Query("context", town.name + p.add_name, pt))
    return out


def run(index: ReferenceIndex, queries: list[Query]) -> dict[str, Outcome]:
    """Geocodes every query with `index`; hit = top answer within the tolerance of the truth."""
    out: dict[str, Outcome] = defaultdict(lambda: Outcome(""))
    for q in queries:
        o = out[q.kind]
        o.kind = q.kind
        o.total += 1
        _, matches = geocode(index, q.text, 1)
        if matches:
            o.answered += 1
        if q.truth is None:
            if matches:
                o.misses.append((q.text, matches[0].standard_address))
            continue
        if matches and shapely.distance(shapely.Point(matches[0].x, matches[0].y), q.truth) <= q.tolerance:
            o.hits += 1
        else:
            got = f"{matches[0].level} {matches[0].standard_address}" if matches else "no match"
            if matches:
                got += f" ({shapely.distance(shapely.Point(matches[0].x, matches[0].y), q.truth):.0f} m)"
            o.misses.append((q.text, got))
    return dict(out)


def report(outcomes: dict[str, Outcome]) -> tuple[list[str], float, float, float]:
    """Printable lines, overall accuracy, worst kind accuracy, false-positive rate on negatives."""
    lines = [f"{'kind':16s} {'queries':>7s} {'hits':>6s} {'accuracy':>9s}"]
    pos = [o for k, o in sorted(outcomes.items()) if k not in NEGATIVE_KINDS]
    neg = [o for k, o in sorted(outcomes.items()) if k in NEGATIVE_KINDS]
    for o in pos:
        lines.append(f"{o.kind:16s} {o.total:7d} {o.hits:6d} {100 * o.hits / max(o.total, 1):8.1f}%")
    total = sum(o.total for o in pos)
    hits = sum(o.hits for o in pos)
    overall = hits / max(total, 1)
    worst = min((o.hits / max(o.total, 1) for o in pos), default=math.nan)
    lines.append(f"{'ALL positives':16s} {total:7d} {hits:6d} {100 * overall:8.1f}%")
    lines.append(f"{'negative kind':16s} {'queries':>7s} {'answered':>8s} {'false pos.':>10s}")
    for o in neg:
        lines.append(f"{o.kind:16s} {o.total:7d} {o.answered:8d} {100 * o.answered / max(o.total, 1):9.1f}%")
    n_total = sum(o.total for o in neg)
    fp = sum(o.answered for o in neg) / max(n_total, 1)
    lines.append(f"{'ALL negatives':16s} {n_total:7d} {sum(o.answered for o in neg):8d} {100 * fp:9.1f}%")
    return lines, overall, worst, fp


def timed_run(index: ReferenceIndex, queries: list[Query]) -> tuple[dict[str, Outcome], float]:
    t = time.perf_counter()
    out = run(index, queries)
    return out, time.perf_counter() - t
