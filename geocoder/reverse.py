"""Reverse geocoding: a point → the standard address of the nearest doorplate within a radius, else the
nearest street with an interpolated number, written with direction and distance ("淞滨路100号东20米"),
plus the grid hierarchy of the point.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import psycopg
import shapely

from geocoder.index import ReferenceIndex
from geocoder.interpolate import _fit, measure_offset, point_at
from geocoder.metric import direction_of
from gis import crs as gcrs
from gis.errors import NotFound
from gis.grids.locate import IndexCache as GridIndexes
from gis.grids.locate import check_coordinates
from gis.grids.locate import locate as locate_grids
from gis.security import scope
from gis.security.scope import Area
from gis.settings import STORAGE_SRID

#: A doorplate farther than this (m) is not "the address" of a point; the street is used instead.
PLATE_RADIUS_M = 60.0
#: A street farther than this (m) is not near enough to name; the region is used instead.
STREET_RADIUS_M = 200.0
#: Closer than this (m), the address is the plate itself, without direction and distance.
AT_PLATE_M = 5.0


def describe(name: str, dx: float, dy: float) -> str:
    """淞滨路100号 + where the point lies from it: 淞滨路100号东20米 (metres rounded)."""
    dist = math.hypot(dx, dy)
    if dist < AT_PLATE_M:
        return name
    return f"{name}{direction_of(dx, dy)}{round(dist):d}米"


def reverse(conn: psycopg.Connection | None, lon: float, lat: float, crs: str | int | None = None, *,
            index: ReferenceIndex, grids: GridIndexes | None = None, area: Area | None = None) -> dict[str, Any]:
    """`GET /api/reverse`: a GeoJSON Feature at the point; NotFound when it is near nothing we know. For
    a caller limited to an `area`, a point outside it, or whose address point lies outside it, is near
    nothing we know (the same 404: no match)."""
    xs, ys = check_coordinates([lon], [lat], crs)
    slon, slat = gcrs.to_storage(xs, ys, crs)
    if area is not None and not scope.points_inside(conn, area, slon, slat)[0]:
        raise NotFound(f"no address is known near ({lon:g}, {lat:g}) inside the area {area.label}")
    x, y = (float(v[0]) for v in index.frame.to_xy(slon, slat))
    grid = locate_grids(conn, slon, slat, STORAGE_SRID, grids).record(0)
    props = _nearest_plate(index, x, y) or _nearest_street(index, x, y) or _region(grid)
    if props is None:
        raise NotFound(f"no address is known near ({lon:g}, {lat:g}): the point is outside the reference data")
    if "anchor" in props:
        ax, ay = props.pop("anchor")
        alon, alat = index.frame.to_lonlat([ax], [ay])
        props["address_point"] = [round(float(alon[0]), 7), round(float(alat[0]), 7)]
        if area is not None and not scope.points_inside(conn, area, alon, alat)[0]:
            raise NotFound(f"no address is known near ({lon:g}, {lat:g}) inside the area {area.label}")
    props["grid"] = grid
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(xs[0]), float(ys[0])]},
            "properties": props}


def _nearest_plate(index: ReferenceIndex, x: float, y: float) -> dict[str, Any] | None:
    if index.plate_tree is None:
        return None
    hit = index.plate_tree.query_nearest(shapely.Point(x, y), max_distance=PLATE_RADIUS_M, return_distance=True)
    if not len(hit[0]):
        return None
    plate = index.plates[int(hit[0][0])]
    dx, dy = x - plate.x, y - plate.y
    road = index.roads[plate.road].name if plate.road is not None else None
    return {
        "standard_address": describe(plate.add_name, dx, dy),
        "match_level": "doorplate",
        "distance_m": round(math.hypot(dx, dy), 1),
        "direction": direction_of(dx, dy) if math.hypot(dx, dy) >= AT_PLATE_M else None,
        "nearest_doorplate": {"id": plate.add_id, "address": plate.add_name},
        "nearest_street": road,
        "anchor": (plate.x, plate.y),
    }


def _nearest_street(index: ReferenceIndex, x: float, y: float) -> dict[str, Any] | None:
    if index.seg_tree is None:
        return None
    hit = index.seg_tree.query_nearest(shapely.Point(x, y), max_distance=STREET_RADIUS_M)
    if not len(hit):
        return None
    seg_idx = int(hit[0])
    seg = index.segments[seg_idx]
    road = index.roads[seg.road]
    m, d = measure_offset(seg.line, x, y)
    number = _number_at(index, seg_idx, m, d)
    if number is None:
        q = seg.line.interpolate(m)
        return {"standard_address": describe(road.name, x - q.x, y - q.y), "match_level": "street",
                "distance_m": round(abs(d), 1), "nearest_street": road.name, "anchor": (q.x, q.y)}
    fitted = _fit(index, seg_idx, number % 2)
    if fitted is not None:
        a, b, setback = fitted
        ax, ay = point_at(seg.line, a + b * number, setback)
    else:
        span = (seg.l_housenum or 0) - (seg.s_housenum or 0)
        t = (number - (seg.s_housenum or 0)) / span if span > 0 else 0.5
        ax, ay = point_at(seg.line, t * seg.line.length, road.setback if number % 2 else -road.setback)
    name = f"{road.name}{number}号"
    return {"standard_address": describe(name, x - ax, y - ay), "match_level": "interpolated",
            "distance_m": round(math.hypot(x - ax, y - ay), 1), "nearest_street": road.name,
            "interpolated_number": number, "anchor": (ax, ay)}


def _number_at(index: ReferenceIndex, seg_idx: int, m: float, d: float) -> int | None:
    """The house number at position m on the segment, on the side of the point (d > 0: left)."""
    seg = index.segments[seg_idx]
    for parity in (1, 0):
        fitted = _fit(index, seg_idx, parity)
        if fitted is not None and fitted[1] != 0 and np.sign(fitted[2]) == np.sign(d or 1):
            a, b, _ = fitted
            return _round_parity((m - a) / b, parity, seg.s_housenum, seg.l_housenum)
    if seg.s_housenum is None or seg.l_housenum is None:
        return None
    parity = 1 if d >= 0 else 0  # default convention: odd numbers on the left, from the segment start
    t = m / seg.line.length if seg.line.length else 0.5
    return _round_parity(seg.s_housenum + t * (seg.l_housenum - seg.s_housenum), parity,
                         seg.s_housenum, seg.l_housenum)


def _round_parity(value: float, parity: int, lo: int | None, hi: int | None) -> int:
    n = round((value - parity) / 2) * 2 + parity
    if lo is not None and n < lo:
        n = lo + ((parity - lo) % 2)
    if hi is not None and n > hi:
        n = hi - ((hi - parity) % 2)
    return max(n, parity or 2)


def _region(grid: dict[str, Any]) -> dict[str, Any] | None:
    parts = [grid.get(k) for k in ("district", "street", "community")]
    names = [p["name"] for p in parts if p and p.get("name")]
    if not names:
        return None
    return {"standard_address": "".join(names), "match_level": "region"}
