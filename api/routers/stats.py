"""Statistics linked to the map (数图联动, issue 19): `GET /api/stats/cases` and `GET /api/stats/alarms`
(counts by group and period with 同比/环比 and shares; `limit` gives the top groups: 高发问题, 多发区域,
多发路段), and the scenes of the web map under `/api/scenes` (planner writes, everyone reads)."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Body, Depends, Query, Request, Response

from api.auth import area_of, optional_principal, require_role
from api.deps import db
from api.params import Window
from api.services import Svc
from gis import scenes
from layers import stats

router = APIRouter(tags=["stats"], dependencies=[Depends(optional_principal)])

GROUP_HELP = "group by (repeat or comma-separate): "
PERIOD_HELP = "day | week | month | quarter | year (district local calendar); none: one total per group"
COMPARE_HELP = "yoy (同比: a year before) | mom (环比: the period before); needs from and to"
LIMIT_HELP = "only the top N rows by count (高发问题 / 多发区域)"


@router.get("/api/stats/cases", summary="Case counts by source, category, area, status and period (同比/环比)")
def case_stats(
    request: Request,
    svc: Svc,
    window: Window,
    conn: psycopg.Connection = Depends(db),
    group: list[str] = Query([], description=GROUP_HELP + " | ".join(stats.CASE_GROUPS)),
    period: str | None = Query(None, description=PERIOD_HELP),
    compare: str | None = Query(None, description=COMPARE_HELP),
    source: list[str] = Query([], description="only these sources (supervisor, hotline, camera, app …)"),
    status: list[str] = Query([], description="only these statuses (open, processing, closed)"),
    category: str | None = Query(None, description="大类 `01` or 大类+小类 `0101`, comma-separated"),
    area: str | None = Query(None, description="only cases in this street, community or unit grid (code)"),
    limit: int | None = Query(None, ge=1, le=10000, description=LIMIT_HELP),
) -> Response:
    """`rows` of the group values, `period` (local start date), `count`, `share` and, with `compare`,
    `previous` and `change` ((count − previous) / previous). Without `limit` the counts add up to
    `total`, the number of cases reported in [from, to) that pass the filters; `labels` gives the
    Chinese names of the values present."""
    return Response(stats.case_stats(conn, groups=group, period=period, start=window.start, stop=window.stop,
                                     compare=compare, source=source, status=status, category=category, area=area,
                                     limit=limit, answers=svc.layers, encoded=True, scope_area=area_of(request)),
                    media_type="application/json")


@router.get("/api/stats/alarms", summary="Alarm counts by kind, vehicle, road, state and period (同比/环比)")
def alarm_stats(
    request: Request,
    svc: Svc,
    window: Window,
    conn: psycopg.Connection = Depends(db),
    group: list[str] = Query([], description=GROUP_HELP + " | ".join(stats.ALARM_GROUPS)),
    period: str | None = Query(None, description=PERIOD_HELP),
    compare: str | None = Query(None, description=COMPARE_HELP),
    kind: list[str] = Query([], description="only these alarm kinds"),
    vehicle_id: str | None = Query(None),
    state: str | None = Query(None, description="open | closed"),
    limit: int | None = Query(None, ge=1, le=10000, description=LIMIT_HELP),
) -> Response:
    """As `/api/stats/cases`, over alarms by their start time; `road` is the nearest street within ~50 m."""
    return Response(stats.alarm_stats(conn, groups=group, period=period, start=window.start, stop=window.stop,
                                      compare=compare, kind=kind, vehicle=vehicle_id, state=state, limit=limit,
                                      answers=svc.layers, encoded=True, scope_area=area_of(request)),
                    media_type="application/json")


SCENE_EXAMPLE = {
    "slug": "sanitation", "name": "环卫作业", "department": "环卫",
    "spec": {"layers": ["waste_facilities", "vehicles"], "basemap": "light",
             "view": {"center": [121.45, 31.38], "zoom": 13}},
}


@router.get("/api/scenes", tags=["scenes"], summary="The scenes (一图N景)")
def list_scenes(conn: psycopg.Connection = Depends(db)) -> dict[str, Any]:
    return {"scenes": scenes.list_all(conn)}


@router.get("/api/scenes/{slug}", tags=["scenes"], summary="One scene")
def get_scene(slug: str, conn: psycopg.Connection = Depends(db)) -> dict[str, Any]:
    return scenes.get(conn, slug)


@router.post("/api/scenes", status_code=201, tags=["scenes"], summary="Create a scene (planner key)")
def create_scene(body: Any = Body(..., examples=[SCENE_EXAMPLE]), conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    """`spec`: `layers` (layer ids), `filters`, `basemap` (light, dark, tianditu_vec, tianditu_img),
    `view` {center: [lon, lat], zoom}, `figures`, `panels`, `bigscreen`."""
    return scenes.create(conn, body, principal.name)


@router.put("/api/scenes/{slug}", tags=["scenes"], summary="Change a scene (planner key)")
def update_scene(slug: str, body: Any = Body(...), conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    return scenes.update(conn, slug, body)


@router.delete("/api/scenes/{slug}", status_code=204, tags=["scenes"], summary="Delete a scene (planner key)")
def delete_scene(slug: str, conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> Response:
    scenes.delete(conn, slug)
    return Response(status_code=204)
