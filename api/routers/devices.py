"""IoT devices: `POST /api/devices/readings` (bulk, validated and acknowledged like GPS fixes),
`GET /api/devices/{id}/state`, `GET /api/devices/alarms`, `POST /api/devices/sweep` (离线 check);
and camera coverage: `GET /api/cameras/coverage`."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.auth import area_of, optional_principal, require_role
from api.deps import db
from api.params import limit_query
from api.responses import GeoJSONResponse
from api.services import Services, Svc
from gis import catalog
from gis.devices import ingest
from gis.errors import NotFound, TooLarge
from gis.fences.feed import feed
from gis.security import scope
from layers import coverage as cov

router = APIRouter(tags=["devices"])
Conn = Annotated[psycopg.Connection, Depends(db)]


def _ingest(svc: Services, body: bytes, allowed: set[str] | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with svc.connection() as conn:
        return ingest.ingest(conn, body, allowed=allowed)


@router.post("/api/devices/readings", summary="Ingest device readings (validated, stored, judged against thresholds)")
async def post_readings(request: Request, svc: Svc,
                        principal: Any = Depends(require_role("inspector", device=True))) -> dict[str, Any]:
    """Body: `[{device_id, ts, metric, value}` or `{device_id, ts, values: {metric: value}}, …]` (up to
    50,000). Answers `received`, `accepted` (readings stored and judged), `rejected` (objects), `duplicates`,
    `reasons` {reason: count}, `errors` [{index, reason, detail}], `alarms` opened and their `event_ids`
    (also pushed on /api/alarms/stream). Reasons: """ + ", ".join(ingest.REASONS) + """. A device key
    may report only for the terminals it lists."""
    body = await request.body()
    if len(body) > 64 * 1024 * 1024:
        raise TooLarge("body larger than 64 MiB")
    allowed = set(principal.vehicles) if principal.role == "device" else None
    answer, events = await run_in_threadpool(_ingest, svc, body, allowed)
    feed.publish(events)
    return answer


@router.post("/api/devices/sweep", summary="Raise 离线 for devices silent longer than their limit")
async def post_sweep(svc: Svc, principal: Any = Depends(require_role("inspector"))) -> dict[str, Any]:
    def run() -> list[dict[str, Any]]:
        with svc.connection() as conn, conn.transaction():
            return ingest.sweep_offline(conn)

    events = await run_in_threadpool(run)
    feed.publish(events)
    return {"opened": len(events), "event_ids": [e["event_id"] for e in events]}


@router.get("/api/devices/alarms", summary="Device alarms (满溢, 位移, 倾斜, 超标, 离线), newest first",
            dependencies=[Depends(optional_principal)])
def device_alarms(conn: Conn, request: Request, device_id: str | None = None, kind: str | None = None,
                  state: str | None = Query(None, description="open or closed"),
                  limit: int = limit_query(100, 10000)) -> dict[str, Any]:
    """A scoped caller gets the `limit` newest alarms of the devices inside its area."""
    items = ingest.alarms(conn, device_id=device_id, kind=kind, state=state, limit=limit, area=area_of(request))
    return {"alarms": items, "numberReturned": len(items)}


@router.get("/api/devices/{device_id}/state", summary="A device's latest values, state and open alarms",
            dependencies=[Depends(optional_principal)])
def device_state(conn: Conn, request: Request, device_id: str) -> dict[str, Any]:
    found = ingest.latest(conn, device_id)
    if found is not None and not scope.keep(conn, catalog.get("devices"), area_of(request), [device_id]):
        found = None  # a device outside the caller's area does not exist for it
    if found is None:
        raise NotFound(f"no device {device_id!r}")
    return found


@router.get("/api/cameras/coverage", response_class=GeoJSONResponse, dependencies=[Depends(optional_principal)],
            summary="Camera coverage (监控覆盖率) per community or street: counts, shares, choropleth")
def camera_coverage(conn: Conn, request: Request,
                    level: str = Query("community", description="community | street"),
                    measure: str = Query("overall", description="drop_points | compounds | roads | overall "
                                                                "(what the choropleth colours)"),
                    geometry: bool = Query(True, description="include area geometries")) -> Response:
    """Per area: drop points and compounds covered by an online camera's sector (count, total, share),
    road metres inside a sector (covered_m, total_m, share), `overall` (mean of the shares), class and
    colour; `district` has the totals. A caller limited to an area gets the communities and streets
    inside it, totals over those and the online cameras inside it."""
    return GeoJSONResponse(cov.coverage(conn, level=level, measure=measure, geometry=geometry,
                                        area=area_of(request)))
