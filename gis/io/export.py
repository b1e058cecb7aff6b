"""Export of a layer to GeoJSON (RFC 7946, CRS84) or GeoPackage (any CRS gis.crs knows), by file suffix.

Field names and value forms are those the importer reads, so an export imports back unchanged: the
geocoding layers use the GB/T 30428.3 names (AddName, Alias `{a/b}`, ORDate `YYYYMMDD` …), the others the
column names. Text is written as UTF-8. Geometries are transformed from storage with numpy, not per row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyogrio.raw
import shapely
from psycopg import sql

from gis import crs as gcrs
from gis.errors import InvalidInput
from gis.io.layers import Field, LayerSpec, get_layer, norm
from gis.settings import STORAGE_SRID

DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
_GEOJSON_CRS = {"CRS84", "EPSG:4326", f"EPSG:{STORAGE_SRID}"}


def parse_filters(spec: LayerSpec, where: list[str] | None) -> list[tuple[str, str, bool]]:
    """`["community_code=310113003001", "name=淞*"]` -> [(column, value, is_prefix)], columns checked."""
    out = []
    by_name = {norm(n): f.column for f in spec.fields for n in f.accepted_names()}
    for item in where or []:
        if "=" not in item:
            raise InvalidInput(f"--where {item!r}: write COLUMN=VALUE (VALUE* for a prefix)")
        name, value = (p.strip() for p in item.split("=", 1))
        column = by_name.get(norm(name))
        if column is None or spec.get_field(column).type in ("wkt", "json", "textarr"):
            raise InvalidInput(f"--where: layer {spec.name} has no filterable column {name!r}")
        prefix = value.endswith("*")
        out.append((column, value[:-1] if prefix else value, prefix))
    return out


def _query(spec: LayerSpec, filters: list[tuple[str, str, bool]]) -> tuple[sql.Composed, list[Any]]:
    cols: list[sql.Composable] = []
    for f in spec.fields:
        ident = sql.Identifier(f.column)
        cols.append(sql.SQL("ST_AsBinary({})").format(ident) if f.type == "wkt" else ident)
    if spec.geometry:
        cols.append(sql.SQL("ST_AsBinary(geom)"))
    conds, params = [], []
    for column, value, prefix in filters:
        if prefix:
            conds.append(sql.SQL("{}::text LIKE %s").format(sql.Identifier(column)))
            params.append(value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        else:
            conds.append(sql.SQL("{}::text = %s").format(sql.Identifier(column)))
            params.append(value)
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL("")
    key = sql.SQL(", ").join(sql.Identifier(k) for k in spec.key)
    q = sql.SQL("SELECT {} FROM {}{} ORDER BY {}").format(sql.SQL(", ").join(cols), sql.Identifier(spec.table),
                                                         where, key)
    return q, params


def _field_values(f: Field, values: list[Any], gbt: bool, ref: gcrs.CrsRef) -> tuple[np.ndarray, np.ndarray | None]:
    """A column as written: (array, null mask or None)."""
    if f.type == "int":
        mask = np.array([v is None for v in values], dtype=bool)
        return np.array([0 if v is None else int(v) for v in values], dtype=np.int64), mask
    if f.type == "float":
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64), None
    if f.type == "date":
        fmt = "%Y%m%d" if gbt else "%Y-%m-%d"
        return np.array([None if v is None else v.strftime(fmt) for v in values], dtype=object), None
    if f.type == "timestamp":
        return np.array([None if v is None else v.isoformat() for v in values], dtype=object), None
    if f.type == "textarr":
        return np.array(["{" + "/".join(v) + "}" if v else None for v in values], dtype=object), None
    if f.type == "json":
        return np.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values],
                        dtype=object), None
    if f.type == "wkt":
        geoms = shapely.from_wkb(np.array(values, dtype=object))
        geoms = gcrs.transform_geometry(geoms, gcrs.STORAGE, ref)
        return np.array(shapely.to_wkt(geoms, rounding_precision=-1), dtype=object), None
    return np.array([None if v is None else str(v) for v in values], dtype=object), None


def _crs_for_file(ref: gcrs.CrsRef) -> str | None:
    if ref.proj is None:      # GCJ-02 / BD-09: no CRS definition exists; the file carries none
        return None
    if ref.name.startswith("EPSG:"):
        return ref.name
    if ref.name == "CRS84":
        return "OGC:CRS84"
    return ref.proj.to_wkt()


def export_layer(conn: psycopg.Connection, layer: str, path: str | Path, *, crs: str | None = None,
                 where: list[str] | None = None) -> int:
    """Writes `layer` (optionally filtered) to `path`; returns the number of features written."""
    spec = get_layer(layer)
    path = Path(path)
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise InvalidInput(f"cannot tell the export format of {path.name}: use .geojson or .gpkg")
    if driver == "GeoJSON":
        ref = gcrs.resolve(crs or "CRS84")
        if ref.name not in _GEOJSON_CRS:
            raise InvalidInput(f"GeoJSON is always CRS84 (RFC 7946): write a .gpkg file for {ref.name}")
        ref = gcrs.resolve("CRS84")
    else:
        ref = gcrs.resolve(crs or STORAGE_SRID)
    q, params = _query(spec, parse_filters(spec, where))
    with conn.cursor() as cur:
        cur.execute(q, params)
        rows = cur.fetchall()
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(len(spec.fields) + bool(spec.geometry))]
    field_data, masks, names = [], [], []
    for i, f in enumerate(spec.fields):
        arr, mask = _field_values(f, list(columns[i]), spec.gbt, ref)
        field_data.append(arr)
        masks.append(mask)
        names.append(f.export_name)
    geometry = None
    if spec.geometry:
        geoms = shapely.from_wkb(np.array(columns[-1], dtype=object))
        geoms = gcrs.transform_geometry(geoms, gcrs.STORAGE, ref)
        geometry = np.array(shapely.to_wkb(geoms), dtype=object) if n else np.array([], dtype=object)
    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if driver == "GeoJSON":
        options["layer_options"] = {"RFC7946": "YES", "WRITE_NAME": "NO"}
    pyogrio.raw.write(
        path, geometry, field_data, names, field_mask=masks if any(m is not None for m in masks) else None,
        layer=spec.name, driver=driver, geometry_type=spec.geometry, crs=_crs_for_file(ref) if spec.geometry else None,
        encoding="UTF-8" if driver != "GPKG" else None, **options,
    )
    return n
