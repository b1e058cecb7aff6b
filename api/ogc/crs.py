"""CRS by reference (OGC API – Features Part 2): which CRSs are offered, how a geometry is written in
one (axis order as the CRS defines it: EPSG:4326 and EPSG:4490 are latitude first, EPSG:4549 is
northing first, CRS84 and PROJ-string local systems are easting first), and how a `bbox` given in
one becomes a storage-CRS geometry.

Everything is stored in EPSG:4490 (x=lon, y=lat). CGCS2000 and WGS84 differ by centimetres and
`gis.crs` treats them as one, so CRS84 output is the stored coordinates as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import shapely

from api.params import ogc_bbox
from gis import crs as gcrs
from gis.errors import InvalidInput
from gis.settings import STORAGE_SRID, get_settings

CRS84 = gcrs.CRS84_URI
#: Offered besides the configured local systems.
OFFERED_EPSG = (4490, 4326, 4549)
#: CRSs whose lon/lat values are the stored numbers (datum shift treated as nil, as in gis.crs).
_LONLAT_SAME = {"CRS84", "EPSG:4490", "EPSG:4326"}


@dataclass(frozen=True, eq=False)
class OgcCrs:
    """Singletons (see `offered`): identity equality and hash, so caches keyed by one never hash
    the pyproj CRS (whose hash renders WKT, ~1 ms)."""

    name: str          # gis.crs canonical name
    uri: str           # what clients send and what Content-Crs says
    flip: bool         # first axis is north (lat/northing): swap x and y on the wire
    geographic: bool
    ref: gcrs.CrsRef

    @property
    def decimals(self) -> int:
        return 8 if self.geographic else 3

    def geometry_sql(self, geom: str) -> str:
        """SQL that turns the stored geometry expression `geom` into this CRS, axis order included."""
        if self.name in ("CRS84", "EPSG:4490"):  # the stored numbers (4490 is only flipped below)
            out = geom
        elif self.name.startswith("EPSG:"):
            out = f"ST_Transform({geom}, {int(self.name[5:])})"
        else:  # a configured local PROJ system
            proj = get_settings().local_crs[self.name].replace("'", "''")
            out = f"ST_Transform({geom}, '{proj}')"
        return f"ST_FlipCoordinates({out})" if self.flip else out


def _make(name: str) -> OgcCrs:
    ref = gcrs.resolve(name)
    axes = ref.proj.axis_info if ref.proj is not None else []
    flip = bool(axes) and axes[0].direction in ("north", "south")
    return OgcCrs(ref.name, ref.uri, flip, gcrs.is_geographic(ref), ref)


@lru_cache(maxsize=1)
def offered() -> tuple[OgcCrs, ...]:
    names = ["CRS84", *(f"EPSG:{c}" for c in OFFERED_EPSG), *sorted(get_settings().local_crs)]
    return tuple(_make(n) for n in names)


def offered_uris() -> list[str]:
    return [c.uri for c in offered()]


STORAGE_URI = f"http://www.opengis.net/def/crs/EPSG/0/{STORAGE_SRID}"


@lru_cache(maxsize=64)
def lookup(value: str | None, param: str = "crs") -> OgcCrs:
    """The offered CRS named by `value` (a URI, `EPSG:n`, `CRS84` or a local name); 400 otherwise."""
    if value is None or value == "":
        return offered()[0]
    for c in offered():  # what the server advertises is accepted as advertised (local systems' URNs too)
        if value in (c.uri, c.name):
            return c
    try:
        name = gcrs.resolve(value).name
    except Exception:
        name = None
    for c in offered():
        if c.name == name:
            return c
    raise InvalidInput(f"{param}: {value!r} is not offered; use one of {', '.join(offered_uris())}")


def parse_bbox(text: str, bbox_crs: OgcCrs) -> tuple[str, list]:
    """`bbox` (4 or 6 numbers, axis order of `bbox_crs`) -> SQL geometry expression in storage + params.

    The numbers are read by the one bbox rule (api.params / gis.params)."""
    x1, y1, x2, y2 = ogc_bbox(text, bbox_crs.flip, bbox_crs.geographic)
    if bbox_crs.name in _LONLAT_SAME:
        return f"ST_MakeEnvelope(%s, %s, %s, %s, {STORAGE_SRID})", [x1, y1, x2, y2]
    box = shapely.segmentize(shapely.box(x1, y1, x2, y2), max((x2 - x1), (y2 - y1)) / 16 or 1.0)
    return geometry_param(box, bbox_crs)


def geometry_param(geom, in_crs: OgcCrs, *, flipped: bool = False) -> tuple[str, list]:
    """A shapely geometry given in `in_crs` -> SQL expression in storage + params (WKB).

    `flipped` says the coordinates are still in the CRS's own axis order (lat first for EPSG:4326)."""
    if flipped and in_crs.flip:
        geom = shapely.transform(geom, lambda c: c[:, ::-1])
    if in_crs.name not in _LONLAT_SAME:
        geom = gcrs.transform_geometry(geom, in_crs.ref, gcrs.STORAGE)
    return f"ST_GeomFromWKB(%s, {STORAGE_SRID})", [shapely.to_wkb(geom)]
