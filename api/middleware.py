"""ASGI middleware: request ids, and an audit entry for every successful write.

Pure ASGI (not BaseHTTPMiddleware) so that streamed answers (SSE, batch geocoding) pass untouched.
Endpoints may add detail to the entry with `request.state.audit = {"target": …, "ids": [...], ...}`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis.db.pool import connection
from gis.security import audit

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
log = logging.getLogger("citygrid.audit")


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode() or uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_wrapper)
        if scope["method"] in WRITES and 200 <= status < 300 and state.get("principal") is not None:
            await run_in_threadpool(_audit, scope, state, status)


def _audit(scope: Scope, state: dict[str, Any], status: int) -> None:
    principal = state["principal"]
    extra = state.get("audit") or {}
    client = scope.get("client")
    try:
        with connection() as conn:
            audit.record(
                conn,
                actor=f"{principal.name}#{principal.key_id}",
                action=extra.get("action") or f"{scope['method']} {scope['path']}",
                target=extra.get("target") or scope["path"],
                ids=extra.get("ids"),
                remote=client[0] if client else None,
                detail={"status": status, "request_id": state.get("request_id"), **(extra.get("detail") or {})},
            )
    except Exception:  # the write succeeded; a lost audit entry is logged loudly, never silent
        log.exception("audit entry could not be written for %s %s", scope["method"], scope["path"])
