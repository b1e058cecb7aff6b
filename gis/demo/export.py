"""Writes a generated dataset as GeoJSON files: the geocoding layers with the GB/T 30428.3 property
names of standards.md §3 (AddName, StrName, SHousenum …), the other layers with the column names of the
schema. Coordinates are EPSG:4490 lon/lat (declared with the legacy `crs` member that GDAL reads).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely

from gis.demo.generate import Dataset
from gis.demo.table import Table

CRS_MEMBER = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}


def _alias(values: list[str] | None) -> str | None:
    """GB/T 30428.3 writes several names as {名1/名2}."""
    return "{" + "/".join(values) + "}" if values else None


def _ymd(value: date | None) -> str | None:
    return value.strftime("%Y%m%d") if value else None


def _features(geoms: Any, props: list[dict[str, Any]]) -> list[dict[str, Any]]:
    arr = np.asarray(geoms, dtype=object)
    texts = shapely.to_geojson(arr, indent=None)
    return [{"type": "Feature", "properties": p, "geometry": orjson.Fragment(g)}
            for p, g in zip(props, texts.tolist(), strict=True)]


def write_collection(path: Path, geoms: Any, props: list[dict[str, Any]], name: str) -> int:
    fc = {"type": "FeatureCollection", "name": name, "crs": CRS_MEMBER, "features": _features(geoms, props)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(fc, default=str, option=orjson.OPT_SERIALIZE_NUMPY))
    return len(props)


def _rows(t: Table, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    names = [c for c in t.columns if c not in t.geom_cols and c not in skip]
    cols = [t.column_list(c) for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*cols, strict=True)]


def unit_grid_props(t: Table, idx: list[int]) -> list[dict[str, Any]]:
    c = t.columns
    return [{"AddName": c["name"][i], "AddID": c["code"][i], "CommuCode": c["community_code"][i],
             "Area": float(c["area_m2"][i]), "Alias": None, "OldName": None, "DataSource": "citygrid demo (synthetic)",
             "ORDate": _ymd(c["or_date"][i]), "CHDate": None, "Note": "合成数据"} for i in idx]


def write_sample(ds: Dataset, out_dir: Path, community: str | None = None) -> Path:
    """One community's unit grids (the sample committed in data/grids/)."""
    t = ds.tables["unit_grids"]
    codes = t.columns["community_code"]
    community = community or sorted(set(codes))[0]
    idx = sorted((i for i, c in enumerate(codes) if c == community), key=lambda i: t.columns["code"][i])
    path = out_dir / f"{community}_unit_grids.geojson"
    write_collection(path, [t.columns["geom"][i] for i in idx], unit_grid_props(t, idx), f"unit_grids_{community}")
    return path


def write_dataset(ds: Dataset, out_dir: Path) -> dict[Path, int]:
    out: dict[Path, int] = {}
    tb = ds.tables

    a = tb["admin_areas"].columns
    props = [{"AddName": a["name"][i], "AddID": a["code"][i], "Level": a["level"][i], "Alias": _alias(a["alias"][i]),
              "OldName": _alias(a["old_name"][i]), "DataSource": a["data_source"][i], "ORDate": _ymd(a["or_date"][i]),
              "CHDate": None, "Note": a["note"][i]} for i in range(len(tb["admin_areas"]))]
    out[out_dir / "regions.geojson"] = write_collection(out_dir / "regions.geojson", a["geom"], props, "regions")

    u = tb["unit_grids"]
    path = out_dir / "unit_grids.geojson"
    out[path] = write_collection(path, u.columns["geom"], unit_grid_props(u, list(range(len(u)))), "unit_grids")

    s = tb["streets"].columns
    props = [{"StrName": s["name"][i], "StrID": s["str_id"][i], "Alias": _alias(s["alias"][i]),
              "OldName": _alias(s["old_name"][i]), "SHousenum": s["s_housenum"][i], "LHousenum": s["l_housenum"][i],
              "Beginning": s["beginning"][i], "Ending": s["ending"][i], "Direction": s["direction"][i],
              "RouteName": s["route_name"][i], "DataSource": s["data_source"][i], "ORDate": _ymd(s["or_date"][i]),
              "CHDate": None, "Note": None} for i in range(len(tb["streets"]))]
    out[out_dir / "streets.geojson"] = write_collection(out_dir / "streets.geojson", s["geom"], props, "streets")

    z = tb["zones"].columns
    props = [{"ZoneName": z["name"][i], "ZoneID": z["zone_id"][i], "Alias": _alias(z["alias"][i]),
              "OldName": _alias(z["old_name"][i]), "Boundary": z["boundary"][i], "SubDisName": z["subdis_name"][i],
              "SubDisCode": z["subdis_code"][i], "CommuName": z["commu_name"][i], "CommuCode": z["commu_code"][i],
              "DataSource": z["data_source"][i], "ORDate": _ymd(z["or_date"][i]), "CHDate": None, "Note": None}
             for i in range(len(tb["zones"]))]
    out[out_dir / "zones.geojson"] = write_collection(out_dir / "zones.geojson", z["geom"], props, "zones")

    p = tb["doorplates"].columns
    props = [{"AddName": p["add_name"][i], "AddID": p["add_id"][i], "RoadName": p["road_name"][i],
              "ZoneName": p["zone_name"][i], "HouseName": p["house_name"][i], "SubDisName": p["subdis_name"][i],
              "SubDisCode": p["subdis_code"][i], "CommuName": p["commu_name"][i], "CommuCode": p["commu_code"][i],
              "DataSource": p["data_source"][i], "ORDate": _ymd(p["or_date"][i]), "CHDate": None, "Note": None}
             for i in range(len(tb["doorplates"]))]
    out[out_dir / "doorplates.geojson"] = write_collection(out_dir / "doorplates.geojson", p["geom"], props,
                                                           "doorplates")

    q = tb["pois"].columns
    props = [{"POIName": q["name"][i], "POIID": q["poi_id"][i], "OldName": _alias(q["old_name"][i]),
              "Alias": _alias(q["alias"][i]), "Category": q["category"][i], "Floor": q["floor"][i],
              "AddName": q["add_name"][i], "DataSource": q["data_source"][i], "ORDate": _ymd(q["or_date"][i]),
              "CHDate": None, "Note": None} for i in range(len(tb["pois"]))]
    out[out_dir / "pois.geojson"] = write_collection(out_dir / "pois.geojson", q["geom"], props, "pois")

    for name in ("components", "waste_facilities", "work_grids"):
        t = tb[name]
        path = out_dir / f"{name}.geojson"
        out[path] = write_collection(path, t.columns["geom"], _rows(t, skip=("id",) if name == "work_grids" else ()),
                                     name)
    out[write_sample(ds, out_dir)] = sum(1 for c in tb["unit_grids"].columns["community_code"]
                                         if c == sorted(set(tb["unit_grids"].columns["community_code"]))[0])
    return out
