"""Fence geometry: validation, and the effective zone (buffers in metres on the ground).

Buffers are computed by gis.metric in the geometry's CGCS2000 3° Gauss–Krüger zone, never in degrees;
the zone is stored in EPSG:4490 like every geometry.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from gis import crs as gcrs
from gis import metric
from gis.errors import InvalidGeometry, InvalidInput

KIND_GEOMETRIES = {
    "area": ("Polygon", "MultiPolygon"),
    "forbidden": ("Polygon", "MultiPolygon", "LineString", "MultiLineString"),
    "corridor": ("LineString", "MultiLineString"),
    "stop": ("Point",),
}
QUAD_SEGS = 16


def metric_crs(lon: float, lat: float = 30.0) -> str:
    """The zone of gis.metric (kept under this name for the fence engine)."""
    return metric.zone_crs(lon, lat)


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
    zone = metric.buffer_m(geom, float(distance), quad_segs=QUAD_SEGS)
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
    return metric.area_m2(zone)


def length_m(line: BaseGeometry) -> float:
    return metric.length_m(line)


def to_geojson(geom: BaseGeometry | None, dst_crs: str | int | None = None) -> dict[str, Any] | None:
    if geom is None:
        return None
    if dst_crs is not None:
        geom = gcrs.transform_geometry(geom, gcrs.STORAGE, dst_crs)
    return orjson.loads(shapely.to_geojson(geom))


def round_coords(geom: BaseGeometry, digits: int = 8) -> BaseGeometry:
    return shapely.transform(geom, lambda c: np.round(c, digits))
