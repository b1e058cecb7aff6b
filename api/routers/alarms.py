"""Alarms: `GET /api/alarms` (stored, filtered, paged), `GET /api/alarms/stream` (Server-Sent Events with
Last-Event-ID reconnect) and `GET /api/alarms/kinds` (the published kinds with Chinese labels)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import orjson
import psycopg
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.auth import area_of, optional_principal
from api.deps import db
from api.models import GEOJSON, AlarmKinds
from api.params import instant, limit_query
from api.services import Services, Svc
from gis import catalog
from gis.errors import InvalidInput, NotFound
from gis.fences import alarms as alarm_store
from gis.fences.feed import feed
from gis.fences.kinds import published
from gis.security import scope
from gis.security.scope import Area

router = APIRouter(tags=["alarms"])
KEEPALIVE_S = 15.0


@router.get("/api/alarms/kinds", response_model=AlarmKinds, response_model_exclude_unset=True,
            summary="Alarm kinds: English ids with Chinese labels")
def alarm_kinds() -> dict[str, Any]:
    return {"kinds": published()}


@router.get("/api/alarms", responses=GEOJSON, summary="Stored alarms, filtered and paged")
def list_alarms(request: Request, vehicle_id: str | None = None, kind: str | None = None,
                since: str | None = None, until: str | None = None, fence_id: int | None = None,
                state: str | None = Query(None, description="open or closed"),
                limit: int = limit_query(100, 10000), next: int | None = Query(None, description="page cursor"),
                conn: psycopg.Connection = Depends(db), principal: Any = Depends(optional_principal)
                ) -> dict[str, Any]:
    """`since` (ISO 8601) filters on `start`. Ordered by start; the `next` link (and `links` rel=next)
    gives the following page. Each alarm: id, kind, label, vehicle_id, fence_id, start, end (null while
    open), state, max_value, details, location."""
    items = alarm_store.query(
        conn, vehicle_id=vehicle_id, kind=kind, since=instant(since, "since"),
        until=instant(until, "until"), fence_id=fence_id, state=state,
        after_id=next, limit=limit, area=area_of(request))
    params = {k: v for k, v in request.query_params.items() if k != "next"}
    base = str(request.url.replace(query=""))
    self_href = f"{base}?{urlencode(list(request.query_params.items()))}" if request.query_params else base
    next_href = f"{base}?{urlencode({**params, 'next': items[-1]['id']})}" if len(items) == limit else None
    links = [{"rel": "self", "href": self_href, "type": "application/json"}]
    if next_href:
        links.append({"rel": "next", "href": next_href, "type": "application/json"})
    features = [{"type": "Feature", "id": a["id"], "geometry": a["location"],
                 "properties": {k: v for k, v in a.items() if k != "location"}} for a in items]
    return {"type": "FeatureCollection", "alarms": items, "features": features, "numberReturned": len(items),
            "next": next_href, "links": links}


def _sse(event: dict[str, Any]) -> str:
    return f"id: {event['event_id']}\ndata: {orjson.dumps(event).decode()}\n\n"


def _vehicles_of(svc: Services, area: Area) -> frozenset[str]:
    """The ids of the vehicles whose fleets belong to `area` (the catalog's scope of vehicles)."""
    cond, params = scope.condition(catalog.get("vehicles"), area, "t")
    with svc.connection() as conn:
        return frozenset(r[0] for r in conn.execute(f"SELECT t.id FROM vehicles t WHERE {cond}", params).fetchall())


def _backlog(svc: Services, last_id: int) -> list[dict[str, Any]]:
    with svc.connection() as conn:
        return alarm_store.events_after(conn, last_id, limit=10_000)


@router.get("/api/alarms/stream", summary="Live alarms (Server-Sent Events)")
async def stream(request: Request, svc: Svc, vehicle_id: str | None = None, kind: str | None = None,
                 last_event_id: str | None = Header(None, alias="Last-Event-ID"),
                 last_event_id_q: str | None = Query(None, alias="last_event_id"),
                 principal: Any = Depends(optional_principal)) -> StreamingResponse:
    """Each event: `id:` (the feed position) and `data:` an alarm record with `op` (opened, updated,
    closed, retracted). Reconnect with the `Last-Event-ID` header (or `?last_event_id=`) to receive
    everything missed. Optional filters: vehicle_id, kind."""
    resume = last_event_id or last_event_id_q
    try:
        resume_id = int(resume) if resume not in (None, "") else None
    except ValueError as exc:
        raise InvalidInput(f"Last-Event-ID {resume!r} is not an event id") from exc
    area = await run_in_threadpool(area_of, request)
    # A scoped caller hears only its area's vehicles (those of its fleets when the stream opened).
    mine = None if area is None else await run_in_threadpool(_vehicles_of, svc, area)
    queue = feed.subscribe()

    def wanted(e: dict[str, Any]) -> bool:
        return ((vehicle_id is None or e.get("vehicle_id") == vehicle_id) and (kind is None or e.get("kind") == kind)
                and (mine is None or e.get("vehicle_id") in mine))

    async def events() -> AsyncIterator[str]:
        sent: set[int] = set()
        try:
            yield "retry: 2000\n: connected\n\n"
            if resume_id is not None:
                for e in await run_in_threadpool(_backlog, svc, resume_id):
                    sent.add(e["event_id"])
                    if wanted(e):
                        yield _sse(e)
            while True:
                try:
                    e = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        break
                    yield ": keepalive\n\n"
                    continue
                if e["event_id"] in sent or (resume_id is not None and e["event_id"] <= resume_id):
                    continue
                sent.add(e["event_id"])
                if wanted(e):
                    yield _sse(e)
        finally:
            feed.unsubscribe(queue)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/api/alarms/{alarm_id}", summary="One alarm")
def get_alarm(alarm_id: int, request: Request, conn: psycopg.Connection = Depends(db),
              principal: Any = Depends(optional_principal)) -> dict[str, Any]:
    alarm = alarm_store.get(conn, alarm_id, area_of(request))
    if alarm is None:
        raise NotFound(f"no alarm {alarm_id}")
    return alarm
