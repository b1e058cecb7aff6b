"""沿街商铺: upload of shop lists (placed by address, with progress), collection and evaluation records,
a shop's state and integrity colour, and per-area figures of a street (issue 16)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.auth import area_of, client_of, require_role
from api.deps import db
from api.jobs import Job
from api.params import Crs
from api.services import Services, Svc
from geocoder.place import address_placer
from gis import catalog
from gis.errors import CityGridError, ImportRejected, InvalidInput, NotFound, TooLarge
from gis.io.load import import_file
from gis.io.readers import FORMATS
from gis.security import audit, scope
from gis.security.keys import Principal
from gis.shops import figures, reasons, records

router = APIRouter(tags=["shops"])

MAX_UPLOAD = 64 * 1024 * 1024
#: The placed shops a finished job lists with their positions (the upload page draws them); more are counted.
MAX_PLACED_LISTED = 5000

PLACED_SQL = """
SELECT s.code, s.name, s.address, s.match_level, s.confidence, w.name, ST_X(s.geom), ST_Y(s.geom)
FROM shops s LEFT JOIN work_grids w ON w.id = s.area_id
WHERE s.id > %(after)s ORDER BY s.id LIMIT %(limit)s
"""
PLACED_KEYS = ("code", "name", "address", "match_level", "confidence", "area_name", "lon", "lat")


def _placed(conn: psycopg.Connection, after: int) -> list[dict[str, Any]]:
    """The shops stored after id `after` (this upload's: ids only grow, a replace deletes and inserts)."""
    rows = conn.execute(PLACED_SQL, {"after": after, "limit": MAX_PLACED_LISTED}).fetchall()
    return [dict(zip(PLACED_KEYS, r, strict=True)) for r in rows]


def _run_import(svc: Services, job: Job, path: Path, crs: str | None, mode: str, keep_good: bool,
                min_confidence: float, remote: str | None) -> dict[str, Any]:
    def progress(phase: str, done: int, total: int) -> None:
        job.phase, job.done, job.total = phase, done, total

    try:
        with svc.connection() as conn:
            before = conn.execute("SELECT coalesce(max(id), 0) FROM shops").fetchone()[0]
            report = import_file(conn, "shops", path, crs=crs, mode=mode, keep_good=keep_good,
                                 min_confidence=min_confidence, progress=progress,
                                 placers={"address": address_placer(conn, svc.addresses.get(conn))})
            audit.record(conn, job.actor, "import", "shops", remote=remote,
                         detail={"job": job.id, "mode": mode, "inserted": report.inserted,
                                 "rejected": len(report.rejected)})
            placed = _placed(conn, before) if report.inserted else []
        out = report.to_dict()
        out["path"] = path.name
        out["rejected"] = reasons.annotate(out["rejected"])
        out["rejected_by_kind"] = reasons.counts(out["rejected"])
        out["placed"] = placed
        return out
    finally:
        path.unlink(missing_ok=True)


def _job_error(job: Job, exc: Exception) -> tuple[str, dict[str, Any]]:
    if isinstance(exc, ImportRejected):
        rows = reasons.annotate(exc.rows)
        return "rejected", {**exc.extra, "error": exc.code, "detail": exc.detail, "rejected": rows,
                            "rejected_by_kind": reasons.counts(rows)}
    if isinstance(exc, CityGridError):
        return "failed", {**exc.extra, "error": exc.code, "detail": exc.detail}
    return "failed", {"error": "internal", "detail": f"{type(exc).__name__}: {exc}"}


@router.post("/api/shops/import", status_code=202)
async def upload_shops(
    request: Request, svc: Svc, crs: Crs = None,
    filename: str = Query(..., description="The file's name (its suffix gives the format: .csv, .xlsx, .geojson, "
                                           ".gpkg)"),
    mode: str = Query("append", pattern="^(append|replace)$"),
    keep_good: bool = Query(False, description="Store the good rows and list the rejected ones"),
    min_confidence: float = Query(0.6, ge=0, le=1, description="Rows placed by address less sure than this are "
                                                             "rejected"),
    wait: bool = Query(False, description="Answer when done (200 report or 422 rejected rows) instead of a job"),
    principal: Principal = Depends(require_role("planner")),
) -> Any:
    """Body: the file itself. Rows with only an address are placed by the geocoder; each row's match level
    and confidence are stored. Answers 202 with a job (`GET /api/shops/import/{job}` shows phase, done,
    total and at the end the report or the rejected rows with their reasons); all-or-nothing unless
    `keep_good`."""
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS or suffix in (".shp",):
        raise InvalidInput(f"filename {filename!r}: use a .csv, .xlsx, .geojson or .gpkg file",
                           code="unknown_format")
    body = await request.body()
    if len(body) > MAX_UPLOAD:
        raise TooLarge("file larger than 64 MiB")
    if not body:
        raise InvalidInput("the request body is empty: send the file as the body", code="empty_file")
    with tempfile.NamedTemporaryFile(suffix=suffix, prefix="shops-", delete=False) as f:
        f.write(body)
        path = Path(f.name)
    remote = client_of(request)
    job = svc.imports.start(
        "shops", principal.name,
        lambda j: _run_import(svc, j, path, crs, mode, keep_good, min_confidence, remote), _job_error)
    request.state.audit = {"target": "shops", "ids": [job.id]}
    if wait:
        while job.finished is None:
            await _sleep()
        if job.state == "rejected":
            return JSONResponse(job.to_dict(), status_code=422)
        if job.state == "failed":
            return JSONResponse(job.to_dict(), status_code=400)
        return JSONResponse(job.to_dict(), status_code=200)
    return {**job.to_dict(), "status_url": f"/api/shops/import/{job.id}"}


async def _sleep() -> None:
    import anyio

    await anyio.sleep(0.05)


@router.get("/api/shops/import/{job_id}")
def import_job(job_id: str, svc: Svc, principal: Principal = Depends(require_role("planner"))) -> dict[str, Any]:
    """An upload's progress (phase place/store, done, total) and, once finished, its report: the rejected
    rows each with `kind` (unmatched, ambiguous, uncertain, no_address, invalid), `kind_name` and
    `reasons_zh` (Chinese), `rejected_by_kind`, and `placed` (the stored shops with lon/lat, first 5,000)."""
    job = svc.imports.get(job_id)
    if job is None:
        raise NotFound(f"no import job {job_id!r} (finished jobs are kept for an hour)")
    return job.to_dict()


@router.post("/api/shops/collections")
def post_collections(
    items: list[dict[str, Any]] = Body(..., embed=True),
    principal: Principal = Depends(require_role("inspector")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """收运记录: `{items: [{shop (code or id), ts, waste_kind, weight_kg, collector?, vehicle_id?}]}`; the whole
    batch or nothing."""
    return {"stored": records.add_collections(conn, items)}


@router.post("/api/shops/evaluations")
def post_evaluations(
    items: list[dict[str, Any]] = Body(..., embed=True),
    principal: Principal = Depends(require_role("inspector")),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """评价记录: `{items: [{shop, ts, result (pass/warn/fail or 合格/基本合格/不合格), inspector?, note?}]}`."""
    return {"stored": records.add_evaluations(conn, items)}


@router.get("/api/shops/areas")
def area_figures(
    request: Request,
    street: str | None = Query(None, description="9-digit street code (all areas when omitted)"),
    day: date | None = Query(None, description="YYYY-MM-DD, the district's day (default today)"),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """Per 市容环境卫生责任区: shops, collected on the day, not collected, collected kg, red/yellow/green."""
    return figures.area_figures(conn, street, day, area_of(request))


@router.get("/api/shops/{shop}")
def shop_state(shop: str, request: Request, conn: psycopg.Connection = Depends(db)) -> dict[str, Any]:
    """A shop (code or id) with its latest collection and evaluation and its integrity colour now (a shop
    outside a scoped caller's area: 404)."""
    out = records.shop_state(conn, shop)
    if not scope.keep(conn, catalog.get("shops"), area_of(request), [out["id"]]):
        raise NotFound(f"no shop {shop!r}")
    return out


