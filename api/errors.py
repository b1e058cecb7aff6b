"""The one place where engine errors become HTTP answers: `{"error": code, "detail": text}`."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import JSONResponse
from gis import errors as e
from gis.db.breaker import get_breaker
from gis.settings import get_settings

STATUS: list[tuple[type[e.CityGridError], int]] = [
    (e.TooLarge, 413),
    (e.UnsupportedMediaType, 415),
    (e.PreconditionFailed, 412),
    (e.MethodNotAllowed, 405),
    (e.ImportRejected, 422),
    (e.InvalidCode, 422),
    (e.Unsupported, 422),
    (e.InvalidInput, 400),
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.Unauthorized, 401),
    (e.Forbidden, 403),
    (e.RateLimited, 429),
    (e.DatabaseUnavailable, 503),
]


def status_for(exc: e.CityGridError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None,
                   extra: dict[str, object] | None = None) -> JSONResponse:
    """The one error shape; `extra` adds fields (e.g. rejected rows) but never replaces error/detail."""
    body = {**(extra or {}), "error": code, "detail": detail}
    return JSONResponse(body, status_code=status, headers=headers)


log = logging.getLogger("citygrid.errors")


def install(app: FastAPI) -> None:
    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        # The database is restarting or unreachable: a clean, retryable answer rather than a 500; the
        # breaker's prober looks at once, so the following requests are refused without waiting.
        log.warning("database unavailable: %s", exc)
        get_breaker().record_failure(exc)
        return error_response(503, "database_unavailable", "the database is not reachable; retry shortly",
                              headers={"Retry-After": str(get_settings().db_retry_after_s)})

    @app.exception_handler(e.CityGridError)
    async def _engine_error(request: Request, exc: e.CityGridError) -> JSONResponse:
        if isinstance(exc, e.DatabaseUnavailable):
            extra = dict(exc.extra)
            retry = extra.pop("retry_after", get_settings().db_retry_after_s)
            return error_response(503, exc.code, exc.detail, headers={"Retry-After": str(retry)}, extra=extra)
        return error_response(status_for(exc), exc.code, exc.detail, extra=exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg')}")
        return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))
