"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.models import Health
from api.responses import JSONResponse
from gis.db import migrate

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, response_model_exclude_unset=True)
def healthz() -> dict[str, str]:
    """The process is alive (says nothing of the database)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers and its migrations are at head."""
    try:
        with request.app.state.services.connection() as conn:
            current = migrate.current_revision_on(conn)
    except Exception as exc:
        return JSONResponse({"ready": False, "database": f"unreachable: {type(exc).__name__}"}, 503)
    head = migrate.head_revision()
    ready = current == head
    return JSONResponse(
        {"ready": ready, "database": "reachable", "migration": current, "head": head},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
