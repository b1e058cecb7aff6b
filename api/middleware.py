"""ASGI middleware: request ids, JSON access logs, metrics, body-size limits, and an audit entry for
every successful write.

Pure ASGI (not BaseHTTPMiddleware) so that streamed answers (SSE, batch geocoding) pass untouched.
Endpoints may add detail to the audit entry with `request.state.audit = {"target": …, "ids": [...]}`.
"""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import clientaddr
from api.metrics import APP_CALLS
from api.responses import dumps
from gis import logs
from gis.db import degraded
from gis.logs import request_id as request_id_var
from gis.security import audit
from gis.settings import get_settings

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
#: POSTs that only read (bulk queries too large for a URL): not audited as writes.
READ_POSTS = frozenset({"/api/grids/locate", "/api/geocode/batch"})
log = logging.getLogger("citygrid.http")
audit_log = logging.getLogger("citygrid.audit")

REQUEST_SECONDS = Histogram(
    "citygrid_request_seconds", "HTTP request latency by route", ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
)
REQUEST_BYTES_REFUSED = Counter("citygrid_request_too_large_total", "Requests refused for their size")


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class _TooLarge(Exception):
    pass


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode()[:64] or os.urandom(16).hex()
        token = request_id_var.set(rid)
        stale, stale_token = degraded.begin()
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = rid
        limit = get_settings().max_body_bytes
        started = time.perf_counter()
        status = 0
        response_started = False

        declared = headers.get(b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, rid, limit)
            request_id_var.reset(token)
            degraded.end(stale_token)
            return

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        is_write = scope["method"] in WRITES and scope["path"] not in READ_POSTS

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                if (note := stale.header()) is not None:  # answered from memory: the database was down
                    message["headers"].append((b"x-data-stale", note.encode()))
                # Counted before the client hears the answer, so a count never lags the calls seen.
                if (app_name := getattr(state.get("principal"), "app", None)) is not None:
                    _count_app(scope, app_name, _route_template(scope))
                # Audit before the client hears of success: a 2xx implies the entry exists.
                if is_write and 200 <= status < 300 and state.get("principal") is not None:
                    await _audit(scope, state, status)
            await send(message)

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except _TooLarge:
            if not response_started:
                await self._refuse(send, rid, limit)
            status = 413
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)
            if _access_logged(status, elapsed):
                logs.access(log, method=scope["method"], path=scope["path"], status=status,
                            duration_ms=round(elapsed * 1000, 2), client=(scope.get("client") or ("",))[0])
            request_id_var.reset(token)
            degraded.end(stale_token)

    @staticmethod
    async def _refuse(send: Send, rid: str, limit: int) -> None:
        REQUEST_BYTES_REFUSED.inc()
        body = dumps({"error": "too_large", "detail": f"request body over the limit of {limit} bytes"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"x-request-id", rid.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _access_logged(status: int, elapsed: float) -> bool:
    """Whether this request gets an access-log line: errors and slow requests always; fast successful
    ones at the `access_log_sample` rate (a JSON line costs ~15 % of a one-feature answer's CPU)."""
    if not log.isEnabledFor(logging.INFO):
        return False
    settings = get_settings()
    if status >= 400 or status == 0 or elapsed * 1000 >= settings.access_log_slow_ms:
        return True
    sample = settings.access_log_sample
    return sample >= 1.0 or (sample > 0.0 and random.random() < sample)


def _count_app(scope: Scope, app_name: str, route: str) -> None:
    """Per-application counts (数据交换 监控): the Prometheus counter and the daily table's batcher."""
    APP_CALLS.labels(app_name, route).inc()
    usage = getattr(scope["app"].state.services, "usage", None)
    if usage is not None:
        usage.count(app_name, route)


async def _audit(scope: Scope, state: dict[str, Any], status: int) -> None:
    """Stores the write's audit entry (the app's group-commit writer) before the response starts."""
    principal = state["principal"]
    extra = state.get("audit") or {}
    entry = audit.Entry(
        actor=principal.actor,
        action=extra.get("action") or f"{scope['method']} {scope['path']}",
        target=extra.get("target") or scope["path"],
        ids=tuple(str(i) for i in extra.get("ids") or ()),
        remote=clientaddr.from_scope(scope),
        detail={"status": status, "request_id": state.get("request_id"), **(extra.get("detail") or {})},
    )
    try:
        await scope["app"].state.services.audit.append(entry)
    except Exception:  # the write succeeded; a lost audit entry is logged loudly, never silent
        audit_log.exception("audit entry could not be written for %s %s", scope["method"], scope["path"])


def accepts_gzip(value: bytes | None) -> bool:
    """Whether an Accept-Encoding header admits gzip (`gzip;q=0` refuses it; `*` admits it)."""
    if not value:
        return False
    weights: dict[str, float] = {}
    for part in value.decode("latin-1").lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, number = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(number)
                except ValueError:
                    q = 0.0
        weights[name.strip()] = q
    return weights.get("gzip", weights.get("*", 0.0)) > 0


class Compression:
    """Gzip for answers of 4 KiB and more (pages of features shrink ~10×), for clients that accept it.

    Starlette's GZipMiddleware does the compressing (it leaves alone answers that carry an encoding
    already, such as gzipped tiles and the page's files, and images and the alarm stream); this wrapper
    decides per request with a real reading of Accept-Encoding, where `gzip;q=0` means no."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=4096, compresslevel=5)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers") or ():
                if name == b"accept-encoding":
                    if accepts_gzip(value):
                        await self.gzip(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)
