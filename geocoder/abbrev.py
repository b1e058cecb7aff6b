"""Short and colloquial POI names: an abbreviation model, not a list of special cases.

People call 大丰区第二中学 "二中", 盐城市公安局大丰分局城东派出所 "城东派出所", 大中镇便民综合服务站
"大中便民服务站", 大丰汽车客运站 "汽车站". Each POI gets a few *variants* of its name: the full key; the
key without leading region names (done by the index) and without an organisation prefix (…局/分局/委员会/
公司); each with the known contractions applied (第二中学 → 二中, 高级中学 → 高中, 人民政府 → 政府,
管理委员会 → 管委会, 综合 dropped). A query matches a variant when its characters appear in the variant in
order (an ordered subsequence: words may be dropped, none may be added), within a span at most twice the
query's length (so that characters are not picked from all over a long name), and with the same last
character (the category head: 站, 所, 中, 院 …). Candidates come from a character → variant inverted
index (set intersection); the survivors are scored with rapidfuzz's normalised Indel ratio. POIs whose
best scores are within `TIE` of the best are returned with the same score: several POIs that fit equally
well are reported as such, and the matcher lowers its confidence.
"""

from __future__ import annotations

import re
from collections import defaultdict

from rapidfuzz import fuzz

#: Contractions applied to every variant (pattern, replacement), in order.
CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"第([一二三四五六七八九十\d]+)(中学|小学|初级中学|高级中学|中)"), r"\1中"),
    (re.compile(r"第([一二三四五六七八九十\d]+)(人民医院|医院)"), r"\1院"),
    (re.compile(r"高级中学"), "高中"),
    (re.compile(r"初级中学"), "初中"),
    (re.compile(r"人民政府"), "政府"),
    (re.compile(r"管理委员会"), "管委会"),
    (re.compile(r"综合"), ""),
)
#: Organisation prefixes people leave out: everything up to the last of these words (keeping ≥ 2
#: characters after it). 盐城市公安局大丰分局城东派出所 → 城东派出所.
_ORG = re.compile(r"^.*(公安局|分局|管理局|委员会|集团|有限公司|公司)(?=..)")
#: Station naming variants folded to one spelling: 地铁站 / 轨道交通 / 轻轨 / 公交(车)站 → 站.
_LINE = re.compile(r"(地铁|轨道交通|轻轨)\d+号线")
_STATION = re.compile(r"(地铁站|轨道交通站|轻轨站|公交车站|公交站|公交车|地铁|轨道交通|轻轨)$")
#: Scores within this many points of the best are a tie.
TIE = 3.0
#: Below this rapidfuzz ratio a subsequence is a coincidence, not an abbreviation.
MIN_SCORE = 45.0


def fold_station(key: str) -> str:
    """人民路公交站 / 人民路公交车站 / 人民路站 → 人民路站; 地铁1号线人民路站 → 人民路站."""
    key = _LINE.sub("", key)
    return _STATION.sub("站", key) if len(key) > 3 else key


def variants(key: str, shorts: set[str]) -> set[str]:
    """The spellings an abbreviation is matched against (all already normalised keys)."""
    base = {key, *shorts}
    for k in list(base):
        m = _ORG.match(k)
        if m:
            base.add(k[m.end():])
    out = set(base)
    for k in base:
        c = k
        for pattern, repl in CONTRACTIONS:
            c = pattern.sub(repl, c)
        out.add(c)
        if c.endswith("管委会"):
            out.add(c[:-1])   # 开发区管委
    return {fold_station(v) for v in out if len(v) >= 2}


def subsequence_span(q: str, v: str) -> int | None:
    """Length of the shortest window of v holding q's characters in order (None: not a subsequence)."""
    best: int | None = None
    start = v.find(q[0])
    while start != -1:
        j = start
        ok = True
        for c in q[1:]:
            j = v.find(c, j + 1)
            if j == -1:
                ok = False
                break
        if not ok:
            break
        span = j - start + 1
        best = span if best is None else min(best, span)
        start = v.find(q[0], start + 1)
    return best


class PoiAbbreviations:
    """The variants of every POI name, with a character → variant inverted index."""

    def __init__(self) -> None:
        self.variants: list[str] = []
        self.owner: list[int] = []
        self.by_char: dict[str, set[int]] = defaultdict(set)

    def add(self, poi: int, key: str, shorts: set[str]) -> set[str]:
        """Registers the variants of one POI; returns them (the index keys the folded station names)."""
        vs = variants(key, shorts)
        for v in vs:
            vid = len(self.variants)
            self.variants.append(v)
            self.owner.append(poi)
            for c in set(v):
                self.by_char[c].add(vid)
        return vs

    def lookup(self, query: str) -> list[tuple[int, float]]:
        """(POI, score 0–100) of the POIs the query abbreviates, best first; ties share the best score."""
        q = fold_station(query)
        if len(q) < 2:
            return []
        sets = [self.by_char.get(c) for c in set(q)]
        if any(not s for s in sets):
            return []
        cand = set.intersection(*sorted(sets, key=len))  # type: ignore[arg-type]
        best: dict[int, float] = {}
        for vid in cand:
            v = self.variants[vid]
            if v[-1] != q[-1] or len(v) < len(q):
                continue
            span = subsequence_span(q, v)
            if span is None or span > 2 * len(q):
                continue
            score = fuzz.ratio(q, v)
            if score < MIN_SCORE:
                continue
            poi = self.owner[vid]
            if score > best.get(poi, -1.0):
                best[poi] = score
        if not best:
            return []
        top = max(best.values())
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        return [(poi, top if top - s <= TIE else s) for poi, s in ranked]
