"""Who may call what: API keys in the `X-API-Key` header, resolved to a role.

`require_role("planner")` guards a write; it also records the principal on the request so that the
audit middleware can say who did it. Failed attempts are limited per client address, and each key
gets a token bucket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from gis.errors import Forbidden, InvalidInput, RateLimited, Unauthorized
from gis.security.keys import ANONYMOUS, Principal, authenticate
from gis.security.scope import Area
from gis.settings import get_settings
from gis.stream.shared import limits

HEADER = "X-API-Key"


class _Limiter:
    """Failure counter and token buckets: in this process by default; shared through Redis by every worker
    process and machine when `redis_url` is set (gis.stream.shared)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}
        self._buckets: dict[int, tuple[float, float]] = {}

    def reset(self) -> None:
        if (shared := limits()) is not None:
            shared.reset()
        with self._lock:
            self._failures.clear()
            self._buckets.clear()

    def check_locked(self, client: str) -> None:
        settings = get_settings()
        if (shared := limits()) is not None:
            if shared.locked(client):
                raise RateLimited(f"too many failed key attempts from {client}; try again later")
            return
        with self._lock:
            count, since = self._failures.get(client, (0, 0.0))
            if count >= settings.auth_max_failures and time.monotonic() - since < settings.auth_lockout_s:
                raise RateLimited(f"too many failed key attempts from {client}; try again later")

    def failed(self, client: str) -> None:
        settings = get_settings()
        if (shared := limits()) is not None:
            shared.failed(client)
            return
        with self._lock:
            count, since = self._failures.get(client, (0, time.monotonic()))
            if time.monotonic() - since >= settings.auth_lockout_s:
                count, since = 0, time.monotonic()
            self._failures[client] = (count + 1, since)

    def spend(self, key_id: int) -> None:
        rate = get_settings().rate_limit_per_key
        if (shared := limits()) is not None:
            if not shared.spend(key_id):
                raise RateLimited(f"rate limit of {rate:g} requests/s for this key exceeded")
            return
        burst = rate * 2
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1:
                raise RateLimited(f"rate limit of {rate:g} requests/s for this key exceeded")
            self._buckets[key_id] = (tokens - 1, now)


limiter = _Limiter()


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def principal_from(request: Request, *, required: bool) -> Principal:
    """The caller's principal; anonymous when no key is sent and none is required."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    secret = request.headers.get(HEADER)
    client = _client(request)
    if not secret:
        if required:
            raise Unauthorized(f"this request needs an API key in the {HEADER} header")
        return ANONYMOUS
    limiter.check_locked(client)
    with request.app.state.services.connection() as conn:
        principal = authenticate(conn, secret)
    if principal is None:
        limiter.failed(client)
        raise Unauthorized("the API key is unknown or revoked")
    limiter.spend(principal.key_id)  # type: ignore[arg-type]
    request.state.principal = principal
    if principal.area is not None:
        attach_area(request, principal, conn=None)
    return principal


def attach_area(request: Request, principal: Principal, conn=None) -> Area | None:
    """Resolves the principal's area (once per app: `services.areas`) onto `request.state.area`, where
    the readers find it without a database round trip. Whoever sets `request.state.principal` (keys
    here, sessions later) calls this; `area_of` calls it when they did not."""
    if principal.area is None:
        return None
    areas = request.app.state.services.areas
    area = areas.cached(principal.area)
    if area is None:
        try:
            if conn is not None:
                area = areas.get(conn, principal.area)
            else:
                with request.app.state.services.connection() as c:
                    area = areas.get(c, principal.area)
        except InvalidInput as exc:  # the area was deleted since: refuse, never answer unscoped
            raise Forbidden(f"the area of this principal no longer resolves: {exc.detail}") from None
    request.state.area = area
    return area


def area_of(request: Request) -> Area | None:
    """The area the caller is limited to, or None (anonymous or unscoped). Sync: may resolve the area."""
    state = request.scope.get("state")
    principal = state.get("principal") if state else None
    if principal is None or principal.area is None:
        return None
    area = state.get("area")
    if area is not None and area.code == principal.area:
        return area
    return attach_area(request, principal)


def read_scope(request: Request, layer) -> Area | None:
    """The area a read of `layer` is limited to (None: not limited), for async endpoints.

    The hot path of an anonymous or unscoped read: one dict lookup and an attribute check. A layer
    whose catalog entry says `read_requires_key=True` refuses anonymous reads here (401)."""
    state = request.scope.get("state")
    principal = state.get("principal") if state else None
    if principal is None:
        if layer.read_requires_key:
            raise Unauthorized(f"reading {layer.id} needs an API key in the {HEADER} header (or a session)")
        return None
    if principal.area is None:
        return None
    area = state.get("area")
    if area is None or area.code != principal.area:
        cached = request.app.state.services.areas.cached(principal.area)
        if cached is None:  # resolved by principal_from in practice; never a silent unscoped answer
            raise Forbidden(f"the area {principal.area!r} of this principal could not be resolved")
        area = state["area"] = cached
    return area


def require_role(role: str, *, device: bool = False) -> Callable[[Request], Principal]:
    """A dependency admitting keys of `role` or above (and `device` keys too when `device=True`)."""

    def dependency(request: Request) -> Principal:
        principal = principal_from(request, required=True)
        if principal.has_role(role) or (device and principal.role == "device"):
            return principal
        raise Forbidden(f"this request needs the role {role!r}{' or a device key' if device else ''}; "
                        f"the key has {principal.role!r}")

    return dependency


#: Paths that stay open even when reads need a key (probes and the page itself).
OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/")


def _open_collection(path: str) -> bool:
    """A read of an OGC collection whose catalog entry opens it (`read_requires_key=False`) although
    CITYGRID_READ_REQUIRES_KEY is set."""
    if not path.startswith("/ogc/collections/"):
        return False
    from gis import catalog

    layer = catalog.by_id().get(path.split("/", 4)[3])
    return layer is not None and layer.read_requires_key is False


async def optional_principal(request: Request) -> Principal:
    """App-wide: anonymous unless a key is sent or `read_requires_key` is set (then the key must be valid).

    Async, and without a database round trip for keyless reads, so that open hot paths pay nothing.
    """
    path = request.url.path
    required = get_settings().read_requires_key and path not in OPEN_PATHS and not _open_collection(path)
    if not required and not request.headers.get(HEADER):
        return ANONYMOUS
    return await run_in_threadpool(principal_from, request, required=required)
