"""Parsing of the layer parameters shared by heat, rasters, flows and choropleths.

Bad input raises InvalidInput naming the parameter, so the API answers 400 with a sentence a user can act on.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gis.errors import InvalidInput
from gis.settings import get_settings

BBox = tuple[float, float, float, float]


def parse_bbox(text: str | None) -> BBox | None:
    """`minLon,minLat,maxLon,maxLat` in EPSG:4490 (CGCS2000 lon/lat)."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidInput(f"bbox must be minLon,minLat,maxLon,maxLat (4 numbers), got {text!r}")
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput(f"bbox must hold 4 numbers, got {text!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise InvalidInput(f"bbox {text!r} is not a lon/lat box with min < max (EPSG:4490 degrees)")
    return w, s, e, n


def parse_time(text: str | None, name: str, *, end: bool = False) -> datetime | None:
    """ISO 8601 date or date-time; naive values are read in the district's timezone.

    A bare date as `to` means the end of that day (the range is [from, to)).
    """
    if text is None or text == "":
        return None
    tz = ZoneInfo(get_settings().timezone)
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            value = datetime.combine(d, time.min, tz)
            return value + timedelta(days=1) if end else value
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date or date-time, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def check_range(start: datetime | None, stop: datetime | None) -> None:
    if start and stop and start >= stop:
        raise InvalidInput(f"from ({start.isoformat()}) must be before to ({stop.isoformat()})")


def parse_list(text: str | None) -> list[str]:
    """Comma-separated values, blanks dropped."""
    return [p.strip() for p in (text or "").split(",") if p.strip()]
