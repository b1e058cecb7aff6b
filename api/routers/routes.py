"""Routes: `POST /api/routes` from a drawn line and/or ordered stops (joined along the street network),
with the corridor fence and stop fences it creates; `PUT` re-plans."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Body, Depends, Query, Request, Response

from api.auth import area_of, optional_principal, require_role
from api.deps import db
from api.params import RequiredWindow, RouteIds
from gis import catalog
from gis.errors import NotFound
from gis.fences import routes as route_engine
from gis.security import scope
from gis.tracks import queries

ROUTES = catalog.get("routes")
router = APIRouter(tags=["routes"])

EXAMPLE = {
    "name": "湿垃圾1号线", "kind": "regular", "vehicle_id": "沪A12345", "buffer_m": 30,
    "stops": [{"name": "收集点1", "lon": 121.40, "lat": 31.30, "windows": ["16:00-17:00"]},
              {"name": "中转站", "lon": 121.42, "lat": 31.31}],
}


@router.post("/api/routes", status_code=201, summary="Plan a route and create its corridor fence")
def create_route(request: Request, body: Any = Body(..., examples=[EXAMPLE]), conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    """Body: `name`, `kind` (regular|temporary), `vehicle_id`/`vehicles`, a drawn `line` (GeoJSON
    LineString) and/or ordered `stops` [{name, lon, lat, windows?, radius_m?, dwell_s?}], `buffer_m` of
    the corridor, optional `schedule`, `speed_limit_kmh`, `debounce`, `crs`. Without a line the stops are
    joined along the streets (`planning: "network"`), or by straight lines when no network is loaded
    (`planning: "straight"` and a `note`). A scoped key: 403 for a route outside its area."""
    area = area_of(request)
    with conn.transaction():
        out = route_engine.create(conn, body)
        scope.require_inside(conn, ROUTES, area, out["id"], "the new route would lie")
    return out


@router.get("/api/routes", summary="List routes")
def list_routes(request: Request, conn: psycopg.Connection = Depends(db),
                principal: Any = Depends(optional_principal)) -> dict[str, Any]:
    """The routes (a scoped caller: those inside its area)."""
    return {"routes": route_engine.list_all(conn, area=area_of(request))}


def _own_route(request: Request, conn: psycopg.Connection, route_id: int) -> None:
    """A route outside the caller's area does not exist for it (404)."""
    area = area_of(request)
    if area is not None and scope.inside(conn, ROUTES, area, route_id) is False:
        raise NotFound(f"no route {route_id} in the area {area.label}")


@router.get("/api/routes/compare", summary="Planned vs actual of many routes at once (计划与实际 of a day)")
def compare_routes(window: RequiredWindow, request: Request, ids: RouteIds,
                   tolerance_m: float = Query(30.0, gt=0, le=500),
                   conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)
                   ) -> dict[str, Any]:
    """`routes`: what `/api/routes/{id}/compare` answers, for every route with a vehicle (or the `ids`
    given; 404 naming any that does not exist or lies outside a scoped caller's area), each against its own
    vehicle, in one answer. Declared before `/api/routes/{route_id}`, which would take `compare` for an id."""
    found = route_engine.route_ids(conn, area=area_of(request), among=ids)
    if ids is not None and len(found) < len(ids):
        missing = sorted(set(ids) - set(found))
        raise NotFound(f"no route {', '.join(map(str, missing))}")
    return {"routes": queries.compare_many(conn, found, window.start, window.stop, tolerance_m)}


@router.get("/api/routes/{route_id}", summary="One route")
def get_route(route_id: int, request: Request, conn: psycopg.Connection = Depends(db),
              principal: Any = Depends(optional_principal)) -> dict[str, Any]:
    _own_route(request, conn, route_id)
    return route_engine.get(conn, route_id)


@router.put("/api/routes/{route_id}", summary="Edit a route (re-plans it and replaces its fences)")
def replace_route(route_id: int, request: Request, body: Any = Body(...), conn: psycopg.Connection = Depends(db),
                  principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    with scope.changed_inside(conn, ROUTES, area_of(request), route_id, "route"):
        out = route_engine.replace(conn, route_id, body)
    return out


@router.delete("/api/routes/{route_id}", status_code=204, summary="Delete a route and its fences")
def delete_route(route_id: int, request: Request, conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> Response:
    with scope.changed_inside(conn, ROUTES, area_of(request), route_id, "route"):
        route_engine.delete(conn, route_id)
    return Response(status_code=204)


@router.get("/api/routes/{route_id}/compare", summary="Planned vs actual: share of the route driven, stops missed")
def compare_route(route_id: int, window: RequiredWindow, request: Request, vehicle_id: str | None = None,
                  tolerance_m: float = Query(30.0, gt=0, le=500),
                  conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)
                  ) -> dict[str, Any]:
    _own_route(request, conn, route_id)
    return queries.compare(conn, route_id, vehicle_id, window.start, window.stop, tolerance_m)
