"""核准 permits of muck trucks: a truck may carry from one 工地 to a 消纳场 along a registered route.

Checked whole before anything is written (400 naming the problem): the truck exists and is a muck
truck, the site is a 工地 whose permit period covers the permit's, the disposal site is a 消纳场/卸点 (or a
码头 / 中转调配厂) and, when the 工地 registered its 消纳场, that one; the route is a line in any CRS.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import psycopg
import shapely
import shapely.geometry

from gis import crs as gcrs
from gis.errors import InvalidInput, NotFound
from gis.muck import fences

DISPOSAL_KINDS = ("disposal_site", "wharf", "transfer_yard")


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{name}: expected YYYY-MM-DD, got {value!r}") from None


def _site(conn: psycopg.Connection, code: Any, name: str) -> tuple[Any, ...]:
    row = conn.execute("SELECT id, code, kind, permit_from, permit_to, disposal_code FROM cw_sites WHERE code = %s",
                       (str(code),)).fetchone()
    if row is None:
        raise NotFound(f"{name}: no construction-waste site {code!r}")
    return row


def create(conn: psycopg.Connection, body: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """Stores one permit and brings the muck fences in step; answers the permit."""
    for key in ("code", "vehicle_id", "site", "disposal", "valid_from", "valid_to", "route"):
        if body.get(key) in (None, ""):
            raise InvalidInput(f"{key}: missing")
    for key in ("code", "vehicle_id", "site", "disposal"):
        if not isinstance(body[key], str | int) or isinstance(body[key], bool) or len(str(body[key])) > 100:
            raise InvalidInput(f"{key}: expected a code (a string of at most 100 characters)")
    start, end = _date(body["valid_from"], "valid_from"), _date(body["valid_to"], "valid_to")
    if end < start:
        raise InvalidInput(f"valid_to {end} is before valid_from {start}")
    corridor = body.get("corridor_m", 60)
    if isinstance(corridor, bool) or not isinstance(corridor, int | float) or not 5 <= corridor <= 1000:
        raise InvalidInput(f"corridor_m: a half-width of 5–1000 m, got {corridor!r}")
    kind = conn.execute("SELECT kind FROM vehicles WHERE id = %s", (str(body["vehicle_id"]),)).fetchone()
    if kind is None:
        raise NotFound(f"vehicle_id: no vehicle {body['vehicle_id']!r}")
    if kind[0] != "muck":
        raise InvalidInput(f"vehicle_id: {body['vehicle_id']} is a {kind[0]} vehicle, not a muck truck")
    site = _site(conn, body["site"], "site")
    disposal = _site(conn, body["disposal"], "disposal")
    if site[2] != "construction_site":
        raise InvalidInput(f"site: {site[1]} is a {site[2]}, not a construction site (工地)")
    if disposal[2] not in DISPOSAL_KINDS:
        raise InvalidInput(f"disposal: {disposal[1]} is a {disposal[2]}, not a 消纳场/卸点, 码头 or 中转调配厂")
    if site[5] and site[5] != disposal[1]:
        raise InvalidInput(f"disposal: {site[1]} registered {site[5]} as its 消纳场, not {disposal[1]}")
    if (site[3] and start < site[3]) or (site[4] and end > site[4]):
        raise InvalidInput(f"valid_from/valid_to: {start}–{end} is outside the site's permit period "
                           f"{site[3]}–{site[4]}")
    route = body["route"]
    if not isinstance(route, dict) or route.get("type") != "LineString":
        raise InvalidInput("route: expected a GeoJSON LineString")
    try:
        line = shapely.geometry.shape(route)
    except Exception as exc:  # shapely raises several kinds for malformed coordinates
        raise InvalidInput(f"route: unreadable LineString ({exc})") from exc
    if body.get("crs") is not None and not isinstance(body["crs"], str | int):
        raise InvalidInput("crs: expected a CRS name such as EPSG:4490, CRS84 or GCJ02")
    ref = gcrs.resolve(body.get("crs"))
    if not isinstance(line, shapely.LineString) or not np.isfinite(shapely.get_coordinates(line)).all():
        raise InvalidInput("route: the line's coordinates must be finite numbers")
    line = gcrs.transform_geometry(line, ref, gcrs.STORAGE)
    xy = shapely.get_coordinates(line)
    if line.is_empty or not line.is_valid or line.length == 0 or not np.isfinite(xy).all() \
            or not ((xy[:, 0] >= -180) & (xy[:, 0] <= 180) & (xy[:, 1] >= -90) & (xy[:, 1] <= 90)).all():
        raise InvalidInput("route: the line is empty, has no length or is not a position on Earth in its crs")
    with conn.transaction():
        if conn.execute("SELECT 1 FROM muck_permits WHERE code = %s", (str(body["code"]),)).fetchone():
            raise InvalidInput(f"code: permit {body['code']} exists already")
        pid = conn.execute(
            """INSERT INTO muck_permits (code, vehicle_id, site_id, disposal_id, valid_from, valid_to, corridor_m,
                                         route)
               VALUES (%s, %s, %s, %s, %s, %s, %s, ST_GeomFromWKB(%s, 4490)) RETURNING id""",
            (str(body["code"]), str(body["vehicle_id"]), site[0], disposal[0], start, end, float(corridor),
             shapely.to_wkb(line))).fetchone()[0]
        synced = fences.sync(conn, today)
    return {**get(conn, pid), "fences": synced}


def get(conn: psycopg.Connection, pid: int) -> dict[str, Any]:
    row = conn.execute(
        """SELECT p.id, p.code, p.vehicle_id, s.code, d.code, p.valid_from, p.valid_to, p.corridor_m, p.fence_id,
                  ST_AsGeoJSON(p.route, 7)::jsonb
           FROM muck_permits p JOIN cw_sites s ON s.id = p.site_id JOIN cw_sites d ON d.id = p.disposal_id
           WHERE p.id = %s""", (pid,)).fetchone()
    if row is None:
        raise NotFound(f"no permit {pid}")
    keys = ("id", "code", "vehicle_id", "site", "disposal", "valid_from", "valid_to", "corridor_m", "fence_id",
            "route")
    out = dict(zip(keys, row, strict=True))
    out["valid_from"], out["valid_to"] = out["valid_from"].isoformat(), out["valid_to"].isoformat()
    return out


def list_all(conn: psycopg.Connection, vehicle_id: str | None = None) -> list[dict[str, Any]]:
    ids = conn.execute("SELECT id FROM muck_permits WHERE %(v)s::text IS NULL OR vehicle_id = %(v)s ORDER BY id",
                       {"v": vehicle_id}).fetchall()
    return [get(conn, i) for (i,) in ids]
