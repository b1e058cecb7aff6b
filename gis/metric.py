"""The one way to measure on the ground: metres in the projected CRS of the geometry's zone.

Geometries are stored in EPSG:4490 degrees; distances, buffers, lengths and areas are computed in the
CGCS2000 3° Gauss–Krüger zone whose central meridian is nearest the geometry (EPSG:4534 … 4554 cover
75°E … 135°E; UTM outside China). Within a zone the scale error is under 0.03 %, far below what any
engine here judges by (a 20 m margin, a 50 m geocode hit, a 0.5 km² merge threshold).

Two forms of the same frame:

- shapely geometries (`to_zone`, `from_zone`, `buffer_m`, `length_m`, `area_m2`, `project` for arrays);
- `LocalFrame`, a tangent plane at a centre (metres east/north, equirectangular) for numpy hot loops
  that must invert exactly and keep y a function of latitude alone (the geocoder's index). It agrees
  with the zone to well under 1 % across a district.

In SQL the same role is played by PostGIS `geography` (geodesic metres); Python never measures in degrees.
Transformers are cached per zone (pure functions of the zone code: safe to share between threads
for `transform` calls as pyproj documents them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from gis.settings import STORAGE_SRID

QUAD_SEGS = 16
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0


def zone_crs(lon: float, lat: float = 30.0) -> str:
    """The Gauss–Krüger 3° zone (CGCS2000) of a longitude, or the UTM zone outside 73.5°E–136.5°E."""
    if 73.5 <= lon <= 136.5:
        return f"EPSG:{4534 + round((lon - 75.0) / 3.0)}"
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


@lru_cache(maxsize=64)
def _transformer(zone: str, inverse: bool) -> Transformer:
    if inverse:
        return Transformer.from_crs(zone, STORAGE_SRID, always_xy=True)
    return Transformer.from_crs(STORAGE_SRID, zone, always_xy=True)


def zone_of(geoms: BaseGeometry | NDArray[np.object_]) -> str:
    """The zone of a geometry (its centroid) or of an array of them (the centre of their extent)."""
    if isinstance(geoms, BaseGeometry):
        c = geoms.centroid
        return zone_crs(c.x, c.y)
    if not len(geoms):
        return zone_crs(120.0)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    return zone_crs((x0 + x1) / 2, (y0 + y1) / 2)


def _apply(geoms, zone: str, inverse: bool):
    t = _transformer(zone, inverse)

    def fn(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = t.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def to_zone(geom: BaseGeometry, zone: str | None = None) -> tuple[BaseGeometry, str]:
    """A storage geometry in metres of its zone (or of `zone`), with the zone used."""
    zone = zone or zone_of(geom)
    return _apply(geom, zone, False), zone


def from_zone(geom: BaseGeometry, zone: str) -> BaseGeometry:
    """Back from a zone's metres to storage degrees."""
    return _apply(geom, zone, True)


def project(geoms: NDArray[np.object_], zone: str | None = None, inverse: bool = False) -> NDArray[np.object_]:
    """An array of geometries to (or, `inverse`, from) metres of one zone, vectorised over every coordinate."""
    if not len(geoms):
        return geoms
    return _apply(geoms, zone or zone_of(geoms), inverse)


def buffer_m(geom: BaseGeometry, distance: float, quad_segs: int = QUAD_SEGS) -> BaseGeometry:
    """The geometry grown by `distance` metres on the ground, back in storage degrees."""
    projected, zone = to_zone(geom)
    return from_zone(shapely.buffer(projected, float(distance), quad_segs=quad_segs), zone)


def length_m(geom: BaseGeometry) -> float:
    return float(to_zone(geom)[0].length)


def area_m2(geom: BaseGeometry) -> float:
    return float(to_zone(geom)[0].area)


def distance_m(a: BaseGeometry, b: BaseGeometry) -> float:
    """The distance between two storage geometries, in metres of the zone of the first."""
    zone = zone_of(a)
    return float(shapely.distance(to_zone(a, zone)[0], to_zone(b, zone)[0]))


@dataclass(frozen=True)
class LocalFrame:
    """Metres east/north of (lon0, lat0) on the tangent plane (see the module docstring)."""

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        return _M_PER_DEG_LON_EQ * math.cos(math.radians(self.lat0))

    def to_xy(self, lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        return (lon_a - self.lon0) * self.kx, (lat_a - self.lat0) * _M_PER_DEG_LAT

    def to_lonlat(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        x_a, y_a = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        return x_a / self.kx + self.lon0, y_a / _M_PER_DEG_LAT + self.lat0

    def geoms_to_xy(self, geoms: NDArray) -> NDArray:
        """Vectorised: lon/lat shapely geometries → metric ones."""
        def fn(coords: NDArray[np.float64]) -> NDArray[np.float64]:
            x, y = self.to_xy(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geoms, fn)
