"""Geometry checks of an import, vectorised over shapely 2 arrays: type, CRS plausibility, validity.

Order matters: a geometry is first made to fit the layer's type (a Polygon promoted to MultiPolygon, a
one-part multi unwrapped), then its coordinates are checked against the declared CRS (projected metres
declared as degrees fail here), transformed to storage (EPSG:4490) and checked again against a China
lon/lat box (lon/lat declared as a Gauss–Krüger zone fail there), and last checked for validity in the
form it will be stored in.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from gis import crs as gcrs

#: A generous lon/lat box around China (mainland, Hainan, the South China Sea islands kept out).
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)

_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}


def _add(errors: dict[int, list[str]], rows: NDArray, make) -> None:
    for i in rows:
        errors.setdefault(int(i), []).append(make(int(i)))


def fit_type(geoms: NDArray, kind: str, errors: dict[int, list[str]], label: str = "geometry") -> NDArray:
    """Geometries of the layer's type (`kind`), None where they cannot be made to fit."""
    geoms = np.array(geoms, dtype=object)
    present = ~shapely.is_missing(geoms)
    empty = present & shapely.is_empty(np.where(present, geoms, None))
    _add(errors, np.flatnonzero(empty), lambda i: f"empty {label}")
    geoms[empty] = None
    present &= ~empty
    geoms[present] = shapely.force_2d(geoms[present])
    tid = np.where(present, shapely.get_type_id(geoms), -1)
    nparts = np.where(present, shapely.get_num_geometries(geoms), 0)
    out = np.full(len(geoms), None, dtype=object)
    handled = np.zeros(len(geoms), dtype=bool)   # rows already given a more precise reason
    if kind == "Point":
        ok = tid == 0
        one = (tid == 4) & (nparts == 1)
        out[ok] = geoms[ok]
        if one.any():
            out[one] = shapely.get_geometry(geoms[one], 0)
    elif kind == "LineString":
        ok = tid == 1
        out[ok] = geoms[ok]
        idx = np.flatnonzero(tid == 5)
        if len(idx):
            merged = shapely.line_merge(geoms[idx])
            single = shapely.get_type_id(merged) == 1
            out[idx[single]] = merged[single]
            handled[idx[~single]] = True
            _add(errors, idx[~single], lambda i: f"a MultiLineString of {nparts[i]} disconnected parts where "
                 "the layer takes one LineString")
    elif kind == "MultiPolygon":
        ok = tid == 6
        out[ok] = geoms[ok]
        idx = np.flatnonzero(tid == 3)
        if len(idx):
            out[idx] = shapely.multipolygons(geoms[idx], indices=np.arange(len(idx)))
    else:
        raise ValueError(kind)
    wrong = present & shapely.is_missing(out) & ~handled
    _add(errors, np.flatnonzero(wrong), lambda i: f"a {_TYPE_NAMES.get(int(tid[i]), 'geometry')} {label} where "
         f"the layer takes {kind}")
    return out


def to_storage(geoms: NDArray, ref: gcrs.CrsRef, errors: dict[int, list[str]], label: str = "geometry") -> NDArray:
    """Checks coordinates against `ref`, transforms them to EPSG:4490 and checks they land in China."""
    out = np.array(geoms, dtype=object)
    present = np.flatnonzero(~shapely.is_missing(out))
    if len(present) == 0:
        return out
    coords, index = shapely.get_coordinates(out[present], return_index=True)
    x, y = coords[:, 0], coords[:, 1]
    good = gcrs.plausible(x, y, ref)
    bad_rows, first = np.unique(index[~good], return_index=True)
    where_bad = np.flatnonzero(~good)
    for r, k in zip(bad_rows, first, strict=True):
        j = where_bad[k]
        errors.setdefault(int(present[r]), []).append(
            f"{label} coordinates ({x[j]:.6g}, {y[j]:.6g}) are not plausible in {ref.name}: wrong --crs "
            "(e.g. metres declared as degrees, or swapped axes)?")
    lon, lat = gcrs.to_storage(np.where(good, x, 0.0), np.where(good, y, 0.0), ref)
    in_china = (good & np.isfinite(lon) & np.isfinite(lat) & (lon >= CHINA_LON[0]) & (lon <= CHINA_LON[1])
                & (lat >= CHINA_LAT[0]) & (lat <= CHINA_LAT[1]))
    outside = good & ~in_china
    out_rows, first = np.unique(index[outside], return_index=True)
    where_out = np.flatnonzero(outside)
    for r, k in zip(out_rows, first, strict=True):
        j = where_out[k]
        errors.setdefault(int(present[r]), []).append(
            f"{label} lies outside China after transformation from {ref.name} (lon {lon[j]:.6f}, lat {lat[j]:.6f}):"
            " wrong --crs?")
    rejected = np.zeros(len(present), dtype=bool)
    rejected[np.unique(index[~in_china])] = True
    moved = shapely.set_coordinates(shapely.transform(out[present], lambda c: c), np.column_stack([lon, lat]))
    moved[rejected] = None
    out[present] = moved
    return out


def check_valid(geoms: NDArray, errors: dict[int, list[str]], label: str = "geometry") -> NDArray:
    """Rows whose geometry is invalid get shapely's reason (e.g. 'Self-intersection[121.4 31.3]')."""
    out = np.array(geoms, dtype=object)
    present = ~shapely.is_missing(out)
    valid = np.ones(len(out), dtype=bool)
    valid[present] = shapely.is_valid(out[present])
    bad = np.flatnonzero(~valid)
    if len(bad):
        reasons = shapely.is_valid_reason(out[bad])
        for i, why in zip(bad, reasons, strict=True):
            errors.setdefault(int(i), []).append(f"invalid {label}: {why}")
        out[bad] = None
    return out
