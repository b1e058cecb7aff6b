"""Hand-made fixtures of the import/export tests: a tiny district drawn as squares, and file writers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyogrio.raw
import shapely

# District 310113 = [121.30, 121.50] x [31.30, 31.40]; one street 310113003 covering it; two communities
# split at lon 121.40; community 001 holds two unit grids split at lon 121.35.
DISTRICT = "310113"
STREET = "310113003"
COMM1, COMM2 = "310113003001", "310113003002"
GRID1, GRID2 = "310113003001001", "310113003001002"

AREAS = [
    (DISTRICT, "district", "宝山区", None, (121.30, 31.30, 121.50, 31.40)),
    (STREET, "street", "友谊路街道", DISTRICT, (121.30, 31.30, 121.50, 31.40)),
    (COMM1, "community", "一村", STREET, (121.30, 31.30, 121.40, 31.40)),
    (COMM2, "community", "二村", STREET, (121.40, 31.30, 121.50, 31.40)),
]
GRIDS = [(GRID1, COMM1, (121.30, 31.30, 121.35, 31.40)), (GRID2, COMM1, (121.35, 31.30, 121.40, 31.40))]


def load_district(db: psycopg.Connection, grids: bool = True) -> None:
    for code, level, name, parent, box in AREAS:
        db.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) "
                   "VALUES (%s, %s, %s, %s, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4490)))",
                   [code, level, name, parent, *box])
    if grids:
        for code, comm, box in GRIDS:
            db.execute("INSERT INTO unit_grids (code, community_code, geom) "
                       "VALUES (%s, %s, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4490)))", [code, comm, *box])


#: Two components of the export tests: 上水井盖 in GRID1, an unnamed 污水井盖 in GRID2.
CID1, CID2 = "3101130101000001", "3101130102000002"


def add_components(db: psycopg.Connection) -> None:
    """Inserts the components CID1 and CID2."""
    db.execute("INSERT INTO components (id, major, minor, name, geom) VALUES "
               "(%s, '01', '01', '上水井盖', ST_SetSRID(ST_MakePoint(121.31, 31.35), 4490)), "
               "(%s, '01', '02', NULL, ST_SetSRID(ST_MakePoint(121.36, 31.35), 4490))", [CID1, CID2])


def snapshot(db: psycopg.Connection, table: str) -> tuple[int, str | None]:
    """Row count and a checksum of every row of `table`: equal snapshots mean the table is unchanged."""
    row = db.execute(f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t").fetchone()
    return row[0], row[1]


def write_geojson(path: Path, features: list[tuple[Any, dict[str, Any]]], *, crs: str | None = None,
                  encoding: str = "utf-8") -> Path:
    """A FeatureCollection written by hand (json), optionally in another text encoding."""
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props,
         "geometry": None if geom is None else json.loads(shapely.to_geojson(geom))}
        for geom, props in features]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode(encoding))
    return path


_TYPES = ["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"]


def write_ogr(path: Path, geoms: list[Any], props: dict[str, list[Any]], *, crs: str | None = "EPSG:4490",
              geometry_type: str | None = None, encoding: str | None = None) -> Path:
    """A GeoPackage or Shapefile written with pyogrio."""
    fields = list(props)
    data = [np.array(v, dtype=object) if any(isinstance(x, str) or x is None for x in v) else np.array(v)
            for v in props.values()]
    wkb = np.array(shapely.to_wkb(np.array(geoms, dtype=object)), dtype=object)
    gtype = geometry_type or _TYPES[int(shapely.get_type_id(geoms[0]))]
    kwargs: dict[str, Any] = {}
    if encoding:
        kwargs["encoding"] = encoding
    pyogrio.raw.write(path, wkb, data, fields, geometry_type=gtype, crs=crs, **kwargs)
    return path


def pt(x: float, y: float):
    return shapely.Point(x, y)
