"""Coordinate systems: EPSG codes, OGC CRS URIs, configured local PROJ systems, GCJ-02 and BD-09.

Everything is vectorised over numpy arrays. Storage is EPSG:4490 (see `gis.settings.STORAGE_SRID`);
CGCS2000 and WGS84 differ by centimetres, so 4490 <-> 4326 is treated as the identity, as PROJ does.

GCJ-02 (the obfuscated datum of 高德/腾讯/微信 phones) has no public inverse formula: `from_gcj02`
inverts `to_gcj02` by fixed-point iteration to well under a millimetre. Outside China the offset is
zero, as the reference implementations do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from gis.errors import UnknownCRS
from gis.settings import STORAGE_SRID, get_settings

GCJ02 = "GCJ02"
BD09 = "BD09"
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

_A = 6378245.0  # Krasovsky 1940 semi-major axis, used by the GCJ-02 algorithm
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

_EPSG_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$")
_EPSG_CODE = re.compile(r"^(?:EPSG|epsg)::?(\d+)$")
_OGC_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/OGC/1\.3/(CRS84h?)$")


@dataclass(frozen=True)
class CrsRef:
    """A resolved CRS: a pyproj CRS, or one of the Chinese offset systems (which are not in PROJ)."""

    name: str                      # canonical: "EPSG:4490", "CRS84", "GCJ02", "BD09", "LOCAL:SH"
    proj: CRS | None               # None for GCJ02/BD09 (defined on top of WGS84 lon/lat)
    uri: str                       # OGC URI form, for Content-Crs headers
    lonlat: bool = True            # axis order of the *input/output* arrays is always x=lon, y=lat

    @property
    def is_offset(self) -> bool:
        return self.proj is None


def _local_uri(name: str) -> str:
    return f"urn:citygrid:crs:{name}"


@lru_cache(maxsize=256)
def resolve(crs: str | int | None) -> CrsRef:
    """Accepts 4490, "EPSG:4549", OGC URIs, "CRS84", "GCJ02"/"gcj-02", "BD09", or a configured local name.

    Raises UnknownCRS naming the value when it is not one of those.
    """
    if crs is None or crs == "":
        crs = "CRS84"
    text = str(crs).strip()
    upper = text.upper().replace("-", "").replace("_", "")
    if upper in ("GCJ02", "GCJ"):
        return CrsRef(GCJ02, None, _local_uri(GCJ02))
    if upper in ("BD09", "BD09LL", "BAIDU"):
        return CrsRef(BD09, None, _local_uri(BD09))
    if upper in ("CRS84", "OGC:CRS84", "WGS84") or _OGC_URI.match(text):
        return CrsRef("CRS84", CRS.from_user_input("OGC:CRS84"), CRS84_URI)
    local = get_settings().local_crs
    if text in local:
        try:
            return CrsRef(text, CRS.from_user_input(local[text]), _local_uri(text))
        except CRSError as exc:
            raise UnknownCRS(f"local CRS {text!r} has an invalid PROJ definition: {exc}") from exc
    code: int | None = None
    if text.isdigit():
        code = int(text)
    elif m := _EPSG_CODE.match(text) or _EPSG_URI.match(text):
        code = int(m.group(1))
    if code is None:
        raise UnknownCRS(
            f"unknown CRS {text!r}: use EPSG:<code>, an OGC CRS URI, CRS84, GCJ02, BD09"
            + (f" or one of {', '.join(sorted(local))}" if local else "")
        )
    try:
        proj = CRS.from_epsg(code)
    except CRSError as exc:
        raise UnknownCRS(f"unknown CRS EPSG:{code}") from exc
    return CrsRef(f"EPSG:{code}", proj, f"http://www.opengis.net/def/crs/EPSG/0/{code}")


STORAGE = resolve(STORAGE_SRID)


#: Geographic lon/lat systems treated as one (CGCS2000 and WGS84 agree to centimetres; PROJ's own
#: 4490 -> 4326 operation is the null transformation too). Between them, `transform` copies arrays.
LONLAT_EQUIVALENT = frozenset({"CRS84", "EPSG:4326", "EPSG:4490"})


_TRANSFORMERS: dict[tuple[str, str, str, str], Transformer] = {}


def _transformer(src: CrsRef, dst: CrsRef) -> Transformer:
    """Cached by name and definition string: hashing pyproj CRS objects renders WKT on every lookup.

    The refs may also be ad hoc (a file's own .prj), so the key is not the name alone.
    """
    key = (src.name, src.proj.srs, dst.name, dst.proj.srs)
    found = _TRANSFORMERS.get(key)
    if found is None:
        # always_xy: arrays are (x=lon/easting, y=lat/northing) whatever the CRS's axis order.
        found = _TRANSFORMERS.setdefault(key, Transformer.from_crs(src.proj, dst.proj, always_xy=True))
    return found


def _arrays(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


# -- GCJ-02 / BD-09 --------------------------------------------------------------------------------


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    lon, lat = _arrays(lon, lat)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_delta(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Inverse by iteration: the fixed point converges to < 1e-9° in a few steps."""
    glon, glat = _arrays(lon, lat)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(30):
        tlon, tlat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = tlon - glon, tlat - glat
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < 1e-10) and np.all(np.abs(elat) < 1e-10):
            break
    return wlon, wlat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    bx, by = _arrays(lon, lat)
    x, y = bx - 0.0065, by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _to_wgs_from_offset(ref: CrsRef, x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    if ref.name == BD09:
        x, y = bd09_to_gcj02(x, y)
    return gcj02_to_wgs84(x, y)


def _from_wgs_to_offset(ref: CrsRef, x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    x, y = wgs84_to_gcj02(x, y)
    if ref.name == BD09:
        x, y = gcj02_to_bd09(x, y)
    return x, y


# -- the one entry point ---------------------------------------------------------------------------


def transform(
    x: ArrayLike, y: ArrayLike, src: str | int | CrsRef | None, dst: str | int | CrsRef | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Transforms coordinate arrays (x=lon/easting, y=lat/northing) from `src` to `dst`."""
    s = src if isinstance(src, CrsRef) else resolve(src)
    d = dst if isinstance(dst, CrsRef) else resolve(dst)
    xs, ys = _arrays(x, y)
    if s.name == d.name or (s.name in LONLAT_EQUIVALENT and d.name in LONLAT_EQUIVALENT):
        return xs.copy(), ys.copy()
    wgs = resolve("CRS84")
    if s.is_offset:
        xs, ys = _to_wgs_from_offset(s, xs, ys)
        s = wgs
    if d.is_offset:
        if s.proj is not None and s.name not in LONLAT_EQUIVALENT:
            xs, ys = _transformer(s, wgs).transform(xs, ys)
        return _from_wgs_to_offset(d, xs, ys)
    if s.name == d.name or (s.name in LONLAT_EQUIVALENT and d.name in LONLAT_EQUIVALENT):
        return xs, ys
    return tuple(np.asarray(a, dtype=np.float64) for a in _transformer(s, d).transform(xs, ys))


def to_storage(x: ArrayLike, y: ArrayLike, src: str | int | CrsRef | None) -> tuple[NDArray, NDArray]:
    return transform(x, y, src, STORAGE)


def from_storage(x: ArrayLike, y: ArrayLike, dst: str | int | CrsRef | None) -> tuple[NDArray, NDArray]:
    return transform(x, y, STORAGE, dst)


def transform_geometry(geom, src: str | int | CrsRef | None, dst: str | int | CrsRef | None):
    """A shapely geometry (or array of them) from `src` to `dst`, coordinates vectorised."""
    import shapely

    def fn(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        xs, ys = transform(coords[:, 0], coords[:, 1], src, dst)
        return np.column_stack([xs, ys])

    return shapely.transform(geom, fn)


def is_geographic(ref: CrsRef) -> bool:
    return ref.is_offset or bool(ref.proj and ref.proj.is_geographic)


def plausible(x: ArrayLike, y: ArrayLike, ref: CrsRef) -> NDArray[np.bool_]:
    """Whether coordinates could be in `ref` at all (catches projected metres declared as degrees,
    swapped axes and coordinates outside the CRS's area of use)."""
    xs, ys = _arrays(x, y)
    finite = np.isfinite(xs) & np.isfinite(ys)
    if is_geographic(ref):
        return finite & (np.abs(xs) <= 180) & (np.abs(ys) <= 90)
    area = ref.proj.area_of_use if ref.proj is not None else None
    if area is None:
        return finite
    lon, lat = transform(xs, ys, ref, "CRS84")
    margin = 1.0
    return (
        finite & np.isfinite(lon) & np.isfinite(lat)
        & (lon >= area.west - margin) & (lon <= area.east + margin)
        & (lat >= area.south - margin) & (lat <= area.north + margin)
    )
