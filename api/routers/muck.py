"""建筑垃圾/渣土: muck-truck permits and the fences behind their alarms (偷倒/乱倒, 未按核准路线; 夜间/限时禁行
fences are drawn through /api/fences). Sites are a catalog layer (`citygrid import cw_sites FILE`)."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Body, Depends, Query, Request

from api.auth import area_of, require_role
from api.deps import db
from gis import catalog
from gis.muck import fences, permits
from gis.security import scope
from gis.security.keys import Principal

router = APIRouter(tags=["muck"])


@router.post("/api/muck/permits", status_code=201)
def create_permit(
    body: dict[str, Any] = Body(..., examples=[{
        "code": "HZ2026-001", "vehicle_id": "M001", "site": "GD001", "disposal": "XN001",
        "valid_from": "2026-11-01", "valid_to": "2026-12-31", "corridor_m": 60,
        "route": {"type": "LineString", "coordinates": [[121.40, 31.30], [121.42, 31.30]]}}]),
    principal: Principal = Depends(require_role("planner")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """A 核准 permit: truck, 工地, 消纳场, validity and registered route (`crs` for its coordinates, default
    CRS84). Its corridor fence (未按核准路线) and the registered-sites fence (偷倒/乱倒) follow."""
    return permits.create(conn, body)


@router.get("/api/muck/permits")
def list_permits(request: Request, vehicle_id: str | None = Query(None),
                 conn: psycopg.Connection = Depends(db)) -> dict[str, Any]:
    """The permits, with their route and corridor fence (a scoped caller: those whose route lies in its area)."""
    found = permits.list_all(conn, vehicle_id)
    mine = scope.keep(conn, catalog.get("muck_permits"), area_of(request), [p["id"] for p in found])
    return {"permits": [p for p in found if p["id"] in mine]}


@router.post("/api/muck/sync")
def sync_fences(
    principal: Principal = Depends(require_role("planner")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """Brings the muck fences in step with the sites, the muck trucks and today's permits (after an import
    of sites, new trucks, or daily for permits that start or expire)."""
    return fences.sync(conn)
