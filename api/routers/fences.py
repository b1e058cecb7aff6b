"""Electronic fences: `POST /api/fences`, `GET/PUT/DELETE /api/fences/{id}` (GeoJSON Features with a
`kind`), and the routes that create corridor and stop fences (`/api/routes`, see routes.py)."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Body, Depends, Request, Response

from api.auth import area_of, optional_principal, require_role
from api.deps import db
from api.models import GEOJSON
from api.params import limit_query
from api.routers import routes
from gis import catalog
from gis.fences import routes as route_engine
from gis.fences import store
from gis.security import scope

router = APIRouter()
FENCES = catalog.get("fences")
router.include_router(routes.router)

EXAMPLE = {
    "type": "Feature",
    "geometry": {"type": "LineString", "coordinates": [[121.40, 31.30], [121.41, 31.30]]},
    "properties": {"kind": "corridor", "name": "1号线走廊", "buffer_m": 30, "vehicles": ["沪A12345"],
                   "speed_limit_kmh": 40, "schedule": {"days": [1, 2, 3, 4, 5], "hours": ["06:00-18:00"]}},
}


@router.post("/api/fences", status_code=201, tags=["fences"], summary="Create a fence (GeoJSON Feature)")
def create_fence(request: Request, feature: Any = Body(..., examples=[EXAMPLE]), conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    """Kinds: `area` (stay inside: 越区), `forbidden` (stay out: 禁行; a line needs `buffer_m` or `width_m`),
    `corridor` (stay within `buffer_m` of a line: 路线偏离), `stop` (a point with `radius_m`, `windows`
    ["HH:MM-HH:MM"] local time and `dwell_s`: 漏收). Optional: `vehicles`, `groups`, `schedule`
    {days, hours}, `speed_limit_kmh` (超速 inside the fence), `dwell_limit_s` (违规停留),
    `signal_timeout_s`, `debounce` {fixes, seconds, margin_m, clear_fixes}, `crs` of the geometry.
    Unknown properties or kinds are answered 422 naming them. A scoped key: 403 for a fence outside its area."""
    area = area_of(request)
    with conn.transaction():
        out = store.create(conn, feature)
        scope.require_inside(conn, FENCES, area, out["id"], "the new fence would lie")
    return out


@router.get("/api/fences", responses=GEOJSON, tags=["fences"], summary="List fences (GeoJSON FeatureCollection)")
def list_fences(request: Request, kind: str | None = None, vehicle_id: str | None = None,
                limit: int = limit_query(1000, 10000),
                conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)) -> dict[str, Any]:
    features = store.list_all(conn, kind, vehicle_id, limit, area_of(request))
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}


@router.get("/api/fences/{fence_id}", responses=GEOJSON, tags=["fences"], summary="One fence")
def get_fence(fence_id: int, request: Request, conn: psycopg.Connection = Depends(db),
              principal: Any = Depends(optional_principal)) -> dict[str, Any]:
    return store.get(conn, fence_id, area_of(request))


@router.put("/api/fences/{fence_id}", tags=["fences"], summary="Replace a fence (closes its open alarms)")
def replace_fence(fence_id: int, request: Request, feature: Any = Body(...), conn: psycopg.Connection = Depends(db),
                  principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    with scope.changed_inside(conn, FENCES, area_of(request), fence_id, "fence"):
        out = store.replace(conn, fence_id, feature)
    return out


@router.delete("/api/fences/{fence_id}", status_code=204, tags=["fences"],
               summary="Delete a fence (a route's corridor deletes its route)")
def delete_fence(fence_id: int, request: Request, conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> Response:
    with scope.changed_inside(conn, FENCES, area_of(request), fence_id, "fence"):
        route_id = route_engine.delete_fence(conn, fence_id)
    headers = {"X-CityGrid-Deleted-Route": str(route_id)} if route_id is not None else None
    return Response(status_code=204, headers=headers)
