"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter

from api.responses import JSONResponse
from gis.db import migrate

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz() -> JSONResponse:
    try:
        current = migrate.current_revision()
    except Exception as exc:
        return JSONResponse({"ready": False, "database": f"unreachable: {type(exc).__name__}"}, 503)
    head = migrate.head_revision()
    ready = current == head
    return JSONResponse(
        {"ready": ready, "database": "reachable", "migration": current, "head": head},
        status_code=200 if ready else 503,
    )
