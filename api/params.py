"""One reading of request parameters, as FastAPI dependencies (in the spirit of tipg's dependencies.py).

`bbox` (+ `bbox-crs`), time ranges (`datetime`, `from`/`to`), `crs`, `limit` and ids are read here and
only here; the rules themselves live in `gis.params` (the engines and the CLI read the same text the
same way). Routers declare what they take with the aliases below and receive parsed values. The OGC
routers read the raw query string (OGC names, queryables as parameters) and call the `ogc_*`
helpers, so both surfaces share one rule per parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query
from starlette.datastructures import QueryParams

from gis import crs as gcrs
from gis import params as rules
from gis.errors import InvalidInput
from gis.params import BBox

CRS_HELP = "EPSG code, OGC URI, CRS84 (default), GCJ02, BD09 or a configured local CRS"
FROM_HELP = "ISO 8601 date or date-time, inclusive; without an offset: the district's time zone"
TO_HELP = "ISO 8601 date or date-time, exclusive (a bare date: to the end of that day)"


@dataclass(frozen=True)
class TimeRange:
    """A half-open range [start, stop); None is an open end."""

    start: datetime | None
    stop: datetime | None


def time_range(start: str | None = Query(None, alias="from", description=FROM_HELP),
               stop: str | None = Query(None, alias="to", description=TO_HELP)) -> TimeRange:
    """Optional `from`/`to`."""
    return TimeRange(*rules.parse_range(start, stop))


def required_time_range(start: str = Query(..., alias="from", description=FROM_HELP),
                        stop: str = Query(..., alias="to", description=TO_HELP)) -> TimeRange:
    """Required `from`/`to` (a window must be given: an empty bound is refused, not read as open)."""
    window = TimeRange(*rules.parse_range(start, stop))
    if window.start is None or window.stop is None:
        raise InvalidInput("from and to are both required here (a closed window, e.g. one shift); "
                           f"got from={start!r}, to={stop!r}")
    return window


def instant(text: str | None, name: str) -> datetime | None:
    """One optional bound read by the time rule (`since`, `until`)."""
    return rules.parse_optional_instant(text, name)


def route_ids_param(ids: str | None = Query(None, description="route ids, comma-separated (at most 1000); "
                                             "default: every route with a vehicle")) -> list[int] | None:
    return rules.parse_ids(ids, "ids", 1000)


def crs_param(crs: str | None = Query(None, description=CRS_HELP)) -> str | None:
    """The `crs` of coordinates in or out: checked up front (an unknown CRS is a 400 before any work)."""
    gcrs.resolve(crs)
    return crs


def bbox_param(bbox: str | None = Query(None, description="minLon,minLat,maxLon,maxLat (EPSG:4490 degrees)")
               ) -> BBox | None:
    """An optional lon/lat `bbox` with an area (heat, choropleths)."""
    if bbox is None or bbox == "":
        return None
    return rules.parse_bbox(bbox, need_area=True)


def parse_bbox_in(text: str | None, crs: str | None, name: str = "bbox") -> BBox | None:
    """A `bbox` given in `crs` (x/y order of gis.crs; the degree range is checked for geographic CRSs)."""
    if text is None or text == "":
        return None
    return rules.parse_bbox(text, name, geographic=gcrs.is_geographic(gcrs.resolve(crs)))


Crs = Annotated[str | None, Depends(crs_param)]
OptionalBBox = Annotated[BBox | None, Depends(bbox_param)]
Window = Annotated[TimeRange, Depends(time_range)]
RequiredWindow = Annotated[TimeRange, Depends(required_time_range)]
RouteIds = Annotated[list[int] | None, Depends(route_ids_param)]


def limit_query(default: int, high: int) -> object:
    """`limit`: 1..high (FastAPI validates it: out of range is a 422 naming it)."""
    return Query(default, ge=1, le=high, description=f"at most this many (1–{high}, default {default})")




# -- the OGC query string ------------------------------------------------------------------------


def ogc_int(params: QueryParams, name: str, default: int, low: int, high: int | None = None) -> int:
    """An OGC integer parameter (`limit` is clamped to the maximum, as OGC API – Features asks)."""
    return rules.parse_int(params.get(name), name, default, low, high)


def ogc_bbox(text: str, flip: bool, geographic: bool) -> BBox:
    """The OGC `bbox` (4 or 6 numbers in the axis order of its `bbox-crs`)."""
    return rules.parse_bbox(text, "bbox", flip=flip, allow_3d=True, geographic=geographic)


def ogc_datetime(text: str) -> tuple[datetime | None, datetime | None] | None:
    """The OGC `datetime` (instant or interval with open ends) as a closed interval."""
    return rules.parse_interval(text, "datetime")
