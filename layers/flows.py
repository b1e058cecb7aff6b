"""Waste flows: generator clusters → disposal plants, weighted by the tonnes actually carried.

Generators are the points of the weighing records (the restaurant POI of `source_poi_id` when there is
one, else the record's own point). They are clustered by their H3 parent at `resolution` (8 ≈ 0.7 km²
hexagons: a 聚集区 of restaurants), and every (cluster, facility) pair with records becomes a line from
the cluster's tonnage-weighted centroid to the facility, carrying the tonnes. Each record is counted
exactly once, so the tonnes into each plant equal the plant's weighed total (conservation).
Per street (街道/镇) the chain 产生 → 运输 → 末端 is summarised: tonnes generated, trips, vehicles and
tonne-kilometres carried, and the tonnes received per terminal.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any

import psycopg
from h3.api import basic_int

from gis import catalog
from gis.errors import InvalidInput
from gis.params import check_range, district_tz, parse_range
from gis.security import scope
from gis.security.scope import Area
from gis.settings import get_settings

from . import cache
from . import cells as hcells
from .sources import SOURCES
from .style import load

WASTE_KINDS = ("kitchen", "household", "recyclable", "hazardous", "muck")
DEFAULT_DAYS = 30

#: One pass over the window's records: generator points as plain floats, the street of each generator
#: location (one point-in-polygon per distinct cell, not per record), and GROUPING SETS giving the flow lines
#: (cluster, facility, street) and the street logistics (street, facility) and (street) together.
#: Tonne-kilometres use the haversine on the sphere of ST_DistanceSphere (R = 6370986 m) in plain floats.
_SQL = """
WITH r AS MATERIALIZED (
    SELECT w.tonnes AS t, w.facility_id AS f, w.vehicle_id COLLATE "C" AS v, w.source_poi_id COLLATE "C" AS poi,
           (w.vehicle_id || '|' || (w.ts AT TIME ZONE %(tz)s)::date::text) COLLATE "C" AS trip,
           COALESCE(p.h3_cell, w.h3_cell) AS h,
           ST_X(COALESCE(p.geom, w.geom)) AS x, ST_Y(COALESCE(p.geom, w.geom)) AS y
    FROM waste_records w LEFT JOIN pois p ON p.poi_id = w.source_poi_id
    WHERE w.waste_kind = %(kind)s AND w.ts >= %(start)s AND w.ts < %(stop)s {scoped}
),
gs AS (
    SELECT g.h, s.code, s.name FROM (SELECT h, min(x) AS x, min(y) AS y FROM r GROUP BY h) g
    LEFT JOIN LATERAL (
        SELECT a.code, a.name FROM admin_areas a
        WHERE a.level = 'street' AND ST_Intersects(a.geom, ST_SetSRID(ST_MakePoint(g.x, g.y), 4490))
        ORDER BY a.code LIMIT 1) s ON true
),
fac AS (SELECT id, ST_X(geom) AS fx, ST_Y(geom) AS fy FROM waste_facilities)
SELECT GROUPING({parent}) = 1 AS street_level, GROUPING(r.f) = 1 AS street_total,
       {parent} AS cluster, r.f, gs.code, gs.name,
       sum(r.t), count(*), count(DISTINCT r.poi), count(DISTINCT r.v), count(DISTINCT r.trip),
       sum(r.t * r.x), sum(r.t * r.y), sum(r.x), sum(r.y),
       sum(r.t * 2 * 6370986.0 * asin(least(1.0, sqrt(
           sin(radians(fac.fy - r.y) / 2) ^ 2
           + cos(radians(r.y)) * cos(radians(fac.fy)) * sin(radians(fac.fx - r.x) / 2) ^ 2)))) / 1000.0
FROM r JOIN gs ON gs.h = r.h LEFT JOIN fac ON fac.id = r.f
GROUP BY GROUPING SETS (({parent}, r.f, gs.code, gs.name), (gs.code, gs.name, r.f), (gs.code, gs.name))
"""


def default_window(conn: psycopg.Connection, kind: str) -> tuple[datetime, datetime] | None:
    """The last DEFAULT_DAYS days of data of that kind (not of the wall clock: demo data may be old)."""
    row = conn.execute("SELECT max(ts) FROM waste_records WHERE waste_kind = %s", (kind,)).fetchone()
    if not row or row[0] is None:
        return None
    tz = district_tz()
    last_day = row[0].astimezone(tz).date()
    stop = datetime.combine(last_day + timedelta(days=1), time.min, tz)  # whole days, in the district's time
    return stop - timedelta(days=DEFAULT_DAYS), stop


def flows(conn: psycopg.Connection, *, source: str | None = None, start: str | datetime | None = None,
          stop: str | datetime | None = None, resolution: int | None = None,
          answers: cache.LayerCache | None = None, area: Area | None = None) -> dict[str, Any]:
    """Flow lines (GeoJSON) from generator clusters to facilities, with plant and street summaries.
    `area`: only the records generated inside it (the catalog's scope of waste_records); the plants
    they went to are shown wherever they are."""
    kind = source or "kitchen"
    if kind == "waste_records":
        kind = "kitchen"
    if kind not in WASTE_KINDS:
        raise InvalidInput(f"flows source must be a waste kind ({', '.join(WASTE_KINDS)}), got {kind!r}")
    res = 8 if resolution is None else resolution
    if not hcells.MIN_RES <= res <= hcells.MAX_RES:
        raise InvalidInput(f"resolution must be {hcells.MIN_RES}–{hcells.MAX_RES}, got {res}")
    t0, t1 = parse_range(start, stop)
    if t0 is None or t1 is None:
        window = default_window(conn, kind)
        if window is None:
            return _answer(kind, res, t0, t1, [], [], [], [], 0.0)
        if t1 is None and t0 is None:
            t0, t1 = window
        elif t1 is None:
            t1 = window[1]
        else:
            t0 = t1 - timedelta(days=DEFAULT_DAYS)
    check_range(t0, t1)
    hcells.ensure_cells(conn, SOURCES["pois"])
    hcells.ensure_cells(conn, SOURCES["waste_records"])
    key = ("flows", kind, res, t0, t1, area.code if area else None)
    return cache.get_or_compute(answers, conn, FLOW_TABLES, key, lambda: _compute(conn, kind, res, t0, t1, area))


#: Tables whose change counters (ogc_changes) invalidate a cached flows answer.
FLOW_TABLES = ("waste_records", "pois", "waste_facilities", "admin_areas")


def _compute(conn: psycopg.Connection, kind: str, res: int, t0: datetime, t1: datetime,
             area: Area | None = None) -> dict[str, Any]:
    params = {"kind": kind, "start": t0, "stop": t1, "tz": get_settings().timezone}
    scoped = ""
    if area is not None:
        cond, values = scope.named(*scope.condition(catalog.get("waste_records"), area, "w"))
        scoped = f"AND {cond}"
        params.update(values)
    rows, street_rows = [], []
    sql = _SQL.format(parent=hcells.parent_sql("r.h", res), scoped=scoped)
    for street_level, street_total, cluster, fid, code, name, t, n, gens, veh, trips, tx, ty, sx, sy, tkm in \
            conn.execute(sql, params).fetchall():
        if street_level:
            street_rows.append((code, name, fid, t, n, veh, trips, gens, tkm, street_total))
        else:
            rows.append((cluster, fid, code, name, t, n, gens, veh, tx, ty, sx, sy))
    fac_ids = sorted({r[1] for r in rows if r[1] is not None})
    facs = {
        f[0]: {"id": f[0], "name": f[1], "kind": f[2], "lon": f[3], "lat": f[4]}
        for f in conn.execute(
            "SELECT id, name, kind, ST_X(geom), ST_Y(geom) FROM waste_facilities WHERE id = ANY(%s)", (fac_ids,)
        ).fetchall()
    }
    return _build(kind, res, t0, t1, rows, street_rows, facs)


def _build(kind: str, res: int, t0: datetime | None, t1: datetime | None, rows: list[tuple], street_rows: list[tuple],
           facs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    # Clusters: tonnage-weighted centroid over all their records; named after their main street.
    cl: dict[int, dict[str, Any]] = {}
    cl_street_t: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    unassigned = 0.0
    for cell, fid, _scode, sname, t, n, gens, _veh, tx, ty, sx, sy in rows:
        c = cl.setdefault(cell, {"t": 0.0, "n": 0, "gens": 0, "tx": 0.0, "ty": 0.0, "sx": 0.0, "sy": 0.0})
        c["t"] += t
        c["n"] += n
        c["gens"] += gens
        c["tx"] += tx
        c["ty"] += ty
        c["sx"] += sx
        c["sy"] += sy
        cl_street_t[cell][sname or "区外"] += t
        if fid is None:
            unassigned += t
    clusters = []
    for cell, c in cl.items():
        lon, lat = (c["tx"] / c["t"], c["ty"] / c["t"]) if c["t"] > 0 else (c["sx"] / c["n"], c["sy"] / c["n"])
        street = max(cl_street_t[cell].items(), key=lambda kv: kv[1])[0]
        c.update(lon=lon, lat=lat, street=street)
        clusters.append({"id": basic_int.int_to_str(cell), "name": f"{street}餐饮聚集区" if kind == "kitchen"
                         else f"{street}产生区", "lon": lon, "lat": lat, "tonnes": c["t"], "records": c["n"],
                         "generators": c["gens"], "street": street})
    # Lines: one per (cluster, facility), summed over streets.
    pairs: dict[tuple[int, int], dict[str, float]] = {}
    for cell, fid, _sc, _sn, t, n, gens, *_ in rows:
        if fid is None or fid not in facs:
            continue
        p = pairs.setdefault((cell, fid), {"t": 0.0, "n": 0, "gens": 0})
        p["t"] += t
        p["n"] += n
        p["gens"] += gens
    plant_t: dict[int, float] = defaultdict(float)
    plant_n: dict[int, int] = defaultdict(int)
    for (_cell, fid), p in pairs.items():
        plant_t[fid] += p["t"]
        plant_n[fid] += int(p["n"])
    style = load("flows")["line"]
    tmax = max((p["t"] for p in pairs.values()), default=0.0)
    features = []
    for (cell, fid), p in sorted(pairs.items(), key=lambda kv: -kv[1]["t"]):
        c, f = cl[cell], facs[fid]
        width = style["min_width"] + (style["max_width"] - style["min_width"]) * (p["t"] / tmax if tmax else 0)
        features.append({
            "type": "Feature", "id": f"{basic_int.int_to_str(cell)}->{fid}",
            "geometry": {"type": "LineString", "coordinates": [[c["lon"], c["lat"]], [f["lon"], f["lat"]]]},
            "properties": {
                "from": basic_int.int_to_str(cell), "from_name": f"{c['street']}餐饮聚集区" if kind == "kitchen"
                else f"{c['street']}产生区", "to": fid, "to_name": f["name"], "to_kind": f["kind"],
                "direction": "from→to", "tonnes": round(p["t"], 6), "records": int(p["n"]),
                "generators": int(p["gens"]), "share_of_plant": p["t"] / plant_t[fid] if plant_t[fid] else 0.0,
                "width": round(width, 2),
            },
        })
    plants = [{**facs[fid], "tonnes": plant_t[fid], "records": plant_n[fid]} for fid in sorted(plant_t)]
    streets = _streets(street_rows, facs)
    return _answer(kind, res, t0, t1, features, clusters, plants, streets, unassigned)


def _streets(rows: list[tuple], facs: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """产生 → 运输 → 末端 per street, from the GROUPING SETS rows (per facility, and street totals)."""
    out: dict[str, dict[str, Any]] = {}
    for code, name, fid, t, n, veh, trips, gens, tkm, is_total in rows:
        key = code or ""
        s = out.setdefault(key, {"code": code, "name": name or "区外", "产生": {}, "运输": {}, "末端": []})
        if is_total:
            s["产生"] = {"tonnes": t, "records": n, "generators": gens}
            s["运输"] = {"vehicles": veh, "trips": trips, "tonne_km": tkm or 0.0}
        elif fid is None:
            s["未指定末端_tonnes"] = t
        else:
            f = facs.get(fid, {"name": None, "kind": None})
            s["末端"].append({"facility_id": fid, "name": f["name"], "kind": f["kind"], "tonnes": t})
    for s in out.values():
        s["末端"].sort(key=lambda x: -x["tonnes"])
    return sorted(out.values(), key=lambda s: -(s["产生"].get("tonnes") or 0.0))


def _answer(kind: str, res: int, t0: datetime | None, t1: datetime | None, features: list[Any],
            clusters: list[Any], plants: list[Any], streets: list[Any], unassigned: float) -> dict[str, Any]:
    return {
        "type": "FeatureCollection", "features": features, "waste_kind": kind, "resolution": res,
        "from": t0.isoformat() if t0 else None, "to": t1.isoformat() if t1 else None,
        "clusters": clusters, "plants": plants, "streets": streets, "unassigned_tonnes": unassigned,
        "total_tonnes": sum(p["tonnes"] for p in plants) + unassigned,
    }
