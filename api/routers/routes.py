"""Routes: `POST /api/routes` from a drawn line and/or ordered stops (joined along the street network),
with the corridor fence and stop fences it creates; `PUT` re-plans."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Body, Depends, Query, Response

from api.auth import optional_principal, require_role
from api.deps import db
from api.params import RequiredWindow
from gis.fences import routes as route_engine
from gis.tracks import queries

router = APIRouter(tags=["routes"])

EXAMPLE = {
    "name": "湿垃圾1号线", "kind": "regular", "vehicle_id": "沪A12345", "buffer_m": 30,
    "stops": [{"name": "收集点1", "lon": 121.40, "lat": 31.30, "windows": ["16:00-17:00"]},
              {"name": "中转站", "lon": 121.42, "lat": 31.31}],
}


@router.post("/api/routes", status_code=201, summary="Plan a route and create its corridor fence")
def create_route(body: Any = Body(..., examples=[EXAMPLE]), conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    """Body: `name`, `kind` (regular|temporary), `vehicle_id`/`vehicles`, a drawn `line` (GeoJSON
    LineString) and/or ordered `stops` [{name, lon, lat, windows?, radius_m?, dwell_s?}], `buffer_m` of
    the corridor, optional `schedule`, `speed_limit_kmh`, `debounce`, `crs`. Without a line the stops are
    joined along the streets (`planning: "network"`), or by straight lines when no network is loaded
    (`planning: "straight"` and a `note`)."""
    return route_engine.create(conn, body)


@router.get("/api/routes", summary="List routes")
def list_routes(conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)
                ) -> dict[str, Any]:
    return {"routes": route_engine.list_all(conn)}


@router.get("/api/routes/{route_id}", summary="One route")
def get_route(route_id: int, conn: psycopg.Connection = Depends(db),
              principal: Any = Depends(optional_principal)) -> dict[str, Any]:
    return route_engine.get(conn, route_id)


@router.put("/api/routes/{route_id}", summary="Edit a route (re-plans it and replaces its fences)")
def replace_route(route_id: int, body: Any = Body(...), conn: psycopg.Connection = Depends(db),
                  principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    return route_engine.replace(conn, route_id, body)


@router.delete("/api/routes/{route_id}", status_code=204, summary="Delete a route and its fences")
def delete_route(route_id: int, conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> Response:
    route_engine.delete(conn, route_id)
    return Response(status_code=204)


@router.get("/api/routes/{route_id}/compare", summary="Planned vs actual: share of the route driven, stops missed")
def compare_route(route_id: int, window: RequiredWindow, vehicle_id: str | None = None,
                  tolerance_m: float = Query(30.0, gt=0, le=500),
                  conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)
                  ) -> dict[str, Any]:
    return queries.compare(conn, route_id, vehicle_id, window.start, window.stop, tolerance_m)
