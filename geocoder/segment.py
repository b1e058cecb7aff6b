"""Segmentation of a normalised address into the grammar of GB/T 30428.3 §3 (standards.md §3):

    [区域地名] [地片/区片 | 街巷 | 门牌 | 楼牌 | 兴趣点] [(方位)(距离)] [(补充说明)]

Region parts are recognised against the names the reference index knows (plus the district's city
and a list of other cities, so that "北京市…" is recognised as somewhere else); the place name in the
middle (`base`) is left for the matcher, which knows streets, zones and POIs; numbers, lanes,
buildings, rooms, offsets, junction words and notes are cut off by the patterns below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from geocoder.normalise import normalise

#: Province-level names by the first two digits of a GB/T 2260 code (municipalities get both spellings).
CITY_BY_PROVINCE: dict[str, tuple[str, ...]] = {
    "11": ("北京市", "北京"), "12": ("天津市", "天津"), "31": ("上海市", "上海"), "50": ("重庆市", "重庆"),
}
PROVINCES: dict[str, str] = {
    "13": "河北", "14": "山西", "15": "内蒙古", "21": "辽宁", "22": "吉林", "23": "黑龙江", "32": "江苏", "33": "浙江",
    "34": "安徽", "35": "福建", "36": "江西", "37": "山东", "41": "河南", "42": "湖北", "43": "湖南", "44": "广东",
    "45": "广西", "46": "海南", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏", "61": "陕西", "62": "甘肃",
    "63": "青海", "64": "宁夏", "65": "新疆",
}
#: Prefecture-level cities by the first four digits of a GB/T 2260 code (a starter set, editable data:
#: a district whose city is missing here still works, only "<city>市…" prefixes are then not recognised).
CITIES: dict[str, str] = {
    "1301": "石家庄", "1401": "太原", "2101": "沈阳", "2102": "大连", "2201": "长春", "2301": "哈尔滨",
    "3201": "南京", "3202": "无锡", "3203": "徐州", "3204": "常州", "3205": "苏州", "3206": "南通",
    "3207": "连云港", "3208": "淮安", "3209": "盐城", "3210": "扬州", "3211": "镇江", "3212": "泰州", "3213": "宿迁",
    "3301": "杭州", "3302": "宁波", "3303": "温州", "3304": "嘉兴", "3306": "绍兴", "3401": "合肥", "3501": "福州",
    "3502": "厦门", "3601": "南昌", "3701": "济南", "3702": "青岛", "4101": "郑州", "4201": "武汉", "4301": "长沙",
    "4401": "广州", "4403": "深圳", "4404": "珠海", "4406": "佛山", "4419": "东莞", "4501": "南宁", "5101": "成都",
    "5201": "贵阳", "5301": "昆明", "6101": "西安", "6201": "兰州",
}


def own_places(codes: set[str]) -> tuple[str, ...]:
    """The province and city names (with and without 省/市) above the districts of `codes`, longest first:
    "江苏省盐城市大丰区…" and "江苏盐城大丰区…" are both ours when 320904 is loaded."""
    out: set[str] = set()
    for code in codes:
        out.update(CITY_BY_PROVINCE.get(code[:2], ()))
        if code[:2] in PROVINCES:
            name = PROVINCES[code[:2]]
            out.update({name, name + ("省" if name not in ("内蒙古", "广西", "西藏", "宁夏", "新疆") else "自治区")})
        if code[:4] in CITIES:
            out.update({CITIES[code[:4]], CITIES[code[:4]] + "市"})
    return tuple(sorted(out, key=lambda n: (-len(n), n)))
#: Other cities and provinces: a query that starts with one of these is somewhere else.
OTHER_PLACES: tuple[str, ...] = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "四川", "贵州", "云南", "西藏",
    "陕西", "甘肃", "青海", "宁夏", "新疆", "香港", "澳门", "台湾", "广州", "深圳", "杭州", "南京", "苏州",
    "无锡", "宁波", "武汉", "成都", "西安", "长沙", "郑州", "济南", "青岛", "大连", "沈阳", "哈尔滨", "长春",
    "厦门", "福州", "合肥", "南昌", "昆明", "贵阳", "南宁", "太原", "石家庄", "兰州", "盐城", "南通", "常州",
    "嘉兴", "绍兴", "温州", "东莞", "佛山", "珠海", "昆山", "太仓",
)
_PLACE_SUFFIX = ("省", "市", "自治区", "特别行政区")
_PLACES_BY_CHAR: dict[str, tuple[str, ...]] = {}
for _p in OTHER_PLACES:
    _PLACES_BY_CHAR[_p[0]] = (*_PLACES_BY_CHAR.get(_p[0], ()), _p)

DIRECTION_WORDS = ("东南", "东北", "西南", "西北", "东", "南", "西", "北")
_DIR_ALT = "|".join(DIRECTION_WORDS)
#: 往西约80米, 以东50米, 北侧0.3公里, 东边大约100m左右: every way of writing a direction and a distance.
_OFFSET = re.compile(
    rf"(?:约|大约|大概)?(?:往|向|朝|以)?(?P<dir>{_DIR_ALT})(?:侧|面|边|方向|方)?(?:约|大约|大概)?"
    r"(?P<dist>\d+(?:\.\d+)?)(?P<unit>米|M|公里|KM|千米)(?:处|左右|远)?$"
)
_NOTE_SUFFIX = re.compile(rf"(附近|旁边|对面|门口|周边|一带|旁|处|内|边上|(?:{_DIR_ALT})(?:侧|边|面|门))$")
#: Text after the last number-with-unit that holds no number is a note (人民路88号放门卫, …3幢楼下).
_AFTER_UNIT = re.compile(r"(\d+(?:号楼|号院|支弄|单元|号|弄|幢|栋|座|室|层|组))(?!楼|院|支弄|单元|层|室)([^\d]+)$")
#: A number without its unit at the very end: 人民路12弄3, 新华村3组6 (the 号 left out).
_NO_UNIT = re.compile(r"((?:弄|支弄|组|号楼|幢|栋|座))(\d+)$")
_PAREN = re.compile(r"\(([^()]*)\)")
_GROUP_HEAD = re.compile(r"\d+组")
_JUNCTION_END = re.compile(r"(交叉口|丁字口)$")
_TAIL = re.compile(
    r"^(?P<base>.*?)"
    r"(?:(?P<lane>\d+)弄)?"
    r"(?:(?P<sublane>\d+)支弄)?"
    r"(?:(?P<number>\d+)(?:-(?P<number_sub>\d+))?号(?!楼|院))?"
    r"(?:(?P<building>\d+)(?:号楼|幢|栋|座|号院))?"
    r"(?:(?P<unit>\d+)单元)?"
    r"(?:(?P<floor>\d+)(?:楼|层))?"
    r"(?:(?P<room>\d+)室)?$"
)
#: "…区" that are not districts (compounds, parks, campuses …).
_NOT_DISTRICT = ("小区", "园区", "社区", "景区", "校区", "厂区", "片区", "营区", "住区", "城区", "街区", "新区小",
                 "开发区", "工业区", "高新区", "保税区", "示范区", "试验区", "度假区", "风景区", "商务区", "新城区")
_BARE_NUMBER = re.compile(r"^(.*[^\d\-])(\d{1,5})$")
_FOREIGN_DISTRICT = re.compile(r"^[\u4e00-\u9fff]{1,4}?(?:新区|区|县)")


@dataclass
class Parsed:
    """The parts of one query. `base` is the place name still to be resolved by the matcher."""

    raw: str
    text: str
    regions: list[str] = field(default_factory=list)       # region names as matched, outermost first
    region_codes: list[str] = field(default_factory=list)  # their codes (our own regions only)
    foreign: str | None = None                             # a region that is not ours
    base: str = ""
    lane: int | None = None
    sublane: int | None = None
    number: int | None = None
    number_sub: int | None = None
    building: int | None = None
    unit: int | None = None
    floor: int | None = None
    room: int | None = None
    direction: str | None = None
    distance_m: float | None = None
    junction: str | None = None
    notes: list[str] = field(default_factory=list)
    brackets: list[str] = field(default_factory=list)   # (…) parts: a note, or part of a name (branch)

    @property
    def has_number(self) -> bool:
        return self.number is not None or self.lane is not None

    def as_dict(self) -> dict[str, object]:
        """The parts found (no empty ones), for the answer's `segments` (no deep copy: this is per query)."""
        out: dict[str, object] = {}
        values = self.__dict__
        for name in _SEGMENT_NAMES:
            v = values[name]
            if v is None or v == [] or v == "":
                continue
            out[name] = list(v) if isinstance(v, list) else v
        return out


#: The parts `Parsed.as_dict` reports, in field order (raw and text are the query, not parts of it).
_SEGMENT_NAMES = tuple(f.name for f in fields(Parsed) if f.name not in ("raw", "text"))


def strip_regions(text: str, regions: Mapping[str, object], own_cities: tuple[str, ...],
                  blockers: Mapping[str, object] | None = None) -> tuple[list[str], str | None, str]:
    """Cuts leading region names off `text`: (names found, a foreign region if one was named, rest).

    `regions` maps the keys of our own regions; `blockers` maps keys of other places (streets, zones,
    POIs) whose names start like a region (淞南镇路): such a name is not cut.
    """
    found: list[str] = []
    foreign: str | None = None
    i = 0
    n = len(text)
    while i < n:
        progressed = False
        for city in own_cities:
            if text.startswith(city, i) and i + len(city) < n:
                found.append(city)
                i += len(city)
                progressed = True
                break
        if progressed:
            continue
        for length in range(min(14, n - i), 1, -1):
            key = text[i:i + length]
            if key in regions and (blockers is None or not _blocked(text, i, length, blockers)):
                found.append(key)
                i += length
                progressed = True
                break
        if progressed:
            continue
        for place in _PLACES_BY_CHAR.get(text[i], ()):
            if text.startswith(place, i) and place not in own_cities:
                j = i + len(place)
                for suffix in _PLACE_SUFFIX:
                    if text.startswith(suffix, j):
                        j += len(suffix)
                        break
                suffixed = j > i + len(place)
                if not suffixed and not (_FOREIGN_DISTRICT.match(text[j:]) or
                                         any(text.startswith(x, j) for x in OTHER_PLACES)):
                    continue  # 山西路, 广东路: streets named after places, not the places
                foreign = foreign or text[i:j]
                found.append(text[i:j])
                i = j
                progressed = True
                break
        if progressed:
            continue
        m = _FOREIGN_DISTRICT.match(text[i:])
        if m and i + m.end() < n and not any(m.group(0).endswith(x) for x in _NOT_DISTRICT) and (
            text[i + m.end()] not in "路街道巷弄桥"  # 义县路: a street named after a county
        ) and (
            blockers is None or not _blocked(text, i, m.end(), blockers)
        ):
            foreign = foreign or m.group(0)
            found.append(m.group(0))
            i += m.end()
            continue
        break
    return found, foreign, text[i:]


def _blocked(text: str, i: int, length: int, blockers: Mapping[str, object]) -> bool:
    """True when a longer known place name starts at i (so the region-looking prefix is part of it)."""
    return any(text[i:end] in blockers for end in range(len(text), i + length, -1))


def parse(raw: str, regions: Mapping[str, object], own_cities: tuple[str, ...] = (),
          blockers: Mapping[str, object] | None = None) -> Parsed:
    """Normalise and segment one query (see the module docstring)."""
    text = normalise(raw)
    p = Parsed(raw=raw, text=text)
    s = text
    for note in _PAREN.findall(s):
        if note:
            p.brackets.append(note)
    s = _PAREN.sub("", s).replace("(", "").replace(")", "")
    p.regions, p.foreign, s = strip_regions(s, regions, own_cities, blockers)
    m = _OFFSET.search(s)
    if m and m.start() > 0:
        p.direction = m.group("dir")
        dist = float(m.group("dist"))
        p.distance_m = dist * 1000 if m.group("unit") in ("公里", "KM") else dist
        s = s[: m.start()]
    while True:
        m = _NOTE_SUFFIX.search(s)
        if not m or m.start() < 2:
            break
        p.notes.append(m.group(1))
        s = s[: m.start()]
    m = _AFTER_UNIT.search(s)
    if m and not _JUNCTION_END.search(s) and not s.endswith("路口"):
        p.notes.append(m.group(2))
        s = s[: m.end(1)]
    s = _NO_UNIT.sub(r"\1\2号", s)
    if p.regions and _GROUP_HEAD.match(s):
        s = p.regions[-1] + s   # 海团村一组5号: the group belongs to its village, a place of its own
    m = _JUNCTION_END.search(s)
    if m:
        p.junction = m.group(1)
        s = s[: m.start()]
    elif s.endswith("路口") and len(s) > 3:
        p.junction = "路口"
    m = _TAIL.match(s)
    if m and not p.junction:
        for key in ("lane", "sublane", "number", "number_sub", "building", "unit", "floor", "room"):
            value = m.group(key)
            setattr(p, key, int(value) if value is not None else None)
        s = m.group("base")
        bare = _BARE_NUMBER.match(s)
        if bare and not p.has_number and p.building is None:
            p.number = int(bare.group(2))  # "淞滨路100": a number without 号
            s = bare.group(1)
    p.base = s
    return p
