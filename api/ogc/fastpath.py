"""A direct dispatch for the three OGC hot paths (single item, items page, MVT tile).

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
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.ogc import features, tiles
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


def _route_objects() -> dict[Handler, APIRoute]:
    """The FastAPI routes of these endpoints: put in the scope so metrics label them as usual."""
    found: dict[Handler, APIRoute] = {}
    for router in (features.router, tiles.router):
        for route in router.routes:
            if isinstance(route, APIRoute) and "GET" in route.methods:
                found.setdefault(route.endpoint, route)
    return found


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
