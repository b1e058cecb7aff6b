"""A direct dispatch for the three OGC hot paths (single item, items page, MVT tile) and for the
Part 4 writes (create, replace, update, delete one feature).

Why: on a one-item request the database answers in well under a millisecond, and FastAPI's routing
through a dozen included routers plus its dependency solving cost about as much CPU again. This
ASGI middleware sits inside RequestContext (request ids, metrics and access log still apply) and,
for a plain anonymous GET of one of these paths, calls the very same endpoint function that the
FastAPI route would call, with a Starlette `Request`: the answers are identical by construction.

Anything unusual goes the normal way: another method, a `root_path`, a credential (API key, bearer token,
login session cookie; or reads that need one), an HTML request (`f=html` or a browser's Accept header).
An endpoint that raises (bad parameter, unknown collection, missing feature, database trouble) is simply
re-run through the normal stack, whose exception handlers shape the error answer; reads have no side
effects, so the second run only costs time on the error path.

Writes cannot be re-run. A write sent with an API key or a bearer token (cookie sessions, with their
CSRF token, go the normal way) runs the app-wide dependency (`optional_principal`, as FastAPI would,
first) and then the endpoint; an exception is answered here by the app's own exception handler for
it (the one Starlette's ExceptionMiddleware would pick, by the exception's class hierarchy), and one
without a handler propagates as it would from the router (a 500 from ServerErrorMiddleware). The
route is put in the scope before the endpoint runs, so metrics label errors too; the audit entry is
written by RequestContext as for any write.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import optional_principal
from api.ogc import features, tiles, transactions
from gis.settings import get_settings

Handler = Callable[..., Awaitable[Response]]

#: (pattern over scope["path"], endpoint, names of its path parameters)
_ROUTES: list[tuple[re.Pattern[str], Handler, tuple[str, ...]]] = [
    (re.compile(r"/ogc/collections/([^/]+)/items/([^/]+)"), features.item, ("collection_id", "feature_id")),
    (re.compile(r"/ogc/collections/([^/]+)/items"), features.items, ("collection_id",)),
    (re.compile(r"/ogc/collections/([^/]+)/tiles/([^/]+)/(\d{1,2})/(\d{1,9})/(\d{1,9})"), tiles.tile,
     ("collection_id", "tms_id", "z", "y", "x")),
]
_INT_PARAMS = frozenset({"z", "y", "x"})

_ITEMS = re.compile(r"/ogc/collections/([^/]+)/items")
_ITEM = re.compile(r"/ogc/collections/([^/]+)/items/([^/]+)")
#: method -> (pattern, endpoint, names of its path parameters) of the Part 4 writes
_WRITES: dict[str, tuple[re.Pattern[str], Handler, tuple[str, ...]]] = {
    "POST": (_ITEMS, transactions.create, ("collection_id",)),
    "PUT": (_ITEM, transactions.replace, ("collection_id", "feature_id")),
    "PATCH": (_ITEM, transactions.update, ("collection_id", "feature_id")),
    "DELETE": (_ITEM, transactions.delete, ("collection_id", "feature_id")),
}


def _route_objects() -> dict[Handler, APIRoute]:
    """The FastAPI routes of these endpoints: put in the scope so metrics label them as usual."""
    found: dict[Handler, APIRoute] = {}
    for router in (features.router, tiles.router):
        for route in router.routes:
            if isinstance(route, APIRoute) and "GET" in route.methods:
                found.setdefault(route.endpoint, route)
    for route in transactions.router.routes:
        if isinstance(route, APIRoute):
            found.setdefault(route.endpoint, route)
    return found


def _handler(app: object, exc: Exception) -> Callable | None:
    """The app's exception handler for `exc` (nearest class first, as Starlette's ExceptionMiddleware;
    a handler of `Exception` itself belongs to ServerErrorMiddleware, outside, and is left to it)."""
    handlers = getattr(app, "exception_handlers", {})
    for cls in type(exc).__mro__:
        if cls is not Exception and cls in handlers:
            return handlers[cls]
    return None


def _match(path: str) -> tuple[Handler, tuple[str, ...], re.Match[str]] | None:
    for pattern, endpoint, names in _ROUTES:
        match = pattern.fullmatch(path)
        if match is not None:
            return endpoint, names, match
    return None


class OgcFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes = _route_objects()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _WRITES:
            await self._write(scope, receive, send)
            return
        if (scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path")
                or get_settings().read_requires_key or not scope["path"].startswith("/ogc/collections/")
                or b"html" in scope.get("query_string", b"")):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers") or ():
            if (name in (b"x-api-key", b"authorization") or (name == b"accept" and b"html" in value)
                    or (name == b"cookie" and b"citygrid_session=" in value)):
                await self.app(scope, receive, send)
                return
        found = _match(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        endpoint, names, match = found
        params = {n: int(v) if n in _INT_PARAMS else v for n, v in zip(names, match.groups(), strict=True)}
        try:
            response = await endpoint(Request(scope, receive), **params)
        except Exception:
            # The normal stack re-runs it and its exception handlers shape the answer.
            await self.app(scope, receive, send)
            return
        route = self.routes.get(endpoint)
        if route is not None:
            scope["route"] = route
            scope["endpoint"] = endpoint
        scope["path_params"] = {n: str(v) for n, v in params.items()}
        await response(scope, receive, send)

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A Part 4 write with a key or bearer token, answered here; anything else the normal way."""
        pattern, endpoint, names = _WRITES[scope["method"]]
        match = None
        if not scope.get("root_path") and scope["path"].startswith("/ogc/collections/"):
            match = pattern.fullmatch(scope["path"])
        if match is None or not any(name in (b"x-api-key", b"authorization") for name, _ in scope.get("headers") or ()):
            await self.app(scope, receive, send)
            return
        params = dict(zip(names, match.groups(), strict=True))
        route = self.routes.get(endpoint)
        if route is not None:
            scope["route"] = route
            scope["endpoint"] = endpoint
        scope["path_params"] = params
        request = Request(scope, receive)
        try:
            await optional_principal(request)  # the app-wide dependency (api/app.py), first as in FastAPI
            response = await endpoint(request, **params)
        except Exception as exc:
            handler = _handler(scope.get("app"), exc)
            if handler is None:
                raise
            if inspect.iscoroutinefunction(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)
