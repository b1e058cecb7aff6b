"""The one reading of the values requests carry: boxes, instants and time ranges, lists, bounded integers.

Why here, at the bottom: the HTTP layer (`api/params.py` binds these to query parameters), the OGC
routers and the layer engines (which the CLI and the tests also call with strings) must read a `bbox`
or a `from` the same way, and `layers/` cannot import `api/`. Pure functions of their text and the
settings; bad input raises InvalidInput naming the parameter, which the API answers with a 400.

Time rule (docs/decisions.md): RFC 3339 / ISO 8601; a value without an offset is read in the district's
time zone (`settings.timezone`); a bare date is the district's midnight starting that day, and as the
upper end of a half-open range (`to`) the midnight ending it.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from gis.errors import InvalidInput
from gis.settings import get_settings

BBox = tuple[float, float, float, float]


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def district_tz() -> tzinfo:
    """The district's time zone (settings.timezone): where values without an offset are read."""
    return _zone(get_settings().timezone)


# -- boxes ---------------------------------------------------------------------------------------


def parse_bbox(text: str, name: str = "bbox", *, flip: bool = False, allow_3d: bool = False,
               geographic: bool = True, need_area: bool = False) -> BBox:
    """`minx,miny,maxx,maxy` (or, with `allow_3d`, the OGC 6-number form whose heights are dropped) ->
    (x1, y1, x2, y2) in x/y order.

    `flip`: the numbers come in the axis order of a latitude-first CRS. `geographic`: the box must
    lie within longitude -180..180 / latitude -90..90. A lower corner above the upper one is refused
    everywhere; `need_area` also refuses a box without area (an aggregate over it would be empty).
    """
    try:
        nums = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidInput(f"{name}: {text!r} is not a comma-separated list of numbers "
                           f"(minx,miny,maxx,maxy)") from None
    if allow_3d and len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or not all(map(math.isfinite, nums)):
        sizes = "4 (or 6)" if allow_3d else "4"
        raise InvalidInput(f"{name}: {text!r} must have {sizes} finite numbers (minx,miny,maxx,maxy)")
    a1, b1, a2, b2 = nums
    x1, y1, x2, y2 = (b1, a1, b2, a2) if flip else (a1, b1, a2, b2)
    if x1 > x2 or y1 > y2 or (need_area and (x1 == x2 or y1 == y2)):
        raise InvalidInput(f"{name}: {text!r} has a lower corner above its upper corner (needs min < max)")
    if geographic and not (-180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90):
        raise InvalidInput(f"{name}: {text!r} lies outside longitude -180..180 / latitude -90..90")
    return x1, y1, x2, y2


def parse_numbers(text: str, name: str, n: int) -> tuple[float, ...]:
    """Exactly `n` comma-separated finite numbers (e.g. a segment `lon1,lat1,lon2,lat2`)."""
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise InvalidInput(f"{name}: expected {n} comma-separated numbers") from None
    if len(parts) != n or not all(map(math.isfinite, parts)):
        raise InvalidInput(f"{name}: expected {n} comma-separated finite numbers, got {len(parts)}")
    return parts


# -- time ----------------------------------------------------------------------------------------


def parse_instant(text: str, name: str, *, end: bool = False, tz: tzinfo | None = None) -> datetime:
    """One instant (see the module's time rule). `end`: a bare date means the end of that day.

    A `+` in an offset arrives as a space when a client did not escape it (`…T08:00:00 08:00`), so a
    space after the time is read as `+`.
    """
    raw = text.strip()
    zone = tz or district_tz()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            start = datetime.combine(day, time.min, zone)
            return start + timedelta(days=1) if end else start
        if "T" in raw or "t" in raw:
            raw = raw.replace(" ", "+")
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {text!r} is not an ISO 8601 / RFC 3339 date or date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=zone)


def parse_optional_instant(text: str | datetime | None, name: str, *, end: bool = False) -> datetime | None:
    """`parse_instant`, with None or an empty value meaning no bound (an already read datetime passes)."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=district_tz())
    if text is None or text.strip() == "":
        return None
    return parse_instant(text, name, end=end)


def check_range(start: datetime | None, stop: datetime | None, names: tuple[str, str] = ("from", "to")) -> None:
    """A half-open range [start, stop) must not be empty."""
    if start and stop and start >= stop:
        raise InvalidInput(f"{names[0]} ({start.isoformat()}) must be before {names[1]} ({stop.isoformat()})")


def parse_range(start: str | datetime | None, stop: str | datetime | None, names: tuple[str, str] = ("from", "to"),
                *, check: bool = True) -> tuple[datetime | None, datetime | None]:
    """`from`/`to` as a half-open range [from, to): either end may be open (absent); a bare date as
    `to` includes that whole day."""
    t0 = parse_optional_instant(start, names[0])
    t1 = parse_optional_instant(stop, names[1], end=True)
    if check:
        check_range(t0, t1, names)
    return t0, t1


def parse_interval(text: str, name: str = "datetime") -> tuple[datetime | None, datetime | None] | None:
    """An OGC `datetime`: an instant, or `start/end` with `..` or an empty side for an open end.

    Answers the closed interval [lo, hi] (None for an open end). A bare date stands for its whole day:
    as an instant it is the interval of that day, as an end it reaches that day's end.

    The grammar of OGC 17-069r4 §7.15.4 is followed exactly: an empty value, more than one `/`, an
    interval open at both ends (`../..`, `/`) and one whose end is before its start are refused with a
    400 saying so (they were read as "no filter" or gave an empty page before).
    """
    raw = text.strip()
    if not raw:
        raise InvalidInput(f"{name}: empty; give an instant or an interval start/end (.. for an open end)")
    if raw.count("/") > 1:
        raise InvalidInput(f"{name}: {text!r} has more than one '/'; an interval is start/end")
    if "/" in raw:
        lo_text, hi_text = (p.strip() for p in raw.split("/", 1))
        lo = None if lo_text in ("", "..") else parse_instant(lo_text, name)
        hi = None if hi_text in ("", "..") else _closed_end(hi_text, name)
        if lo is None and hi is None:
            raise InvalidInput(f"{name}: {text!r} is open at both ends; bound at least one end")
        if lo is not None and hi is not None and hi < lo:
            raise InvalidInput(f"{name}: the end {hi_text} is before the start {lo_text}")
        return lo, hi
    return parse_instant(raw, name), _closed_end(raw, name)


def _closed_end(text: str, name: str) -> datetime:
    value = parse_instant(text, name, end=True)
    return value - timedelta(microseconds=1) if len(text.strip()) == 10 else value


# -- lists and integers --------------------------------------------------------------------------


def parse_list(text: str | None) -> list[str]:
    """Comma-separated values, blanks dropped."""
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def parse_ids(text: str | None, name: str, most: int) -> list[int] | None:
    """Comma-separated positive integer ids (None when absent), at most `most` of them."""
    parts = parse_list(text)
    if not parts:
        return None
    if len(parts) > most:
        raise InvalidInput(f"{name}: {len(parts)} ids, at most {most} in one request")
    bad = [p for p in parts if not p.isdigit() or int(p) == 0]
    if bad:
        raise InvalidInput(f"{name}: {bad[0]!r} is not an id (a positive integer)")
    return list(dict.fromkeys(int(p) for p in parts))


def parse_int(raw: str | None, name: str, default: int, low: int, high: int | None = None) -> int:
    """An integer of at least `low`, clamped to `high` (the OGC `limit` rule: too large is served as the maximum)."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {raw!r} is not an integer") from None
    if value < low:
        raise InvalidInput(f"{name}: {value} is below the minimum {low}")
    return min(value, high) if high is not None else value
