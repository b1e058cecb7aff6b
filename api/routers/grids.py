"""Grid endpoints: locate (one point or up to 100,000, streamed), responsibility check, census,
evaluation-grid sampling and build, and the versioned grid layers for mobile sync (ETag, since=N)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import orjson
import psycopg
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.auth import area_of, require_role
from api.deps import db, db_or_memory
from api.models import GEOJSON, Census, Draws, GridLocation
from api.params import Crs, RequiredWindow, limit_query
from api.services import Svc
from gis.errors import InvalidInput, TooLarge
from gis.grids import census as census_engine
from gis.grids import evaluation, responsibility, sampling, sync
from gis.grids import locate as locate_engine
from gis.security.keys import Principal
from gis.settings import get_settings
from layers.cache import get_or_compute

router = APIRouter(tags=["grids"])

CHUNK = 20_000
#: Answers that depend on who asks (area scope) vary with the credential headers.
VARY = "Accept-Encoding, X-API-Key, Authorization, Cookie"


@router.get("/api/grids/locate", response_model=GridLocation, response_model_exclude_unset=True)
def locate_one(
    svc: Svc,
    request: Request,
    lon: float = Query(..., description="x: longitude (or easting in a projected CRS)"),
    lat: float = Query(..., description="y: latitude (or northing)"),
    crs: Crs = None,
    conn: psycopg.Connection | None = Depends(db_or_memory),
) -> dict[str, Any]:
    """`{outside, district, street, community, unit_grid, eval_grid, work_grids[]}`, each with code and name.
    While the database is unreachable, answered from the last index with an `X-Data-Stale` header. A
    caller limited to an area is answered `outside: true` for a point outside it."""
    return locate_engine.locate_point(conn, lon, lat, crs, svc.grids, area_of(request))


def _coords(items: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    if not items:
        return np.empty(0), np.empty(0)
    if isinstance(items[0], list | tuple):
        try:
            arr = np.asarray(items, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is not None and arr.ndim == 2 and arr.shape[1] >= 2:
            return arr[:, 0], arr[:, 1]
    xs = np.empty(len(items))
    ys = np.empty(len(items))
    for i, p in enumerate(items):
        try:
            if isinstance(p, dict):
                x, y = p.get("lon", p.get("x")), p.get("lat", p.get("y"))
            else:
                x, y = p[0], p[1]
            if isinstance(x, bool) or isinstance(y, bool):
                raise TypeError
            xs[i], ys[i] = float(x), float(y)
        except (TypeError, ValueError, IndexError, KeyError):
            raise InvalidInput(f"point {i} is not [lon, lat] or {{\"lon\": …, \"lat\": …}}: {str(p)[:80]}",
                               extra={"index": i}) from None
    return xs, ys


def parse_points(body: bytes, ndjson: bool) -> tuple[np.ndarray, np.ndarray, str | None, bool]:
    """(x, y, crs given in the body, whether the input was NDJSON)."""
    text = body.strip()
    if not text:
        raise InvalidInput("the body is empty: send a JSON array of points or NDJSON lines")
    crs = None
    if not ndjson:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            ndjson = b"\n" in text
            if not ndjson:
                raise InvalidInput("the body is neither a JSON array of points nor NDJSON") from None
        else:
            if isinstance(data, dict) and "points" in data:
                crs, data = data.get("crs"), data["points"]
            elif isinstance(data, dict):
                data = [data]
                ndjson = True
            if not isinstance(data, list):
                raise InvalidInput("points must be a JSON array")
    if ndjson:
        lines = [ln for ln in text.split(b"\n") if ln.strip()]
        try:
            data = orjson.loads(b"[" + b",".join(lines) + b"]")
        except orjson.JSONDecodeError:
            for i, ln in enumerate(lines):
                try:
                    orjson.loads(ln)
                except orjson.JSONDecodeError as exc:
                    raise InvalidInput(f"NDJSON line {i + 1} is not JSON: {exc}", extra={"index": i}) from None
            raise InvalidInput("the NDJSON body could not be read") from None
    limit = get_settings().max_bulk_points
    if len(data) > limit:
        raise TooLarge(f"{len(data)} points sent; at most {limit} per request")
    xs, ys = _coords(data)
    return xs, ys, crs, ndjson


@router.post(
    "/api/grids/locate",
    openapi_extra={"requestBody": {"content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    }}},
)
async def locate_many(
    request: Request,
    svc: Svc,
    crs: str | None = Query(None, description="CRS of every point (or `crs` in a {crs, points} body)"),
) -> StreamingResponse:
    """Up to 100,000 points as a JSON array (`[[lon, lat], …]` or `[{"lon":…, "lat":…}, …]`, or
    `{"crs": …, "points": […]}`) or NDJSON; the answers come back streamed in input order, as a JSON
    array or NDJSON like the input, each shaped as the GET answer."""
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    ndjson_in = "ndjson" in ctype or "jsonl" in ctype or "json-seq" in ctype

    def work() -> tuple[locate_engine.Located, bool]:
        xs, ys, body_crs, ndjson = parse_points(body, ndjson_in)
        area = area_of(request)
        with svc.connection_or_none() as conn:
            return locate_engine.locate_in_area(conn, xs, ys, crs or body_crs, svc.grids, area), ndjson

    located, ndjson = await run_in_threadpool(work)
    return StreamingResponse(located.encode(ndjson, CHUNK),
                             media_type="application/x-ndjson" if ndjson else "application/json")


@router.get("/api/grids/responsibility")
def responsibility_check(
    request: Request, lon: float, lat: float, crs: Crs = None,
    person: str | None = Query(None, description="The assignee of the responsibility grid"),
    team: str | None = Query(None, description="Or the team"),
    purpose: Literal["report", "position"] = Query("report", description="report → 跨网格提醒, position → 脱岗提醒"),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """Inside the person's (or team's) responsibility grid or not, distance in metres, and the alert. A
    caller limited to an area is judged against the person's grids inside it."""
    return responsibility.check_responsibility(conn, lon, lat, crs, person=person, team=team, purpose=purpose,
                                               area=area_of(request))


@router.get("/api/grids/on-post", summary="跨网格/脱岗: everyone with a grid, on post, off post or absent")
def on_post(
    window: RequiredWindow,
    request: Request,
    kind: list[str] = Query(["responsibility"], description="grid kinds to count (repeatable)"),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """Each vehicle or device whose operator (or group) holds grids of the kinds, over `from`–`to` (a shift):
    `absent` without a fix, `off_post` with fixes outside the grids (how many, share, farthest), else
    `on_post`."""
    return responsibility.on_post(conn, window.start, window.stop, tuple(kind), area=area_of(request))


@router.get("/api/grids/census", response_model=Census, response_model_exclude_unset=True)
def census(
    request: Request,
    svc: Svc,
    level: Literal["district", "street", "community"] = "district",
    code: str | None = Query(None, description="Only areas within this region code"),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """普查成果 per area of the level (for a caller limited to an area: the areas inside it). Cached against
    the change counters of the tables it reads: it aggregates every component (~0.4 s on the demo district),
    and the page's 普查成果 panel asks it again for every level and density map."""
    area = area_of(request)
    key = ("census", level, code, area.code if area else None)
    areas = get_or_compute(svc.layers, conn, census_engine.TABLES, key,
                           lambda: census_engine.census(conn, level, code, area))
    return {"level": level, "areas": areas}


class SampleRequest(BaseModel):
    city_class: int = Field(..., description="1, 2 or 3")
    seed: int = Field(..., description="Any 64-bit integer; the same seed on the same data draws the same grids")


@router.post("/api/eval-grids/sample")
def sample(
    req: SampleRequest = Body(...),
    principal: Principal = Depends(require_role("inspector")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """Draws 8/6/5 evaluation grids by city class with their A/B/C type; the draw is recorded for audit."""
    return sampling.draw_sample(conn, req.city_class, req.seed, principal.name)


@router.get("/api/eval-grids/draws", response_model=Draws, response_model_exclude_unset=True)
def draws(
    request: Request,
    limit: int = limit_query(50, 1000),
    principal: Principal = Depends(require_role("inspector")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """The recorded draws, newest first: who, when, seed, result (for a caller limited to an area: the
    draws with grids inside it, with those grids only)."""
    return {"draws": sampling.list_draws(conn, limit, area_of(request))}


class BuildRequest(BaseModel):
    streets: list[str] | None = Field(None, description="9-digit street codes; all streets when omitted")


@router.post("/api/eval-grids/build")
def build_eval(
    req: BuildRequest = Body(default_factory=BuildRequest),
    principal: Principal = Depends(require_role("planner")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """(Re)builds evaluation grids from whole unit grids for the streets."""
    return {"eval_grids": evaluation.build_eval_grids(conn, req.streets)}


@router.get("/api/grids/{layer}", responses=GEOJSON)
def grid_layer(
    layer: Literal["unit", "eval", "work", "admin"],
    request: Request,
    since: int | None = Query(None, ge=0, description="Only what changed after this version"),
    conn: psycopg.Connection = Depends(db),
) -> Response:
    """A grid layer as GeoJSON with its version, or with `since=N` only the changes after version N.
    Answers carry an ETag; a matching If-None-Match gets 304. A caller limited to an area gets the grids
    inside it, under an ETag naming the area (never matched by the whole layer's, nor it by the area's)."""
    area = area_of(request)
    current = sync.etag(layer, sync.layer_version(conn, layer), area)
    headers = {"Cache-Control": "no-cache" if area is None else "private, no-cache", "Vary": VARY}
    if current in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={"ETag": current, **headers})
    if since is None:
        version, body = sync.snapshot(conn, layer, area)
    else:
        version, body = sync.changes_since(conn, layer, since, area)
    return Response(body, media_type="application/geo+json" if since is None else "application/json",
                    headers={"ETag": sync.etag(layer, version, area), **headers})
