"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from api.models import Health
from api.responses import JSONResponse
from gis.db import migrate
from gis.db.breaker import Status

router = APIRouter(tags=["operations"])

#: Paths that keep answering from memory while the database is unreachable (with `X-Data-Stale`).
FROM_MEMORY = ["/api/grids/locate", "/api/geocode", "/api/geocode/batch", "/api/reverse",
               "/ogc/collections/{id}/tiles/… (tiles cached by this worker)",
               "/ogc/collections (when listed before the outage)"]

DB_UP = Gauge("citygrid_database_up", "1 while the breaker's probe reaches the database, else 0")
DB_STANDBY = Gauge("citygrid_database_is_standby", "1 when the connected server is a standby")
REPLICA_LAG_BYTES = Gauge("citygrid_replication_lag_bytes", "WAL not yet replayed by a standby", ["standby"])
REPLICA_LAG_SECONDS = Gauge("citygrid_replication_lag_seconds", "Replay lag of a standby", ["standby"])


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def replication(status: Status) -> dict[str, Any]:
    """The role of the connected server and the lag of its standbys (or its own, on a standby)."""
    if status.role == "standby":
        return {"role": "standby", "lag_seconds": status.lag_seconds, "lag_bytes": status.lag_bytes}
    return {"role": status.role, "standbys": [
        {"name": r.name, "state": r.state, "sync": r.sync_state, "lag_bytes": r.lag_bytes,
         "lag_seconds": round(r.lag_seconds, 3)} for r in status.replicas]}


@router.get("/healthz", response_model=Health, response_model_exclude_unset=True)
def healthz() -> dict[str, str]:
    """The process is alive (says nothing of the database)."""
    return {"status": "ok"}


def _unreachable(since: float | None, reason: str | None) -> JSONResponse:
    return JSONResponse({
        "ready": False, "database": "unreachable", "since": _iso(since), "reason": reason,
        "degraded": {"from_memory": FROM_MEMORY,
                     "refused": "every other path that needs the database answers 503 database_unavailable "
                                "with Retry-After; writes are refused, never half-written"},
    }, 503)


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers and its migrations are at head. While the breaker is open,
    says since when, which paths still answer from memory, and that every other one answers 503."""
    services = request.app.state.services
    breaker = services.breaker
    breaker.wait_probed(timeout=3.0)
    status = breaker.status
    if status.open:
        return _unreachable(status.since, status.error)
    try:
        with services.connection() as conn:
            current = migrate.current_revision_on(conn)
    except Exception as exc:
        # The database went away between the breaker's last probe and this query: the same answer as
        # an open breaker, so a client reads one shape whichever of the two saw it first.
        return _unreachable(breaker.status.since, f"{type(exc).__name__}: {exc}")
    head = migrate.head_revision()
    ready = current == head
    return JSONResponse(
        {"ready": ready, "database": "reachable", "migration": current, "head": head,
         "server": f"{status.host}:{status.port}", "replication": replication(status)},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    status = request.app.state.services.breaker.status
    DB_UP.set(0 if status.open else 1)
    DB_STANDBY.set(1 if status.role == "standby" else 0)
    if status.role == "standby":
        REPLICA_LAG_SECONDS.labels("self").set(status.lag_seconds or 0)
        REPLICA_LAG_BYTES.labels("self").set(status.lag_bytes or 0)
    for r in status.replicas:
        REPLICA_LAG_SECONDS.labels(r.name).set(r.lag_seconds)
        REPLICA_LAG_BYTES.labels(r.name).set(r.lag_bytes)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
