"""Batch-geocoding results kept as named layers (批量地址 → 保存为图层).

The page sends back the rows it placed (it already has them: geocoding again would cost the batch's
time twice and could place a row differently after an address update); the server checks every row and
stores them in `geocoded_points` under the name, published through OGC API – Features as the
`geocoded_points` collection (`?layer=<name>`). A name is one upload: saving under a name in use is
refused (409) rather than mixed into another upload's points.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg

from gis import crs as gcrs
from gis.errors import Conflict, InvalidInput, NotFound, TooLarge
from gis.security import scope
from gis.security.scope import Area

MAX_POINTS = 100_000
POINT_KEYS = {"row", "query", "standard_address", "match_level", "confidence", "lon", "lat"}


def _name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("name: give the layer a name (1–100 characters)")
    name = raw.strip()
    if len(name) > 100:
        raise InvalidInput(f"name: at most 100 characters, got {len(name)}")
    return name


def _point(i: int, p: Any) -> tuple[int, str | None, str | None, str | None, float | None, float, float]:
    if not isinstance(p, dict):
        raise InvalidInput(f"points[{i}]: expected an object {{row, lon, lat, …}}")
    unknown = set(p) - POINT_KEYS
    if unknown:
        raise InvalidInput(f"points[{i}]: unknown property {sorted(unknown)[0]!r}")
    lon, lat, row = p.get("lon"), p.get("lat"), p.get("row", i)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (lon, lat)):
        raise InvalidInput(f"points[{i}]: lon and lat must be numbers")
    if not gcrs.plausible([lon], [lat], gcrs.resolve(None))[0]:
        raise InvalidInput(f"points[{i}]: ({lon}, {lat}) is not a CGCS2000 longitude/latitude")
    if not isinstance(row, int) or isinstance(row, bool) or row < 0:
        raise InvalidInput(f"points[{i}]: row must be a whole number ≥ 0")
    conf = p.get("confidence")
    if conf is not None and (not isinstance(conf, int | float) or not 0 <= conf <= 1):
        raise InvalidInput(f"points[{i}]: confidence must lie in [0, 1]")
    text = [p.get(k) if p.get(k) is None else str(p.get(k)) for k in ("query", "standard_address", "match_level")]
    return row, text[0], text[1], text[2], None if conf is None else float(conf), float(lon), float(lat)


def save(conn: psycopg.Connection, body: Any) -> dict[str, Any]:
    """Stores `{name, points: [{row, query, standard_address, match_level, confidence, lon, lat}]}`."""
    if not isinstance(body, dict):
        raise InvalidInput("expected a JSON object {name, points}")
    name = _name(body.get("name"))
    points = body.get("points")
    if not isinstance(points, list) or not points:
        raise InvalidInput("points: a non-empty list of placed rows")
    if len(points) > MAX_POINTS:
        raise TooLarge(f"{len(points)} points sent; at most {MAX_POINTS} per layer")
    rows = [_point(i, p) for i, p in enumerate(points)]
    seen: set[int] = set()
    for r in rows:
        if r[0] in seen:
            raise InvalidInput(f"points: row {r[0]} appears twice")
        seen.add(r[0])
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('citygrid.geocoded:' || %s))", (name,))
        if conn.execute("SELECT 1 FROM geocoded_points WHERE layer = %s LIMIT 1", (name,)).fetchone():
            raise Conflict(f"name: a layer called {name!r} already exists; choose another name or delete it first")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO geocoded_points (layer, row_no, query, standard_address, match_level, confidence, geom)"
                " VALUES (%s, %s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
                [(name, *r) for r in rows])
    return {"name": name, "points": len(rows)}


def list_layers(conn: psycopg.Connection, area: Area | None = None) -> list[dict[str, Any]]:
    """Every saved layer: name, number of points, when saved, points per match level. For a caller limited
    to an `area`, the points inside it only (the geocoded_points layer's scope), so the counts agree with
    what `/ogc/collections/geocoded_points/items?layer=…` gives it; layers with none inside are left out."""
    inside, values = scope.clause("geocoded_points", area, "t")
    rows = conn.execute(
        f"""SELECT layer, min(created_at), jsonb_object_agg(level, n) FROM (
               SELECT layer, coalesce(match_level, '') AS level, count(*) AS n, min(created_at) AS created_at
               FROM geocoded_points t WHERE {inside} GROUP BY 1, 2) s
           GROUP BY layer ORDER BY min(created_at) DESC, layer""", values).fetchall()
    return [{"name": r[0], "points": int(sum(r[2].values())), "created_at": r[1].isoformat(), "levels": r[2]}
            for r in rows]


def delete(conn: psycopg.Connection, name: str) -> int:
    n = conn.execute("DELETE FROM geocoded_points WHERE layer = %s", (name,)).rowcount
    if not n:
        raise NotFound(f"no saved layer {name!r}")
    return n
