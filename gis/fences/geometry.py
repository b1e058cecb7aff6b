"""Fence geometry: validation, and the effective zone (buffers in metres on the ground).

Buffers are computed in a projected CRS, never in degrees: the CGCS2000 3-degree Gauss–Krüger zone
whose central meridian is nearest the geometry (EPSG:4534 … 4554 cover 75°E … 135°E; UTM elsewhere).
The zone is stored in EPSG:4490 like every geometry.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from gis import crs as gcrs
from gis.errors import InvalidGeometry, InvalidInput

KIND_GEOMETRIES = {
    "area": ("Polygon", "MultiPolygon"),
    "forbidden": ("Polygon", "MultiPolygon", "LineString", "MultiLineString"),
    "corridor": ("LineString", "MultiLineString"),
    "stop": ("Point",),
}
QUAD_SEGS = 16


def metric_crs(lon: float, lat: float = 30.0) -> str:
    """The Gauss–Krüger 3° zone (CGCS2000) of a longitude, or the UTM zone outside 73.5°E–136.5°E."""
    if 73.5 <= lon <= 136.5:
        return f"EPSG:{4534 + round((lon - 75.0) / 3.0)}"
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def parse_geometry(value: Any, kind: str, src_crs: str | int | None) -> BaseGeometry:
    """A GeoJSON geometry (in `src_crs`, default CRS84) → shapely geometry in storage CRS (EPSG:4490)."""
    if not isinstance(value, dict) or "type" not in value:
        raise InvalidGeometry("geometry: expected a GeoJSON geometry object")
    allowed = KIND_GEOMETRIES[kind]
    if value["type"] not in allowed:
        raise InvalidGeometry(f"geometry: a {kind} fence takes {' or '.join(allowed)}, not {value['type']}")
    try:
        geom = shapely.from_geojson(orjson.dumps(value))
    except Exception as exc:  # shapely raises GEOSException / ValueError with GEOS's wording
        raise InvalidGeometry(f"geometry: not valid GeoJSON ({exc})") from exc
    if geom.is_empty:
        raise InvalidGeometry("geometry: empty")
    ref = gcrs.resolve(src_crs)
    coords = shapely.get_coordinates(geom)
    if not gcrs.plausible(coords[:, 0], coords[:, 1], ref).all():
        raise InvalidGeometry(f"geometry: coordinates are not plausible in {ref.name} (swapped axes or wrong CRS?)")
    geom = gcrs.transform_geometry(geom, ref, gcrs.STORAGE)
    if not geom.is_valid:
        raise InvalidGeometry(f"geometry: invalid ({shapely.is_valid_reason(geom)})")
    return geom


def effective_zone(geom: BaseGeometry, kind: str, buffer_m: float | None, radius_m: float | None) -> BaseGeometry:
    """The MultiPolygon a fix is judged against: the drawn shape grown by `buffer_m` (or `radius_m`
    around a stop), computed in metres in the geometry's Gauss–Krüger zone."""
    distance = radius_m if kind == "stop" else buffer_m
    if not distance:
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidInput(f"a {kind} fence drawn as {geom.geom_type} needs a width: set buffer_m")
        return _multi(geom)
    c = geom.centroid
    metric = metric_crs(c.x, c.y)
    projected = gcrs.transform_geometry(geom, gcrs.STORAGE, metric)
    grown = shapely.buffer(projected, float(distance), quad_segs=QUAD_SEGS)
    zone = gcrs.transform_geometry(grown, metric, gcrs.STORAGE)
    if not zone.is_valid:
        zone = shapely.make_valid(zone)
    return _multi(zone)


def _multi(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]
    return shapely.MultiPolygon(polys)


def area_m2(zone: BaseGeometry) -> float:
    c = zone.centroid
    return float(gcrs.transform_geometry(zone, gcrs.STORAGE, metric_crs(c.x, c.y)).area)


def length_m(line: BaseGeometry) -> float:
    c = line.centroid
    return float(gcrs.transform_geometry(line, gcrs.STORAGE, metric_crs(c.x, c.y)).length)


def to_geojson(geom: BaseGeometry | None, dst_crs: str | int | None = None) -> dict[str, Any] | None:
    if geom is None:
        return None
    if dst_crs is not None:
        geom = gcrs.transform_geometry(geom, gcrs.STORAGE, dst_crs)
    return orjson.loads(shapely.to_geojson(geom))


def round_coords(geom: BaseGeometry, digits: int = 8) -> BaseGeometry:
    return shapely.transform(geom, lambda c: np.round(c, digits))
